/* Handles of started children (wait, read, signal, close) and the processes
 * of a namespace (pids, kill-all), with the clock they share. */
#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "interrupt.h"
#include "namespace.h"
#include "process.h"

#define CHUNK 65536
#define NO_PIDFD_MS 10	/* how often to look for an exit without a pidfd */

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
 * it; only nslab's interruption (interrupt.h) ends it early. */
int nsl_sleep(double seconds)
{
	struct timespec until = to_timespec(nsl_now() + seconds);

	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &until, NULL) == EINTR)
		if (nsl_interrupt_signal)
			return -EINTR;
	return 0;
}

/* Milliseconds to the deadline for poll(), rounded up; -1 for none. */
static int ms_until(double deadline)
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

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

void nsl_proc_init(struct nsl_proc *p)
{
	memset(p, 0, sizeof *p);
	p->c.pid = -1;
	p->c.pidfd = -1;
	for (int i = 0; i < 3; i++)
		p->c.fd[i] = -1;
}

int nsl_proc_start(struct nsl_proc *p, const struct nsl_ns *ns,
		   const struct nsl_cmd *cmd, struct nsl_fail *fail)
{
	int err;

	nsl_proc_init(p);
	p->started = nsl_now();
	if ((err = nsl_child_start(ns, cmd, &p->c, fail)) < 0)
		return err;
	p->open = 1;
	p->group = cmd->new_group;
	return 0;
}

/* Reaps the child if it has exited. */
static int reap(struct nsl_proc *p)
{
	int st;
	pid_t r;

	if (p->reaped)
		return 0;
	do
		r = waitpid(p->c.pid, &st, WNOHANG);
	while (r < 0 && errno == EINTR);
	if (r == 0)
		return 0;
	p->reaped = 1;
	p->elapsed = nsl_now() - p->started;
	close_fd(&p->c.pidfd);
	close_fd(&p->c.fd[0]);	/* nobody is left to read its stdin */
	if (r < 0)
		return -errno;	/* ECHILD: someone else reaped it (SIGCHLD ignored) */
	p->wstatus = st;
	return 0;
}

/*
 * A pipe write without SIGPIPE: the signal is blocked around the write and,
 * if the write raised it, taken back, so an early-exiting child cannot kill us.
 */
static ssize_t write_nosigpipe(int fd, const void *buf, size_t n)
{
	sigset_t pipe_set, old, pending;
	struct timespec zero = { 0, 0 };
	int was_pending, e;
	ssize_t w;

	sigemptyset(&pipe_set);
	sigaddset(&pipe_set, SIGPIPE);
	sigpending(&pending);
	was_pending = sigismember(&pending, SIGPIPE);
	sigprocmask(SIG_BLOCK, &pipe_set, &old);
	w = write(fd, buf, n);
	e = errno;
	if (w < 0 && e == EPIPE && !was_pending)
		while (sigtimedwait(&pipe_set, NULL, &zero) < 0 && errno == EINTR)
			;
	sigprocmask(SIG_SETMASK, &old, NULL);
	errno = e;
	return w;
}

static int feed(struct nsl_proc *p)
{
	while (p->c.fd[0] >= 0 && p->in_off < p->in_len) {
		size_t n = p->in_len - p->in_off;
		ssize_t w = write_nosigpipe(p->c.fd[0], p->in + p->in_off, n > CHUNK ? CHUNK : n);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				return 0;
			close_fd(&p->c.fd[0]);	/* EPIPE: it stopped reading */
			return 0;
		}
		p->in_off += (size_t)w;
	}
	close_fd(&p->c.fd[0]);	/* all fed: the child sees end of file */
	return 0;
}

/* Reads what stream i holds now. Returns 1 if more may follow at once. */
static int collect(struct nsl_proc *p, int i)
{
	struct nsl_buf *b = i == 1 ? &p->out : &p->err;
	ssize_t n;

	if (b->cap - b->len < CHUNK + 1) {
		size_t cap = b->cap ? b->cap * 2 : CHUNK * 2;
		char *d;

		while (cap - b->len < CHUNK + 1)
			cap *= 2;
		if (!(d = realloc(b->data, cap)))
			return -ENOMEM;
		b->data = d;
		b->cap = cap;
	}
	do
		n = read(p->c.fd[i], b->data + b->len, CHUNK);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return errno == EAGAIN ? 0 : -errno;
	if (n == 0) {
		close_fd(&p->c.fd[i]);	/* every writer closed it */
		return 0;
	}
	b->len += (size_t)n;
	b->data[b->len] = '\0';
	return 1;
}

