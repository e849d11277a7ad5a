/* Starting a command in a namespace as `ip netns exec` does (iproute2's
 * lib/namespace.c netns_switch and ip/ipnetns.c). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "exec.h"
#include "fdlimit.h"
#include "namespace.h"

#define NSL_ETC_NETNS "/etc/netns"

/* The steps of the child's set-up, reported through the error pipe. */
enum step { ST_PDEATHSIG, ST_PGRP, ST_STDIO, ST_SETNS, ST_UNSHARE, ST_SLAVE,
	    ST_SYS, ST_CHDIR, ST_EXEC };

static const char *const step_names[] = {
	"set parent death signal", "make a process group", "set up stdio",
	"enter namespace", "unshare mount namespace", "make / a slave mount",
	"mount /sys", "chdir", "exec",
};

struct report {
	int step;
	int err;
};

__attribute__((noreturn))
static void report_and_exit(int errfd, int step, int err)
{
	struct report r = { step, err };
	ssize_t n;

	do
		n = write(errfd, &r, sizeof r);
	while (n < 0 && errno == EINTR);
	_exit(127);
}

/*
 * A fresh sysfs, mounted from inside the namespace, is what makes
 * /sys/class/net list this namespace's links. Read-only stays read-only.
 */
static int remount_sys(const char *source)
{
	unsigned long flags = 0;
	struct statvfs st;

	if (statvfs("/sys", &st) == 0 && (st.f_flag & ST_RDONLY))
		flags = MS_RDONLY;
	if (umount2("/sys", MNT_DETACH) < 0) {
		/* Perhaps no sysfs was mounted there: fine, look again. */
		if (statvfs("/sys", &st) == 0 && (st.f_flag & ST_RDONLY))
			flags = MS_RDONLY;
	}
	return mount(source, "/sys", "sysfs", flags, NULL);
}

static void warn_child(const char *what, const char *a, const char *b, int err)
{
	char msg[PATH_MAX * 2 + 128];
	int n = snprintf(msg, sizeof msg, "nslab: %s %s -> %s failed: %s\n",
			 what, a, b, strerror(err));

	if (n > 0 && write(2, msg, (size_t)n < sizeof msg ? (size_t)n : sizeof msg - 1) < 0)
		return;
}

/*
 * Each file of /etc/netns/NAME/ bound over /etc/<file>, as ip netns exec does;
 * like it, a file that cannot be bound is a warning, not a failure. getdents64
 * rather than opendir: no malloc between fork and exec.
 */
static void bind_etc(const char *name)
{
	char dir[PATH_MAX], src[PATH_MAX], dst[PATH_MAX];
	char buf[4096] __attribute__((aligned(8)));
	ssize_t n;
	int fd;

	if ((size_t)snprintf(dir, sizeof dir, "%s/%s", NSL_ETC_NETNS, name) >= sizeof dir)
		return;
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return;
	while ((n = getdents64(fd, buf, sizeof buf)) > 0) {
		for (ssize_t off = 0; off < n;) {
			struct dirent64 *d = (struct dirent64 *)(void *)(buf + off);

			off += d->d_reclen;
			if (strcmp(d->d_name, ".") == 0 || strcmp(d->d_name, "..") == 0)
				continue;
			if ((size_t)snprintf(src, sizeof src, "%s/%s", dir, d->d_name) >= sizeof src ||
			    (size_t)snprintf(dst, sizeof dst, "/etc/%s", d->d_name) >= sizeof dst)
				continue;
			if (mount(src, dst, "none", MS_BIND, NULL) < 0)
				warn_child("bind", src, dst, errno);
		}
	}
	close(fd);
}

/* Marks every fd above 2 close-on-exec: the error pipe stays usable until
 * the exec itself, and the program starts with 0, 1 and 2 only. */
static void cloexec_from_3(void)
{
	struct rlimit rl;

	if (syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC) == 0)
		return;
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur == RLIM_INFINITY)
		rl.rlim_cur = 65536;
	for (int fd = 3; fd < (int)rl.rlim_cur; fd++)
		fcntl(fd, F_SETFD, FD_CLOEXEC);
}

