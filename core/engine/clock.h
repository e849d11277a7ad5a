/* The monotonic clock (CLOCK_MONOTONIC) every wait of the engine uses. */
#ifndef NSLAB_CLOCK_H
#define NSLAB_CLOCK_H

double nsl_now(void);		/* seconds */
/* Sleeps the whole time despite signals; -EINTR if nslab was interrupted. */
int nsl_sleep(double seconds);
/* Milliseconds to an absolute deadline for poll(), rounded up; -1 for none. */
int nsl_ms_until(double deadline);

/* How often to look for a child's exit where there is no pidfd (Linux before
 * 5.3, valgrind), in milliseconds. */
#define NSL_NO_PIDFD_MS 10

#endif
