/*
 * A lab holds one fd per namespace handle (a handle keeps its namespace
 * alive, which teardown relies on) plus a bounded pool of netlink sockets, so
 * a lab of a thousand namespaces needs more than the usual soft limit of 1024
 * open files. nslab raises its soft RLIMIT_NOFILE to the hard limit at start
 * (as systemd advises programs that need many fds to do), and every child it
 * starts gets the original soft limit back before exec, since programs using
 * select() break with fds above 1023.
 */
#ifndef NSLAB_FDLIMIT_H
#define NSLAB_FDLIMIT_H

void nsl_fdlimit_raise(void);
/* In a child before exec: the soft limit the process started with. */
void nsl_fdlimit_restore(void);

/* Closes *fd if open and sets it to -1 (so a second call does nothing). */
void nsl_fd_close(int *fd);

#include <stddef.h>

/* How many sockets one wave of an engine run (pings, port probes) may open:
 * what the soft limit leaves free, less a few for the epoll fd and the home
 * namespace's fd (opened lazily). At least 1. */
size_t nsl_fd_budget(void);

#endif
