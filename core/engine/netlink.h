/*
 * NETLINK_ROUTE sockets, one per namespace handle (its struct nsl_nl), made
 * inside that namespace.
 *
 * A netlink socket belongs to the namespace current when socket() ran, so the
 * socket is created between nsl_enter() and nsl_leave() and then used
 * from home like any other. The kernel picks the port (libnl's own port
 * allocator stops at 1024 sockets a process), and at most NSL_NL_MAX_OPEN
 * sockets stay open (fewer when the fd limit is low: a quarter of
 * RLIMIT_NOFILE, at least NSL_NL_MIN_OPEN): the least recently used is closed
 * and transparently reopened on its next use, so a lab of thousands of
 * namespaces holds a bounded number of fds. A lab walks all its namespaces
 * once per phase (create, links, addresses, carrier wait), and an LRU cache
 * smaller than that walk misses every time: 512 keeps a lab of 500
 * namespaces at one socket each (a cap of 128 opened 4 per namespace at 200).
 *
 * Errors: nsl_nl_sock() forgets the last kernel error; a failed libnl call is
 * then turned into the kernel's real errno by nsl_nl_err().
 */
#ifndef NSLAB_NETLINK_H
#define NSLAB_NETLINK_H

#include <stddef.h>

struct nl_sock;

/* A namespace's socket slot: NULL until used, and again once evicted. */
struct nsl_nl {
	struct nl_sock *sk;
	struct nsl_nl *lru_prev, *lru_next;	/* the open ones, most recent first */
};

#define NSL_NL_MAX_OPEN 512
#define NSL_NL_MIN_OPEN 128

/* nl's socket, made inside the namespace nsfd when nl has none. */
int nsl_nl_sock(struct nsl_nl *nl, int nsfd, struct nl_sock **sk);
void nsl_nl_close(struct nsl_nl *nl);
/* Gives nl its socket, made in the namespace the thread is in now: for the
 * creator of a namespace, which is inside it anyway (saves two setns). */
int nsl_nl_sock_here(struct nsl_nl *nl);
/* Gives nl the NETLINK_ROUTE socket fd, made in nl's namespace by someone
 * else (prefetch.h); fd is nl's (or closed) whatever the outcome. */
int nsl_nl_adopt(struct nsl_nl *nl, int fd);

/* -errno for a negative libnl return: the errno of the kernel's NLMSG_ERROR
 * when one was received since nsl_nl_sock(), else libnl's code mapped. */
int nsl_nl_err(int nlerr);

/* Sends the dump request msg (the caller's to free) and calls valid(msg,
 * arg) for each answer until the dump's end, through a clone of the socket's
 * callbacks: the kernel-errno capture is kept and the socket left as it was
 * for the next user. Returns 0 or -errno. nsl_nl_dump: the request is a
 * message of `type` with just its header. */
struct nl_msg;
int nsl_nl_dump_msg(struct nl_sock *sk, struct nl_msg *msg,
		    int (*valid)(struct nl_msg *, void *), void *arg);
int nsl_nl_dump(struct nl_sock *sk, int type, void *hdr, int len,
		int (*valid)(struct nl_msg *, void *), void *arg);

/* What a dump collects: n elements in an array v grown as the answers
 * arrive, and a callback's failure (-errno) in err; the dump is read to its
 * end all the same, since what stayed in the socket would be taken for the
 * next reply. Starts zeroed; v is the caller's to free. */
struct nsl_nl_vec {
	void *v;
	int n, cap, err;
};

/* Room for one more element of `size` bytes at the end of vec, zeroed; NULL,
 * with vec->err = -ENOMEM, without memory. */
void *nsl_nl_vec_add(struct nsl_nl_vec *vec, size_t size);

/* nsl_nl_dump() with valid() adding to vec (zeroed): the number of
 * elements, their array left in vec->v for the caller; or -errno (the
 * dump's, else vec->err), the array freed. */
int nsl_nl_dump_vec(struct nl_sock *sk, int type, void *hdr, int len,
		    int (*valid)(struct nl_msg *, void *), void *arg, struct nsl_nl_vec *vec);

/* The index of the link `name` in the socket's namespace (an ioctl, no
 * netlink message): -ENODEV if there is none. */
int nsl_nl_ifindex(struct nl_sock *sk, const char *name, int *index);

/* The name of link `index` into name[IFNAMSIZ] (an ioctl too): -ENODEV if
 * there is none. */
int nsl_nl_ifname(struct nl_sock *sk, int index, char *name);

/* ip as a new nl_addr reference with prefixlen (-1: none); NULL without memory. */
struct nsl_ip;
struct nl_addr *nsl_nl_addr(const struct nsl_ip *ip, int prefixlen);

/* How many sockets are open now (for tests and benchmarks). */
int nsl_nl_open_count(void);

#endif
