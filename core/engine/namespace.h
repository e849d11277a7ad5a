/*
 * Network namespaces: named ones the iproute2 way, and switching into them.
 *
 * A named namespace is a file under /run/netns with the namespace bind-mounted
 * on it, exactly as `ip netns add` makes it, so `ip netns list/exec/delete`,
 * tcpdump and Wireshark all see ours and we see theirs.
 *
 * An nsl_ns is an open handle: the namespace's fd plus, lazily, a netlink
 * socket created inside it (netlink.h; nsl_ns_sock). Closing a handle never
 * deletes the namespace; deleting is always explicit (nsl_ns_delete).
 * Switching into a namespace is nsenter.h's, with nsl_enter(ns->fd).
 */
#ifndef NSLAB_NAMESPACE_H
#define NSLAB_NAMESPACE_H

#include <limits.h>
#include <sys/types.h>

#include "netlink.h"

#define NSL_NETNS_DIR "/run/netns"

struct nsl_ns {
	int fd;			/* the namespace (O_CLOEXEC), -1 once closed */
	struct nsl_nl nl;	/* its NETLINK_ROUTE socket, opened on use */
	char name[NAME_MAX + 1];	/* "" unless opened by name */
	char label[64];		/* for messages: the name, "pid 42" or the path */
};

int nsl_ns_create(const char *name);
/* The same in two steps, with the open handle in between (see namespace.c). */
int nsl_ns_create_begin(struct nsl_ns *ns, const char *name);
int nsl_ns_create_commit(struct nsl_ns *ns, const char *mark);	/* aborts on failure */
void nsl_ns_create_abort(struct nsl_ns *ns);
int nsl_ns_delete(const char *name);
int nsl_ns_exists(const char *name);	/* 1, 0 or -errno */

/* Calls fn for each name under /run/netns (unsorted); stops early if fn
 * returns non-zero and returns that. */
int nsl_ns_list(int (*fn)(const char *name, void *arg), void *arg);

/* Open handles. The fd is checked to really be a network namespace. */
int nsl_ns_open_name(struct nsl_ns *ns, const char *name);
int nsl_ns_open_path(struct nsl_ns *ns, const char *path);
int nsl_ns_open_pid(struct nsl_ns *ns, pid_t pid);
void nsl_ns_close(struct nsl_ns *ns);	/* idempotent */

/* The inode that identifies a namespace (as `ip netns identify` compares). */
int nsl_ns_inode(const struct nsl_ns *ns, unsigned long long *ino);

/* The handle's netlink socket, made inside the namespace on first use
 * (nsl_nl_sock). */
int nsl_ns_sock(struct nsl_ns *ns, struct nl_sock **sk);

#endif
