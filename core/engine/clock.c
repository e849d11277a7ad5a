/* The monotonic clock the engine's waits share, and sleeping by it. */
#include <errno.h>
#include <sys/epoll.h>
#include <time.h>

#include "clock.h"
#include "interrupt.h"

double nsl_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static struct timespec to_timespec(double t)
{
	struct timespec ts;

	ts.tv_sec = (time_t)t;
	ts.tv_nsec = (long)((t - (double)ts.tv_sec) * 1e9);
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	return ts;
}

/* An absolute deadline, so signals that interrupt the sleep do not stretch
 * it; only nslab's interruption (interrupt.h) ends it early, and one that
 * is pending already (a pcall caught it) ends it before it starts. */
int nsl_sleep(double seconds)
{
	struct timespec until = to_timespec(nsl_now() + seconds);

	if (nsl_interrupted())
		return -EINTR;
	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &until, NULL) == EINTR)
		if (nsl_interrupted())
			return -EINTR;
	return 0;
}

/* Milliseconds to the deadline for poll(), rounded up; -1 for none. */
int nsl_ms_until(double deadline)
{
	double left;

	if (deadline < 0)
		return -1;
	left = deadline - nsl_now();
	if (left <= 0)
		return 0;
	if (left > 86400.0 * 2)
		left = 86400.0 * 2;
	return (int)(left * 1000.0) + 1;
}

int nsl_epoll_wait(int epfd, struct epoll_event *ev, int max, double secs)
{
	struct timespec ts;
	int n;

	if (secs < 0)
		secs = 0;
	ts.tv_sec = (time_t)secs;
	ts.tv_nsec = (long)((secs - (double)ts.tv_sec) * 1e9);
	n = epoll_pwait2(epfd, ev, max, &ts, NULL);
	if (n < 0 && errno == ENOSYS)	/* kernels before 5.11: ms resolution */
		n = epoll_wait(epfd, ev, max, (int)(secs * 1000 + 0.999));
	/* A signal nslab turns into a Lua error ends the run now; others do not. */
	if (n < 0 && errno == EINTR)
		return nsl_interrupted() ? -EINTR : 0;
	return n < 0 ? -errno : n;
}
