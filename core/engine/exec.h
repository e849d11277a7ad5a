/*
 * Running a command inside a network namespace, the way `ip netns exec` does.
 *
 * nsl_child_start() forks; the child enters the namespace, gets a private
 * mount namespace whose "/" is a slave of ours (nothing it mounts leaks back),
 * a fresh /sys that shows only that namespace's links, and, for a named
 * namespace, each file of /etc/netns/NAME/ bound over /etc/<file>. It dies
 * with us (PR_SET_PDEATHSIG), starts with default signal dispositions and an
 * empty mask, sees only fds 0, 1 and 2, and execvp()s the argv directly: no
 * shell. A failure of any of those steps, exec included, is written to a
 * close-on-exec pipe, so the parent learns it (step and errno) before
 * nsl_child_start() returns, and the failed child is already reaped.
 *
 * This is the bottom of running commands: process.h builds the handle of a
 * started child on it, and running a command to completion on that handle.
 */
#ifndef NSLAB_EXEC_H
#define NSLAB_EXEC_H

#include <stddef.h>
#include <sys/types.h>

struct nsl_ns;

/* How one of the child's fds 0, 1, 2 is connected. */
enum nsl_io {
	NSL_IO_INHERIT,		/* ours */
	NSL_IO_PIPE,		/* a pipe to us (nsl_child.fd[i]) */
	NSL_IO_NULL,		/* /dev/null */
	NSL_IO_FILE		/* path[i]: read (stdin), or created/truncated, appended to */
};

struct nsl_cmd {
	const char *const *argv;	/* NULL-terminated; argv[0] searched in PATH */
	const char *const *env;		/* "K=V" added or replacing ours; NULL-terminated or NULL */
	int clear_env;			/* start from an empty environment */
	const char *cwd;		/* or NULL */
	enum nsl_io io[3];
	const char *path[3];		/* for NSL_IO_FILE */
	int new_group;			/* the child leads a process group of its own */
};

/* A started child: pid, a pidfd (to poll and signal it without pid reuse
 * races) and our ends of its pipes (O_CLOEXEC|O_NONBLOCK, -1 if none). */
struct nsl_child {
	pid_t pid;
	int pidfd;
	int fd[3];
};

/* What failed: step is "exec" (the command itself: not found, not
 * executable) or a step of the set-up ("chdir", "mount /sys", "open stdout",
 * ...); object the path concerned, or NULL. */
struct nsl_fail {
	const char *step;
	const char *object;
};

/*
 * Starts cmd in ns. On failure returns -errno, fills *fail and leaves nothing
 * behind: no fd, no child, no zombie.
 */
int nsl_child_start(const struct nsl_ns *ns, const struct nsl_cmd *cmd,
		    struct nsl_child *c, struct nsl_fail *fail);

#endif
