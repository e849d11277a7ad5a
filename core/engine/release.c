/* Waiting for namespaces to die: RTM_NEWNSID in a watcher, then RTM_DELNSID. */
#include <errno.h>
#include <poll.h>
#include <sched.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <linux/net_namespace.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>

#include "clock.h"
#include "namespace.h"
#include "nsenter.h"
#include "netlink.h"
#include "release.h"

struct watcher {
	int sk;
	unsigned char *alive;	/* by nsid: 1 while we wait for its DELNSID */
	size_t ids, left;	/* ids handed out; how many are still alive */
};

/* A NETLINK_ROUTE socket in a new, unnamed namespace that only it holds,
 * subscribed to RTNLGRP_NSID. */
static int open_watcher(struct watcher *w, size_t n)
{
	int group = RTNLGRP_NSID, size = (int)(n * 2048 + (1 << 20)), err;

	if (nsl_home_fd() < 0)
		return -errno;
	if (unshare(CLONE_NEWNET) < 0)
		return -errno;
	w->sk = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	err = w->sk < 0 ? -errno : 0;
	nsl_leave();
	if (err)
		return err;
	/* Every id gets a NEWNSID and a DELNSID notification: room for all. */
	if (setsockopt(w->sk, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size) < 0)
		setsockopt(w->sk, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
	if (setsockopt(w->sk, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &group, sizeof group) < 0) {
		err = -errno;
		close(w->sk);
		return err;
	}
	return 0;
}

struct nsid_req {
	struct nlmsghdr h;
	struct rtgenmsg g;
	char pad[3];
	struct nlattr nsid_attr;
	int32_t nsid;
	struct nlattr fd_attr;
	uint32_t fd;
};

/* Gives the namespace of fd the id `id` in the watcher (seq = id + 1). */
static int send_newnsid(struct watcher *w, int fd, int32_t id)
{
	struct nsid_req r;

	memset(&r, 0, sizeof r);
	r.h.nlmsg_len = sizeof r;
	r.h.nlmsg_type = RTM_NEWNSID;
	r.h.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	r.h.nlmsg_seq = (uint32_t)id + 1;
	r.g.rtgen_family = AF_UNSPEC;
	r.nsid_attr.nla_len = NLA_HDRLEN + sizeof r.nsid;
	r.nsid_attr.nla_type = NETNSA_NSID;
	r.nsid = id;
	r.fd_attr.nla_len = NLA_HDRLEN + sizeof r.fd;
	r.fd_attr.nla_type = NETNSA_FD;
	r.fd = (uint32_t)fd;
	return send(w->sk, &r, sizeof r, 0) < 0 ? -errno : 0;
}

static int32_t nsid_of(struct nlmsghdr *h)
{
	struct rtattr *a = (struct rtattr *)((char *)NLMSG_DATA(h) + NLMSG_ALIGN(sizeof(struct rtgenmsg)));
	int len = (int)h->nlmsg_len - NLMSG_LENGTH(NLMSG_ALIGN(sizeof(struct rtgenmsg)));

	for (; RTA_OK(a, len); a = RTA_NEXT(a, len))
		if (a->rta_type == NETNSA_NSID && RTA_PAYLOAD(a) >= sizeof(int32_t))
			return *(int32_t *)RTA_DATA(a);
	return -1;
}

/*
 * Reads what is queued (blocking up to `wait` seconds for the first message):
 * acks of our requests (an error marks that id as not watched: EEXIST means
 * another handle of the same namespace has an id already) and DELNSID
 * notifications. Returns 0, or -errno (ENOBUFS: notifications were lost).
 */
static int drain(struct watcher *w, double wait)
{
	char buf[16384];
	struct pollfd p = { .fd = w->sk, .events = POLLIN };

	if (poll(&p, 1, wait > 0 ? (int)(wait * 1000) + 1 : 0) <= 0)
		return 0;
	for (;;) {
		ssize_t n = recv(w->sk, buf, sizeof buf, MSG_DONTWAIT);
		if (n < 0)
			return errno == EAGAIN || errno == EINTR ? 0 : -errno;
		for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, (size_t)n);
		     h = NLMSG_NEXT(h, n)) {
			size_t id = (size_t)h->nlmsg_seq - 1;
			if (h->nlmsg_type == NLMSG_ERROR) {
				struct nlmsgerr *e = NLMSG_DATA(h);
				if (e->error && id < w->ids && w->alive[id]) {
					w->alive[id] = 0;
					w->left--;
				}
			} else if (h->nlmsg_type == RTM_DELNSID) {
				int32_t gone = nsid_of(h);
				if (gone >= 0 && (size_t)gone < w->ids && w->alive[gone]) {
					w->alive[gone] = 0;
					w->left--;
				}
			}
		}
	}
}

