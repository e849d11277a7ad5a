/* Per-namespace netlink sockets with the kernel's errno captured. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>
#include <net/if.h>
#include <linux/netlink.h>
#include <netlink/netlink.h>
#include <netlink/socket.h>
#include <netlink/msg.h>
#include <netlink/route/link.h>

#include "errors.h"
#include "netlink.h"
#include "nsenter.h"
#include "parse.h"

static int kernel_errno;		/* from the last NLMSG_ERROR, 0 if none */
static struct nsl_nl *lru_head, *lru_tail;
static int open_count;

/* libnl would turn e->error into its own lossy code; keep the real one. */
static int capture_error(struct sockaddr_nl *nla, struct nlmsgerr *e, void *arg)
{
	(void)nla;
	(void)arg;
	kernel_errno = e->error < 0 ? -e->error : e->error;
	return NL_STOP;
}

int nsl_nl_err(int nlerr)
{
	if (nlerr >= 0)
		return 0;
	if (kernel_errno)
		return -kernel_errno;
	return -nsl_nlerr_to_errno(nlerr);
}

int nsl_nl_open_count(void)
{
	return open_count;
}

static void lru_unlink(struct nsl_nl *nl)
{
	if (nl->lru_prev)
		nl->lru_prev->lru_next = nl->lru_next;
	else
		lru_head = nl->lru_next;
	if (nl->lru_next)
		nl->lru_next->lru_prev = nl->lru_prev;
	else
		lru_tail = nl->lru_prev;
	nl->lru_prev = nl->lru_next = NULL;
}

static void lru_push(struct nsl_nl *nl)
{
	nl->lru_prev = NULL;
	nl->lru_next = lru_head;
	if (lru_head)
		lru_head->lru_prev = nl;
	lru_head = nl;
	if (!lru_tail)
		lru_tail = nl;
}

void nsl_nl_close(struct nsl_nl *nl)
{
	if (!nl->sk)
		return;
	lru_unlink(nl);
	nl_socket_free(nl->sk);	/* closes the fd */
	nl->sk = NULL;
	open_count--;
}

/* Wraps a fresh NETLINK_ROUTE socket for libnl, bound to a port the kernel
 * chooses; closes fd on failure. */
static int wrap(int fd, struct nl_sock **out)
{
	struct sockaddr_nl local = { .nl_family = AF_NETLINK };
	int err, one = 1, bufsize = 4 << 20;
	struct nl_sock *sk;

	if (bind(fd, (struct sockaddr *)&local, sizeof local) < 0) {
		err = -errno;
		close(fd);
		return err;
	}
	/* Large dumps (1000 links) and batched requests need room; extended acks
	 * make the kernel say more when it refuses. */
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &bufsize, sizeof bufsize);
	setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &bufsize, sizeof bufsize);
	setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof one);
	sk = nl_socket_alloc();
	if (!sk) {
		close(fd);
		return -ENOMEM;
	}
	if ((err = nl_socket_set_fd(sk, NETLINK_ROUTE, fd)) < 0) {
		nl_socket_free(sk);
		close(fd);
		return -nsl_nlerr_to_errno(err);
	}
	nl_socket_modify_err_cb(sk, NL_CB_CUSTOM, capture_error, NULL);
	*out = sk;
	return 0;
}

/* Up to NSL_NL_MIN_OPEN sockets are always allowed; above that, up to
 * NSL_NL_MAX_OPEN while they stay under a quarter of the fd limit, which
 * leaves room for the namespace handles and everything else. */
static int may_open_more(void)
{
	struct rlimit r;
	rlim_t cap = NSL_NL_MAX_OPEN;

	if (open_count < NSL_NL_MIN_OPEN)
		return 1;
	if (getrlimit(RLIMIT_NOFILE, &r) == 0 && r.rlim_cur != RLIM_INFINITY && r.rlim_cur / 4 < cap)
		cap = r.rlim_cur / 4;
	return (rlim_t)open_count < cap;
}

static int install(struct nsl_nl *nl, int fd)
{
	int err;

	if (!may_open_more())
		nsl_nl_close(lru_tail);
	if ((err = wrap(fd, &nl->sk)) < 0)
		return err;
	open_count++;
	lru_push(nl);
	return 0;
}

int nsl_nl_sock(struct nsl_nl *nl, int nsfd, struct nl_sock **sk)
{
	int err, fd;

	kernel_errno = 0;
	if (nsfd < 0)
		return -EBADF;
	if (nl->sk) {
		if (lru_head != nl) {
			lru_unlink(nl);
			lru_push(nl);
		}
		*sk = nl->sk;
		return 0;
	}
	if ((err = nsl_enter(nsfd)) < 0)
		return err;
	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	err = fd < 0 ? -errno : 0;
	nsl_leave();
	if (err || (err = install(nl, fd)) < 0)
		return err;
	*sk = nl->sk;
	return 0;
}

