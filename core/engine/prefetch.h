/*
 * Network namespaces made ahead, on a thread of their own.
 *
 * Why: making a namespace (unshare: the kernel's setup_net) is about two
 * thirds of a big lab's first step, a millisecond or more each, and most of
 * it runs outside the RTNL lock. A second thread can make the next
 * namespaces while the caller marks, names and configures the ones before.
 *
 * The thread only makes anonymous namespaces: unshare(CLONE_NEWNET) (setns
 * is per thread, so only its own namespace changes), an fd of the new one
 * and a NETLINK_ROUTE socket inside it, then back to where it was. Nothing
 * it makes has a name: a namespace nobody takes ends with its fd, also when
 * the process is killed. It blocks every signal (they stay the caller's),
 * allocates nothing, and keeps at most NSL_PREFETCH_AHEAD namespaces (two
 * fds each) waiting. If anything fails there, it stops and takers fall back
 * to making their own, which reports the kernel's error where it belongs.
 *
 * Single caller: start, take and stop come from one thread (the one running
 * Lua).
 */
#ifndef NSLAB_PREFETCH_H
#define NSLAB_PREFETCH_H

#define NSL_PREFETCH_AHEAD 16

/* Starts making up to n namespaces (after stopping what was running);
 * n = 0 only stops. Returns 0 or -errno (no thread: takers make their own). */
int nsl_prefetch_start(unsigned long n);

/* The next namespace made ahead, waiting for it if the thread is still
 * making it: its fd and its netlink socket (both O_CLOEXEC, now the
 * caller's). -EAGAIN when none will come. */
int nsl_prefetch_take(int *nsfd, int *nlfd);

/* Stops the thread and closes what nobody took. */
void nsl_prefetch_stop(void);

#endif
