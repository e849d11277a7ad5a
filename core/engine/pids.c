/* The processes living in namespaces, whoever started them: listing them
 * (as `ip netns pids`) and killing them all, for one namespace or many with
 * one /proc scan per round. */
#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "clock.h"
#include "namespace.h"
#include "pids.h"

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
		int ms = nsl_ms_until(deadline), n;

		if (nofd && (ms < 0 || ms > NSL_NO_PIDFD_MS))
			ms = NSL_NO_PIDFD_MS;
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
		if (nsl_ms_until(deadline) == 0)
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