int nsl_nl_sock_here(struct nsl_nl *nl)
{
	int fd;

	if (nl->sk)
		return 0;
	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (fd < 0)
		return -errno;
	return nsl_nl_adopt(nl, fd);
}

int nsl_nl_adopt(struct nsl_nl *nl, int fd)
{
	if (nl->sk) {
		close(fd);
		return 0;
	}
	return install(nl, fd);	/* wrap() closes fd when it fails */
}

int nsl_nl_dump_msg(struct nl_sock *sk, struct nl_msg *msg,
		    int (*valid)(struct nl_msg *, void *), void *arg)
{
	struct nl_cb *own = nl_socket_get_cb(sk), *cb = nl_cb_clone(own);
	int err;

	nl_cb_put(own);	/* nl_socket_get_cb() took a reference of its own */
	if (!cb)
		return -ENOMEM;
	nl_cb_set(cb, NL_CB_VALID, NL_CB_CUSTOM, valid, arg);
	if ((err = nl_send_auto(sk, msg)) >= 0)
		err = nl_recvmsgs(sk, cb);
	nl_cb_put(cb);
	return err < 0 ? nsl_nl_err(err) : 0;
}

int nsl_nl_dump(struct nl_sock *sk, int type, void *hdr, int len,
		int (*valid)(struct nl_msg *, void *), void *arg)
{
	struct nl_msg *msg = nlmsg_alloc_simple(type, NLM_F_DUMP);
	int err;

	if (!msg)
		return -ENOMEM;
	if (nlmsg_append(msg, hdr, (size_t)len, NLMSG_ALIGNTO) < 0)
		err = -ENOMEM;
	else
		err = nsl_nl_dump_msg(sk, msg, valid, arg);
	nlmsg_free(msg);
	return err;
}

void *nsl_nl_vec_add(struct nsl_nl_vec *vec, size_t size)
{
	char *e;

	if (vec->n == vec->cap) {
		int cap = vec->cap ? 2 * vec->cap : 16;
		void *v = realloc(vec->v, (size_t)cap * size);

		if (!v) {
			vec->err = -ENOMEM;
			return NULL;
		}
		vec->v = v;
		vec->cap = cap;
	}
	e = (char *)vec->v + (size_t)vec->n++ * size;
	memset(e, 0, size);
	return e;
}

int nsl_nl_dump_vec(struct nl_sock *sk, int type, void *hdr, int len,
		    int (*valid)(struct nl_msg *, void *), void *arg, struct nsl_nl_vec *vec)
{
	int err = nsl_nl_dump(sk, type, hdr, len, valid, arg);

	if (err == 0)
		err = vec->err;
	if (err < 0) {
		free(vec->v);
		vec->v = NULL;
		return err;
	}
	return vec->n;
}

/*
 * SIOCGIFINDEX on the namespace's own netlink socket: netlink has no ioctls
 * of its own and hands this one to the device layer of the socket's
 * namespace, which finds the name (altnames too) in its hash under RCU. An
 * RTM_GETLINK for the name did the same lookup and then built, sent and
 * parsed the whole link (for a bridge port: a scan of every peer namespace's
 * id), once per address and per enslaved port: doc/bench.md.
 */
int nsl_nl_ifindex(struct nl_sock *sk, const char *name, int *index)
{
	struct ifreq ifr;
	size_t len = strlen(name);

	if (len == 0 || len >= sizeof ifr.ifr_name)
		return -ENODEV;		/* no link has such a name */
	memset(&ifr, 0, sizeof ifr);
	memcpy(ifr.ifr_name, name, len);
	if (ioctl(nl_socket_get_fd(sk), SIOCGIFINDEX, &ifr) < 0)
		return -errno;
	*index = ifr.ifr_ifindex;
	return 0;
}

/* The other way (SIOCGIFNAME), as cheap: name has room for IFNAMSIZ bytes. */
int nsl_nl_ifname(struct nl_sock *sk, int index, char *name)
{
	struct ifreq ifr;

	memset(&ifr, 0, sizeof ifr);
	ifr.ifr_ifindex = index;
	if (ioctl(nl_socket_get_fd(sk), SIOCGIFNAME, &ifr) < 0)
		return -errno;
	memcpy(name, ifr.ifr_name, IFNAMSIZ);
	name[IFNAMSIZ - 1] = '\0';
	return 0;
}

struct nl_addr *nsl_nl_addr(const struct nsl_ip *ip, int prefixlen)
{
	struct nl_addr *a = nl_addr_build(ip->family, ip->addr, (size_t)nsl_ip_addrlen(ip));

	if (a && prefixlen >= 0)
		nl_addr_set_prefixlen(a, prefixlen);
	return a;
}