int nsl_proc_drain(struct nsl_proc *p)
{
	int r;

	for (int i = 1; i < 3; i++)
		while (p->c.fd[i] >= 0)
			if ((r = collect(p, i)) <= 0) {
				if (r < 0)
					return r;
				break;
			}
	return 0;
}

/* One round of poll over the pidfd and the pipes. */
static int pump(struct nsl_proc *p, int ms)
{
	struct pollfd pfd[4];
	int which[4], n = 0, r;

	if (p->c.fd[0] >= 0 && p->in_off >= p->in_len)
		close_fd(&p->c.fd[0]);
	if (!p->reaped && p->c.pidfd >= 0) {
		pfd[n] = (struct pollfd){ .fd = p->c.pidfd, .events = POLLIN };
		which[n++] = -1;
	} else if (!p->reaped && (ms < 0 || ms > NO_PIDFD_MS)) {
		ms = NO_PIDFD_MS;	/* no pidfd (Linux < 5.3, valgrind): look again soon */
	}
	for (int i = 0; i < 3; i++)
		if (p->c.fd[i] >= 0) {
			pfd[n] = (struct pollfd){ .fd = p->c.fd[i], .events = i ? POLLIN : POLLOUT };
			which[n++] = i;
		}
	if (n == 0 && ms < 0)
		return 0;
	r = poll(pfd, (nfds_t)n, ms);
	if (r < 0 && errno == EINTR)
		return nsl_interrupt_signal ? -EINTR : 0;
	if (r < 0)
		return -errno;
	if (!p->reaped && p->c.pidfd < 0 && (r = reap(p)) < 0)
		return r;
	for (int k = 0; k < n; k++) {
		if (!pfd[k].revents)
			continue;
		if (which[k] < 0)
			r = reap(p);
		else if (which[k] == 0)
			r = feed(p);
		else
			r = collect(p, which[k]);
		if (r < 0)
			return r;
	}
	return 0;
}

/*
 * Once the child is gone, what it wrote is already in the pipes: take it and
 * stop at the first empty read, not at end of file, since a grandchild left
 * running in the background may hold the pipe open for ever.
 */
int nsl_proc_wait(struct nsl_proc *p, double timeout)
{
	double deadline = timeout < 0 ? -1 : nsl_now() + timeout;
	int err;

	if (!p->open)
		return -EBADF;
	while (!p->reaped) {
		int ms = ms_until(deadline);

		if ((err = pump(p, ms)) < 0)
			return err;
		if (!p->reaped && ms == 0)
			return 0;
	}
	if ((err = nsl_proc_drain(p)) < 0)
		return err;
	return 1;
}

int nsl_proc_running(struct nsl_proc *p)
{
	int err;

	if (!p->open)
		return -EBADF;
	if ((err = reap(p)) < 0)
		return err;
	return !p->reaped;
}

int nsl_proc_signal(struct nsl_proc *p, int sig, int group)
{
	int err = 0;

	if (!p->open)
		return -EBADF;
	if (p->reaped)
		return -ESRCH;
	/* The unreaped leader keeps its pid, so -pid still names its group. */
	if (group && p->group && kill(-p->c.pid, sig) < 0 && errno != ESRCH)
		err = -errno;
	if (p->c.pidfd >= 0 ? syscall(SYS_pidfd_send_signal, p->c.pidfd, sig, NULL, 0) < 0
	    : kill(p->c.pid, sig) < 0)
		if (errno != ESRCH)
			err = -errno;
	return err;
}

