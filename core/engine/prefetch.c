/* Namespaces made ahead on a thread of their own (see prefetch.h). */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>
#include <linux/netlink.h>

#include "prefetch.h"

static struct {
	pthread_mutex_t mu;
	pthread_cond_t cv;	/* a namespace came, one was taken, or stop */
	pthread_t thread;
	int running;		/* a thread was started and not yet joined */
	int done;		/* it made all it was asked for, or failed */
	int stop;
	unsigned long want;	/* how many it has still to make */
	int nsfd[NSL_PREFETCH_AHEAD], nlfd[NSL_PREFETCH_AHEAD];
	unsigned head, count;	/* the waiting ones, a ring */
} P = { .mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER };

/* One new namespace, its fd and a socket inside; the thread goes back home. */
static int make_one(int home, int *nsfd, int *nlfd)
{
	int err = 0;

	if (unshare(CLONE_NEWNET) < 0)
		return -errno;
	*nsfd = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	*nlfd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (*nsfd < 0 || *nlfd < 0)
		err = -errno;
	/* Never stay in a namespace that is not home: the thread ends instead. */
	if (setns(home, CLONE_NEWNET) < 0)
		err = -errno;
	if (err) {
		if (*nsfd >= 0)
			close(*nsfd);
		if (*nlfd >= 0)
			close(*nlfd);
	}
	return err;
}

static void *maker(void *arg)
{
	int home = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);

	(void)arg;
	pthread_mutex_lock(&P.mu);
	while (home >= 0 && !P.stop && P.want > 0) {
		int nsfd = -1, nlfd = -1, err;
		unsigned at;

		if (P.count == NSL_PREFETCH_AHEAD) {
			pthread_cond_wait(&P.cv, &P.mu);
			continue;
		}
		pthread_mutex_unlock(&P.mu);
		err = make_one(home, &nsfd, &nlfd);
		pthread_mutex_lock(&P.mu);
		if (err)
			break;
		at = (P.head + P.count) % NSL_PREFETCH_AHEAD;
		P.nsfd[at] = nsfd;
		P.nlfd[at] = nlfd;
		P.count++;
		P.want--;
		pthread_cond_broadcast(&P.cv);
	}
	P.done = 1;
	pthread_cond_broadcast(&P.cv);
	pthread_mutex_unlock(&P.mu);
	if (home >= 0)
		close(home);
	return NULL;
}

void nsl_prefetch_stop(void)
{
	if (!P.running)
		return;
	pthread_mutex_lock(&P.mu);
	P.stop = 1;
	pthread_cond_broadcast(&P.cv);
	pthread_mutex_unlock(&P.mu);
	pthread_join(P.thread, NULL);
	for (; P.count > 0; P.count--, P.head = (P.head + 1) % NSL_PREFETCH_AHEAD) {
		close(P.nsfd[P.head]);
		close(P.nlfd[P.head]);
	}
	P.running = P.done = P.stop = 0;
	P.head = 0;
	P.want = 0;
}

int nsl_prefetch_start(unsigned long n)
{
	sigset_t all, old;
	int err;

	nsl_prefetch_stop();
	if (n == 0)
		return 0;
	P.want = n;
	/* The thread inherits the mask: every signal stays with the caller. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	err = pthread_create(&P.thread, NULL, maker, NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (err) {
		P.want = 0;
		return -err;
	}
	P.running = 1;
	return 0;
}

int nsl_prefetch_take(int *nsfd, int *nlfd)
{
	int err = -EAGAIN;

	if (!P.running)
		return -EAGAIN;
	pthread_mutex_lock(&P.mu);
	while (P.count == 0 && !P.done)
		pthread_cond_wait(&P.cv, &P.mu);
	if (P.count > 0) {
		*nsfd = P.nsfd[P.head];
		*nlfd = P.nlfd[P.head];
		P.head = (P.head + 1) % NSL_PREFETCH_AHEAD;
		P.count--;
		pthread_cond_broadcast(&P.cv);
		err = 0;
	}
	pthread_mutex_unlock(&P.mu);
	return err;
}
