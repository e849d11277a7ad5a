/*
 * Processes started in a namespace (exec.h starts them), and running one to
 * completion.
 *
 * An nsl_proc is the handle of a child started with nsl_proc_start(): its pid,
 * a pidfd (poll it to learn the child exited; signal it without pid reuse
 * races), our ends of its pipes, and what it printed and nobody read yet.
 * Waiting keeps draining the pipes into those buffers, so a chatty child never
 * blocks on a full pipe while we wait for it. The child is reaped exactly once,
 * by whichever of running/wait/close sees it exit first; its status is kept.
 * nsl_proc_close() ends the child if it still runs (SIGTERM to it and its
 * process group, SIGKILL after a grace period), reaps it, closes every fd and
 * frees the buffers: after it nothing of the child is left, not even a zombie.
 *
 * nsl_exec() is a handle used from start to reaping in one call.
 */
#ifndef NSLAB_PROCESS_H
#define NSLAB_PROCESS_H

#include <stddef.h>
#include <sys/types.h>

#include "exec.h"

struct nsl_ns;

struct nsl_buf {
	char *data;		/* NUL-terminated when not NULL */
	size_t len, cap;
};

struct nsl_proc {
	struct nsl_child c;	/* pid; pidfd -1 once reaped; pipe ends -1 once closed */
	int open;		/* started and not closed */
	int group;		/* the child leads its own process group */
	int reaped;
	int wstatus;		/* waitpid status, once reaped */
	const char *in;		/* stdin data still to feed (not owned) */
	size_t in_len, in_off;
	struct nsl_buf out, err;
	double started;		/* nsl_now() at start */
	double elapsed;		/* start to reaping */
};

#define NSL_PROC_GRACE 1.0	/* seconds between SIGTERM and SIGKILL on close */

void nsl_proc_init(struct nsl_proc *p);	/* the closed state */
int nsl_proc_start(struct nsl_proc *p, const struct nsl_ns *ns,
		   const struct nsl_cmd *cmd, struct nsl_fail *fail);

/* Waits up to timeout seconds (< 0: for ever) for the child to exit, feeding
 * stdin and collecting output meanwhile. 1: exited and reaped; 0: still
 * running at the deadline; -EINTR when nslab was interrupted (interrupt.h);
 * -errno on failure. */
int nsl_proc_wait(struct nsl_proc *p, double timeout);
/* 1 while the child runs, 0 once it exited (it is then reaped). */
int nsl_proc_running(struct nsl_proc *p);
/* Collects what the pipes hold now, without blocking. */
int nsl_proc_drain(struct nsl_proc *p);
/* Signals the child (and its group when group is set). -ESRCH once reaped. */
int nsl_proc_signal(struct nsl_proc *p, int sig, int group);
/* Ends and reaps the child if needed, closes fds, frees buffers. Idempotent. */
void nsl_proc_close(struct nsl_proc *p);

/* Takes the collected output of stream 1 (stdout) or 2 (stderr): the caller
 * owns *data (NULL if nothing) and the buffer starts empty again. */
void nsl_proc_take(struct nsl_proc *p, int stream, char **data, size_t *len);

enum nsl_exit { NSL_EXITED, NSL_SIGNALED, NSL_TIMEOUT };

struct nsl_exec_result {
	pid_t pid;
	enum nsl_exit status;
	int code;		/* exit code (NSL_EXITED) */
	int signal;		/* terminating signal (NSL_SIGNALED, NSL_TIMEOUT) */
	char *out, *err;	/* captured output (malloc'd, NUL-terminated) or NULL */
	size_t out_len, err_len;
	double elapsed;		/* seconds from start to reaping */
};

/*
 * Runs cmd to completion, feeding in/in_len to its stdin (when cmd->io[0] is
 * NSL_IO_PIPE) while collecting its stdout and stderr pipes, so large outputs
 * never deadlock. timeout > 0: after that many seconds the child and its
 * process group (cmd->new_group) are killed with SIGKILL and the status is
 * NSL_TIMEOUT. The caller frees r->out and r->err (nsl_exec_result_free).
 */
int nsl_exec(const struct nsl_ns *ns, const struct nsl_cmd *cmd,
	     const char *in, size_t in_len, double timeout,
	     struct nsl_exec_result *r, struct nsl_fail *fail);
void nsl_exec_result_free(struct nsl_exec_result *r);

#endif