static void terminate(struct nsl_proc *p)
{
	struct pollfd pfd;
	double deadline = nsl_now() + NSL_PROC_GRACE;

	reap(p);
	if (p->reaped)
		return;
	nsl_proc_signal(p, SIGTERM, 1);
	pfd.fd = p->c.pidfd;
	pfd.events = POLLIN;
	while (!p->reaped) {
		int ms = ms_until(deadline), r;

		if (pfd.fd < 0 && ms > NO_PIDFD_MS)
			ms = NO_PIDFD_MS;
		r = poll(&pfd, 1, ms);
		if (r < 0 && errno != EINTR)
			break;
		reap(p);
		if (ms == 0)
			break;
	}
	if (p->reaped)
		return;
	nsl_proc_signal(p, SIGKILL, 1);
	while (waitpid(p->c.pid, &p->wstatus, 0) < 0 && errno == EINTR)
		;
	p->reaped = 1;
}

void nsl_proc_close(struct nsl_proc *p)
{
	if (!p->open)
		return;
	terminate(p);
	close_fd(&p->c.pidfd);
	for (int i = 0; i < 3; i++)
		close_fd(&p->c.fd[i]);
	free(p->out.data);
	free(p->err.data);
	p->out = p->err = (struct nsl_buf){ NULL, 0, 0 };
	p->open = 0;
}

void nsl_proc_take(struct nsl_proc *p, int stream, char **data, size_t *len)
{
	struct nsl_buf *b = stream == 1 ? &p->out : &p->err;

	*data = b->data;
	*len = b->len;
	*b = (struct nsl_buf){ NULL, 0, 0 };
}

/* A set of namespaces as their (device, inode), sorted: one /proc scan
 * serves any number of namespaces (a lab's teardown asks about hundreds at
 * once, and a scan per namespace stats every process of the machine again). */
struct nsset {
	struct stat *v;
	size_t n;
};

static int cmp_stat(const void *a, const void *b)
{
	const struct stat *x = a, *y = b;

	if (x->st_dev != y->st_dev)
		return x->st_dev < y->st_dev ? -1 : 1;
	return (x->st_ino > y->st_ino) - (x->st_ino < y->st_ino);
}

static int nsset_make(struct nsset *s, const struct nsl_ns *const *nss, size_t n)
{
	if (!(s->v = calloc(n ? n : 1, sizeof *s->v)))
		return -ENOMEM;
	s->n = n;
	for (size_t i = 0; i < n; i++) {
		if (fstat(nss[i]->fd, &s->v[i]) < 0) {
			int err = -errno;

			free(s->v);
			s->v = NULL;
			return err;
		}
	}
	qsort(s->v, n, sizeof *s->v, cmp_stat);
	return 0;
}

static int in_set(pid_t pid, const struct nsset *s)
{
	char path[64];
	struct stat st;

	snprintf(path, sizeof path, "/proc/%ld/ns/net", (long)pid);
	return stat(path, &st) == 0 && bsearch(&st, s->v, s->n, sizeof *s->v, cmp_stat) != NULL;
}

static int scan(const struct nsset *s, int (*fn)(pid_t pid, void *arg), void *arg)
{
	struct dirent *e;
	DIR *dir;
	int ret = 0;

	if (!(dir = opendir("/proc")))
		return -errno;
	while ((e = readdir(dir)) != NULL) {
		char *end;
		long pid = strtol(e->d_name, &end, 10);

		if (*end || pid <= 0 || !in_set((pid_t)pid, s))
			continue;
		if ((ret = fn((pid_t)pid, arg)) != 0)
			break;
	}
	closedir(dir);
	return ret;
}

int nsl_nss_pids(const struct nsl_ns *const *nss, size_t n,
		 int (*fn)(pid_t pid, void *arg), void *arg)
{
	struct nsset s;
	int ret;

	if ((ret = nsset_make(&s, nss, n)) < 0)
		return ret;
	ret = scan(&s, fn, arg);
	free(s.v);
	return ret;
}

int nsl_ns_pids(const struct nsl_ns *ns, int (*fn)(pid_t pid, void *arg), void *arg)
{
	return nsl_nss_pids(&ns, 1, fn, arg);
}

/* The round of kill_all: the processes signalled (a pidfd each, or -1 where
 * the kernel has none), and every pid signalled so far, each counted once. */
struct target {
	pid_t pid;
	int fd;
};

struct round {
	pid_t self;
	int sig;
	struct target *t;
	size_t nt, tcap;
	pid_t *seen;
	size_t nseen, seencap;
	const struct nsset *set;
	int err;
};