/*
 * The child, between fork and exec. The parent blocked every signal before
 * forking, so no handler of the parent (nslab's SIGINT hook) runs here: the
 * dispositions go back to default first, then the mask is emptied.
 */
__attribute__((noreturn))
static void child(const struct nsl_ns *ns, const struct nsl_cmd *cmd, char **envp,
		  const int io_fd[3], int errfd, pid_t parent)
{
	struct sigaction sa;
	sigset_t none;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = SIG_DFL;
	for (int sig = 1; sig < NSIG; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			sigaction(sig, &sa, NULL);	/* EINVAL for glibc's own: fine */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0)
		report_and_exit(errfd, ST_PDEATHSIG, errno);
	if (getppid() != parent)	/* the parent died before prctl */
		_exit(127);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	if (cmd->new_group && setpgid(0, 0) < 0)
		report_and_exit(errfd, ST_PGRP, errno);

	/* io_fd[] are all above 2 (see move_high), so no dup2 clobbers another. */
	for (int i = 0; i < 3; i++)
		if (io_fd[i] >= 0 && dup2(io_fd[i], i) < 0)
			report_and_exit(errfd, ST_STDIO, errno);

	if (setns(ns->fd, CLONE_NEWNET) < 0)
		report_and_exit(errfd, ST_SETNS, errno);
	if (unshare(CLONE_NEWNS) < 0)
		report_and_exit(errfd, ST_UNSHARE, errno);
	/* Nothing mounted from here on propagates back to us. */
	if (mount("", "/", "none", MS_SLAVE | MS_REC, NULL) < 0)
		report_and_exit(errfd, ST_SLAVE, errno);
	if (remount_sys(ns->name[0] ? ns->name : "sysfs") < 0)
		report_and_exit(errfd, ST_SYS, errno);
	if (ns->name[0])
		bind_etc(ns->name);
	if (cmd->cwd && chdir(cmd->cwd) < 0)
		report_and_exit(errfd, ST_CHDIR, errno);

	cloexec_from_3();
	nsl_fdlimit_restore();
	/* execvp searches the PATH of the environment the program gets. */
	environ = envp;
	execvp(cmd->argv[0], (char *const *)cmd->argv);
	report_and_exit(errfd, ST_EXEC, errno);
}

/* Keeps fds 0-2 free for the child's dup2s: any fd we make below 3 (when our
 * own stdio is closed) is moved up. */
static int move_high(int fd)
{
	int nfd;

	if (fd < 0 || fd > 2)
		return fd;
	nfd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	close(fd);
	return nfd;
}

static size_t key_len(const char *kv)
{
	const char *eq = strchr(kv, '=');

	return eq ? (size_t)(eq - kv) : strlen(kv);
}

static int overridden(const char *kv, const char *const *env)
{
	size_t n = key_len(kv);

	for (; env && *env; env++)
		if (key_len(*env) == n && strncmp(kv, *env, n) == 0)
			return 1;
	return 0;
}

/* The child's environment: ours (unless cleared) minus what cmd->env replaces,
 * plus cmd->env. Only the array is allocated; the strings are borrowed. */
static char **build_env(const struct nsl_cmd *cmd)
{
	size_t n = 0, m = 0, k = 0;
	char **envp;

	if (!cmd->clear_env)
		while (environ && environ[n])
			n++;
	while (cmd->env && cmd->env[m])
		m++;
	envp = malloc((n + m + 1) * sizeof *envp);
	if (!envp)
		return NULL;
	for (size_t i = 0; i < n; i++)
		if (!overridden(environ[i], cmd->env))
			envp[k++] = environ[i];
	for (size_t i = 0; i < m; i++)
		envp[k++] = (char *)cmd->env[i];
	envp[k] = NULL;
	return envp;
}

static const char *const open_names[] = { "open stdin", "open stdout", "open stderr" };

/* Our end and the child's end of stream i, per cmd->io[i]. */
static int make_stream(const struct nsl_cmd *cmd, int i, int *ours, int *theirs,
		       struct nsl_fail *fail)
{
	int p[2];

