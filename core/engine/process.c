/* Handles of started children: wait, read, signal, close; and running one
 * to the end on a handle. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "clock.h"
#include "fdlimit.h"
#include "interrupt.h"
#include "namespace.h"
#include "process.h"

#define CHUNK 65536

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
	nsl_fd_close(&p->c.pidfd);
	nsl_fd_close(&p->c.fd[0]);	/* nobody is left to read its stdin */
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
			nsl_fd_close(&p->c.fd[0]);	/* EPIPE: it stopped reading */
			return 0;
		}
		p->in_off += (size_t)w;
	}
	nsl_fd_close(&p->c.fd[0]);	/* all fed: the child sees end of file */
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
		nsl_fd_close(&p->c.fd[i]);	/* every writer closed it */
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
		nsl_fd_close(&p->c.fd[0]);
	if (!p->reaped && p->c.pidfd >= 0) {
		pfd[n] = (struct pollfd){ .fd = p->c.pidfd, .events = POLLIN };
		which[n++] = -1;
	} else if (!p->reaped && (ms < 0 || ms > NSL_NO_PIDFD_MS)) {
		ms = NSL_NO_PIDFD_MS;	/* no pidfd (Linux < 5.3, valgrind): look again soon */
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
		return nsl_interrupted() ? -EINTR : 0;
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
		int ms = nsl_ms_until(deadline);

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
		int ms = nsl_ms_until(deadline), r;

		if (pfd.fd < 0 && ms > NSL_NO_PIDFD_MS)
			ms = NSL_NO_PIDFD_MS;
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
	nsl_fd_close(&p->c.pidfd);
	for (int i = 0; i < 3; i++)
		nsl_fd_close(&p->c.fd[i]);
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

void nsl_exec_result_free(struct nsl_exec_result *r)
{
	free(r->out);
	free(r->err);
	r->out = r->err = NULL;
}

int nsl_exec(const struct nsl_ns *ns, const struct nsl_cmd *cmd,
	     const char *in, size_t in_len, double timeout,
	     struct nsl_exec_result *r, struct nsl_fail *fail)
{
	struct nsl_proc p;
	int err, timed_out = 0;

	memset(r, 0, sizeof *r);
	nsl_proc_init(&p);
	if ((err = nsl_proc_start(&p, ns, cmd, fail)) < 0)
		return err;
	p.in = in;
	p.in_len = in_len;
	err = nsl_proc_wait(&p, timeout > 0 ? timeout : -1);
	if (err == 0) {
		timed_out = 1;
		nsl_proc_signal(&p, SIGKILL, cmd->new_group);
		err = nsl_proc_wait(&p, -1);
	}
	if (err < 0) {
		fail->step = "wait";
		nsl_proc_close(&p);
		return err;
	}
	r->pid = p.c.pid;
	r->elapsed = p.elapsed;
	if (WIFSIGNALED(p.wstatus)) {
		r->status = NSL_SIGNALED;
		r->signal = WTERMSIG(p.wstatus);
	} else {
		r->status = NSL_EXITED;
		r->code = WEXITSTATUS(p.wstatus);
	}
	if (timed_out)
		r->status = NSL_TIMEOUT;
	nsl_proc_take(&p, 1, &r->out, &r->out_len);
	nsl_proc_take(&p, 2, &r->err, &r->err_len);
	nsl_proc_close(&p);
	return 0;
}