static int push(void **arr, size_t *cap, size_t n, size_t size)
{
	void *a;

	if (n < *cap)
		return 0;
	if (!(a = realloc(*arr, (*cap ? *cap * 2 : 64) * size)))
		return -ENOMEM;
	*arr = a;
	*cap = *cap ? *cap * 2 : 64;
	return 0;
}

/* A pidfd first, then the namespace checked again through /proc: if the pid
 * was reused meanwhile, the pidfd names a process still in the namespace,
 * or one already dead that no signal reaches. */
static int signal_one(pid_t pid, void *arg)
{
	struct round *r = arg;
	int fd, known = 0;
	long sent;

	if (pid == r->self)
		return 0;
	fd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (fd < 0 && errno != ENOSYS)
		return 0;	/* gone already */
	if (!in_set(pid, r->set))
		sent = -1;
	else if (fd >= 0)
		sent = syscall(SYS_pidfd_send_signal, fd, r->sig, NULL, 0);
	else
		sent = kill(pid, r->sig);
	if (sent < 0 || (r->err = push((void **)&r->t, &r->tcap, r->nt, sizeof *r->t)) < 0) {
		if (fd >= 0)
			close(fd);
		return r->err < 0;
	}
	r->t[r->nt++] = (struct target){ pid, fd };
	for (size_t i = 0; i < r->nseen; i++)
		known |= r->seen[i] == pid;
	if (!known) {
		if ((r->err = push((void **)&r->seen, &r->seencap, r->nseen, sizeof *r->seen)) < 0)
			return 1;
		r->seen[r->nseen++] = pid;
	}
	return 0;
}

/* Waits until every process of the round exited: its pidfd turned readable,
 * or, without one, it left the namespace (gone, or a zombie). */
static int wait_round(struct round *r, double deadline)
{
	struct pollfd *pfd = calloc(r->nt ? r->nt : 1, sizeof *pfd);
	size_t left = r->nt;
	int nofd = 0;

	if (!pfd)
		return -ENOMEM;
	for (size_t i = 0; i < r->nt; i++) {
		pfd[i] = (struct pollfd){ .fd = r->t[i].fd, .events = POLLIN };
		nofd |= r->t[i].fd < 0;
	}
	while (left > 0) {
		int ms = ms_until(deadline), n;

		if (nofd && (ms < 0 || ms > NO_PIDFD_MS))
			ms = NO_PIDFD_MS;
		n = poll(pfd, (nfds_t)r->nt, ms);
		if (n < 0 && errno != EINTR)
			break;
		for (size_t i = 0; i < r->nt; i++) {
			if (r->t[i].pid == 0)
				continue;
			if (r->t[i].fd >= 0 ? pfd[i].revents != 0 : !in_set(r->t[i].pid, r->set)) {
				pfd[i].fd = -1;	/* poll skips it from now on */
				r->t[i].pid = 0;
				left--;
			}
		}
		if (ms_until(deadline) == 0)
			break;
	}
	free(pfd);
	return left == 0 ? 0 : -ETIMEDOUT;
}

int nsl_nss_kill_all(const struct nsl_ns *const *nss, size_t n, int sig, double timeout)
{
	double deadline = nsl_now() + timeout;
	struct nsset set;
	struct round r;
	int err;

	if ((err = nsset_make(&set, nss, n)) < 0)
		return err;
	memset(&r, 0, sizeof r);
	r.self = getpid();
	r.sig = sig;
	r.set = &set;
	for (;;) {
		r.nt = 0;
		err = scan(&set, signal_one, &r);
		if (err >= 0 && r.err < 0)
			err = r.err;
		if (err >= 0 && r.nt == 0)
			break;	/* nobody left */
		if (err >= 0 && nsl_now() >= deadline)
			err = -ETIMEDOUT;
		if (err >= 0)
			err = wait_round(&r, deadline);
		for (size_t i = 0; i < r.nt; i++)
			if (r.t[i].fd >= 0)
				close(r.t[i].fd);
		if (err < 0)
			break;
	}
	free(r.t);
	free(r.seen);
	free(set.v);
	return err < 0 ? err : (int)r.nseen;
}

int nsl_ns_kill_all(const struct nsl_ns *ns, int sig, double timeout)
{
	return nsl_nss_kill_all(&ns, 1, sig, timeout);
}