/* After lost notifications: the ids the watcher still has are the alive ones. */
static int recount(struct watcher *w)
{
	struct { struct nlmsghdr h; struct rtgenmsg g; } req = {
		.h = { .nlmsg_len = sizeof req, .nlmsg_type = RTM_GETNSID,
		       .nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP, .nlmsg_seq = 0 },
		.g = { .rtgen_family = AF_UNSPEC },
	};
	unsigned char *seen = calloc(w->ids ? w->ids : 1, 1);
	char buf[16384];
	int done = 0, err = 0;

	if (!seen)
		return -ENOMEM;
	if (send(w->sk, &req, sizeof req, 0) < 0) {
		free(seen);
		return -errno;
	}
	while (!done) {
		ssize_t n = recv(w->sk, buf, sizeof buf, 0);
		if (n < 0) {
			if (errno == EINTR || errno == ENOBUFS)
				continue;
			err = -errno;
			break;
		}
		for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, (size_t)n);
		     h = NLMSG_NEXT(h, n)) {
			if (h->nlmsg_type == NLMSG_DONE || h->nlmsg_type == NLMSG_ERROR)
				done = 1;
			else if (h->nlmsg_type == RTM_NEWNSID && h->nlmsg_seq == 0 && nsid_of(h) >= 0 &&
				 (size_t)nsid_of(h) < w->ids)
				seen[nsid_of(h)] = 1;
		}
	}
	if (!err)
		for (size_t i = 0; i < w->ids; i++)
			if (w->alive[i] && !seen[i]) {
				w->alive[i] = 0;
				w->left--;
			}
	free(seen);
	return err;
}

int nsl_ns_release(struct nsl_ns **v, size_t n, double timeout, size_t *alive)
{
	struct watcher w = { .sk = -1 };
	double deadline;
	int err;

	*alive = 0;
	/* Sockets first: a socket drops its namespace reference only after an
	 * RCU grace period, which would spread the namespaces' deaths over
	 * several of the kernel's cleanup rounds instead of one. */
	for (size_t i = 0; i < n; i++)
		nsl_nl_close(&v[i]->nl);
	if ((err = open_watcher(&w, n)) < 0)
		goto close_all;
	if (!(w.alive = calloc(n ? n : 1, 1))) {
		err = -ENOMEM;
		goto close_all;
	}
	for (size_t i = 0; i < n; i++) {
		if (v[i]->fd < 0)
			continue;
		if ((err = send_newnsid(&w, v[i]->fd, (int32_t)w.ids)) < 0)
			goto close_all;
		w.alive[w.ids++] = 1;
		w.left++;
	}
	/* The kernel handles a request within send(): the acks (an error for
	 * a second handle of a namespace that has an id already) are queued. */
	if ((err = drain(&w, 0)) == -ENOBUFS)
		err = recount(&w);
	if (err < 0)
		goto close_all;
close_all:
	for (size_t i = 0; i < n; i++)
		nsl_ns_close(v[i]);
	if (err < 0 || w.sk < 0)
		goto out;
	deadline = nsl_now() + timeout;
	while (w.left > 0) {
		double wait = deadline - nsl_now();
		if (wait <= 0)
			break;
		err = drain(&w, wait);
		if (err == -ENOBUFS)
			err = recount(&w);
		if (err < 0)
			goto out;
	}
	/* At the deadline, ask rather than trust the count: a notification
	 * may be queued behind the deadline (and this is the same question
	 * that answers for lost ones). */
	if (w.left > 0 && (err = recount(&w)) < 0)
		goto out;
	*alive = w.left;
out:
	if (w.sk >= 0)
		close(w.sk);
	free(w.alive);
	return err;
}
