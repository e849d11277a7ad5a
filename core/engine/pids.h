/* The processes of namespaces: listing them and killing them all. */
#ifndef NSLAB_PIDS_H
#define NSLAB_PIDS_H

#include <sys/types.h>

struct nsl_ns;

/* Calls fn for each process in ns (stops if fn returns non-zero, returns that). */
int nsl_ns_pids(const struct nsl_ns *ns, int (*fn)(pid_t pid, void *arg), void *arg);
/* Signals every process in ns but ourselves, again for any started meanwhile,
 * until none is left; returns how many were signalled, or -ETIMEDOUT if some
 * are still there after timeout seconds. */
int nsl_ns_kill_all(const struct nsl_ns *ns, int sig, double timeout);
/* The same for the processes in any of n namespaces, with one /proc scan per
 * round whatever n is (a lab's teardown). */
int nsl_nss_pids(const struct nsl_ns *const *nss, size_t n,
		 int (*fn)(pid_t pid, void *arg), void *arg);
int nsl_nss_kill_all(const struct nsl_ns *const *nss, size_t n, int sig, double timeout);

#endif