	switch (cmd->io[i]) {
	case NSL_IO_INHERIT:
		return 0;
	case NSL_IO_PIPE:
		if (pipe2(p, O_CLOEXEC) < 0) {
			fail->step = "pipe";
			return -errno;
		}
		*ours = move_high(i == 0 ? p[1] : p[0]);
		*theirs = move_high(i == 0 ? p[0] : p[1]);
		if (*ours < 0 || *theirs < 0 || fcntl(*ours, F_SETFL, O_NONBLOCK) < 0) {
			fail->step = "pipe";
			return -errno;
		}
		return 0;
	case NSL_IO_NULL:
		*theirs = move_high(open("/dev/null", (i == 0 ? O_RDONLY : O_WRONLY) | O_CLOEXEC));
		fail->object = "/dev/null";
		break;
	case NSL_IO_FILE:
		/* Appending, so stdout and stderr sent to one file interleave. */
		*theirs = move_high(i == 0 ? open(cmd->path[i], O_RDONLY | O_CLOEXEC)
				    : open(cmd->path[i], O_WRONLY | O_CREAT | O_TRUNC |
					   O_APPEND | O_CLOEXEC, 0644));
		fail->object = cmd->path[i];
		break;
	}
	if (*theirs < 0) {
		fail->step = open_names[i];
		return -errno;
	}
	fail->object = NULL;
	return 0;
}

/* Reads the child's report: 0 when the exec succeeded (the pipe closed on
 * exec, nothing written), else the child's -errno. */
static int read_report(int fd, struct nsl_fail *fail)
{
	struct report r;
	ssize_t n;

	do
		n = read(fd, &r, sizeof r);
	while (n < 0 && errno == EINTR);
	if (n == 0)
		return 0;
	if (n != (ssize_t)sizeof r) {
		fail->step = "read exec status";
		return n < 0 ? -errno : -EPROTO;
	}
	if (r.step >= 0 && r.step <= ST_EXEC)
		fail->step = step_names[r.step];
	return -r.err;
}

int nsl_child_start(const struct nsl_ns *ns, const struct nsl_cmd *cmd,
		    struct nsl_child *c, struct nsl_fail *fail)
{
	int theirs[3] = { -1, -1, -1 }, errp[2] = { -1, -1 }, err = 0;
	sigset_t all, old;
	char **envp = NULL;
	pid_t parent = getpid(), pid;

	c->pid = -1;
	c->pidfd = -1;
	for (int i = 0; i < 3; i++)
		c->fd[i] = -1;
	fail->step = NULL;
	fail->object = NULL;

	for (int i = 0; i < 3; i++)
		if ((err = make_stream(cmd, i, &c->fd[i], &theirs[i], fail)) < 0)
			goto out;
	if (!(envp = build_env(cmd))) {
		err = -ENOMEM;
		fail->step = "build environment";
		goto out;
	}
	if (pipe2(errp, O_CLOEXEC) < 0 || (errp[0] = move_high(errp[0])) < 0 ||
	    (errp[1] = move_high(errp[1])) < 0) {
		err = -errno;
		fail->step = "pipe";
		goto out;
	}

	sigfillset(&all);
	sigprocmask(SIG_SETMASK, &all, &old);
	pid = fork();
	if (pid == 0)
		child(ns, cmd, envp, theirs, errp[1], parent);
	err = -errno;
	sigprocmask(SIG_SETMASK, &old, NULL);
	if (pid < 0) {
		fail->step = "fork";
		goto out;
	}
	err = 0;
	nsl_fd_close(&errp[1]);
	c->pid = pid;
	c->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);	/* always O_CLOEXEC */
	if (c->pidfd < 0 && errno == ENOSYS) {
		err = read_report(errp[0], fail);	/* no pidfds: process.c polls */
	} else if (c->pidfd < 0) {
		err = -errno;
		fail->step = "pidfd_open";
		kill(pid, SIGKILL);
	} else {
		err = read_report(errp[0], fail);
	}
	if (err < 0) {
		if (fail->step == step_names[ST_CHDIR])
			fail->object = cmd->cwd;
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
			;
		nsl_fd_close(&c->pidfd);
		c->pid = -1;
	}
out:
	free(envp);
	nsl_fd_close(&errp[0]);
	nsl_fd_close(&errp[1]);
	for (int i = 0; i < 3; i++) {
		nsl_fd_close(&theirs[i]);
		if (err < 0)
			nsl_fd_close(&c->fd[i]);
	}
	return err;
}
