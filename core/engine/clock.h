/* The monotonic clock (CLOCK_MONOTONIC) every wait of the engine uses. */
#ifndef NSLAB_CLOCK_H
#define NSLAB_CLOCK_H

double nsl_now(void);		/* seconds */
/* Sleeps the whole time despite signals; -EINTR if nslab was interrupted. */
int nsl_sleep(double seconds);
/* epoll_pwait2 for secs (ns resolution; ms before Linux 5.11): the number
 * of events, 0 at the time or for a signal nslab does not act on, -EINTR
 * for one it does (the run ends so the Lua error is raised), or -errno. */
struct epoll_event;
int nsl_epoll_wait(int epfd, struct epoll_event *ev, int max, double secs);

/* Milliseconds to an absolute deadline for poll(), rounded up; -1 for none. */
int nsl_ms_until(double deadline);

/* How often to look for a child's exit where there is no pidfd (Linux before
 * 5.3, valgrind), in milliseconds. */
#define NSL_NO_PIDFD_MS 10

#endif
