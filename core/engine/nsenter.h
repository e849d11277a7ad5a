/*
 * Entering a network namespace and coming back home: the one place that
 * switches the calling thread's namespace (below namespace handles, which
 * enter to create, and netlink sockets, which enter to open one).
 *
 * nsl_enter() moves the calling thread into the namespace of fd; nsl_leave()
 * moves it back home (the namespace the process started in), aborting if it
 * cannot, since every later operation would otherwise silently act in the
 * wrong namespace. Enter/leave pairs never nest and never span a call back
 * into Lua.
 */
#ifndef NSLAB_NSENTER_H
#define NSLAB_NSENTER_H

int nsl_enter(int nsfd);	/* 0 or -errno */
void nsl_leave(void);

/* The home namespace's fd (opened once, O_CLOEXEC), or -1 with errno set. */
int nsl_home_fd(void);

#endif
