/*
 * Processes started in a namespace, and the processes a namespace holds.
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
 * nsl_ns_pids() and nsl_ns_kill_all() work on every process of a namespace
 * (nsl_nss_*: of any of several namespaces, in one pass), ours or not, found
 * as `ip netns pids` finds them: /proc/PID/ns/net is the namespace's inode.
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

#endif
