/*
 * The engine's sockets: raw ICMP/ICMPv6 sockets opened inside a namespace,
 * and everything that arrives on them (echo replies, ICMP errors quoting our
 * requests, local errors from the error queue) matched to what was sent.
 */
#include <errno.h>
#include <netinet/icmp6.h>
#include <netinet/in.h>
#include <netinet/ip_icmp.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>
#include <linux/errqueue.h>

#include "icmp.h"
#include "nsenter.h"
#include "ping_int.h"
#include "sock.h"

#ifndef ICMP_FILTER
#define ICMP_FILTER 1		/* <linux/icmp.h>, which clashes with <netinet/ip_icmp.h> */
#endif

/* Receive buffer per socket: room for a few KiB of skb per expected reply, so
 * a burst of hundreds of replies is not dropped before we drain it. */
#define RCVBUF_MIN (256 * 1024)
#define RCVBUF_MAX (32 * 1024 * 1024)
#define RCVBUF_PER_REQ 4096

socklen_t nsl_ping_sockaddr(struct sockaddr_storage *ss, const struct nsl_ip *ip, int ifindex)
{
	return nsl_sockaddr(ss, ip, 0, ifindex);
}

/* ---- matching what arrives to what we sent ---- */

static struct preq *lookup(struct run *r, const struct psock *s, uint16_t id)
{
	uint16_t k = (uint16_t)(id - s->id_base);

	if (k >= s->n)
		return NULL;
	return r->order[s->first + k];
}

/* The full sequence number of a 16-bit one on the wire: the latest sent
 * with those low bits (counts above 65535 wrap, as ping's do). 0: none. */
static unsigned full_seq(const struct preq *q, uint16_t seq16)
{
	unsigned last = q->next_seq - 1;
	unsigned back = (uint16_t)((uint16_t)last - seq16);

	return back < last ? last - back : 0;
}

static int on_reply(struct run *r, struct psock *s, const struct nsl_icmp_msg *m,
		    int ttl, int64_t rx, const struct nsl_ip *from)
{
	struct preq *q = lookup(r, s, m->id);
	unsigned seq;
	double rtt;

	if (!q || q->done || !(seq = full_seq(q, m->seq)))
		return 0;
	/* A stranger (another ping in this namespace, an earlier run) with the
	 * same id and seq does not carry our cookie. */
	if ((size_t)q->o->size >= sizeof r->cookie &&
	    (m->datalen < sizeof r->cookie || memcmp(m->data, &r->cookie, sizeof r->cookie)))
		return 0;
	if (q->state[seq - 1] == NSL_SEQ_UNSENT)
		return 0;
	if (q->state[seq - 1] == NSL_SEQ_REPLIED) {
		q->res->duplicates++;
		return 0;
	}
	if (q->state[seq - 1] == NSL_SEQ_SENT)
		q->answered++;
	q->state[seq - 1] = NSL_SEQ_REPLIED;
	rtt = (double)(rx - q->sent[seq - 1]) / 1e6;
	return nsl_ping_add_reply(q, seq, ttl, rtt < 0 ? 0 : rtt, from);
}

/* An ICMP error quoting our request id/seq to dst (from the error queue or
 * the raw packet: both arrive, the first one counts). rx: when the packet
 * arrived (0: unknown, now). */
static int on_icmp_error(struct run *r, struct psock *s, uint16_t id, uint16_t seq16,
			 const unsigned char *dst, int type, int code, uint32_t info,
			 const struct nsl_ip *from, int64_t rx)
{
	struct preq *q = lookup(r, s, id);
	char msg[80];
	unsigned seq;
	int kind, err;

	if (!q || q->done || !(seq = full_seq(q, seq16)) || q->state[seq - 1] != NSL_SEQ_SENT)
		return 0;
	if (dst && memcmp(dst, q->req->dst.addr, (size_t)nsl_ip_addrlen(&q->req->dst)))
		return 0;
	kind = nsl_icmp_describe(s->family, type, code, info, msg, sizeof msg);
	q->state[seq - 1] = NSL_SEQ_FAILED;
	q->answered++;
	if ((err = nsl_ping_add_error(q, seq, kind, 0, type, code,
				      kind == NSL_PING_PACKET_TOO_BIG ? info : 0,
				      from && from->family ? from : NULL, msg)) < 0 || !rx)
		return err;
	q->res->errors[q->res->nerrors - 1].rtt = (double)(rx - q->sent[seq - 1]) / 1e6;
	return 0;
}

/* A local error from the error queue (EMSGSIZE, ...) quotes only the
 * destination: it belongs to the latest echo sent there. An EMSGSIZE that
 * sendto() already returned (df: larger than the path MTU the kernel knows)
 * was recorded then; the queue adds the MTU. */
static int on_local_error(struct run *r, struct psock *s, const struct nsl_ip *dst, int err,
			  uint32_t info)
{
	for (size_t i = 0; i < s->n; i++) {
		struct preq *q = r->order[s->first + i];
		unsigned seq = q->next_seq - 1;
		struct nsl_ping_error *last = q->res->nerrors ? &q->res->errors[q->res->nerrors - 1] : NULL;
		if (q->done || !seq ||
		    memcmp(q->req->dst.addr, dst->addr, (size_t)nsl_ip_addrlen(dst)))
			continue;
		if (err == EMSGSIZE && q->state[seq - 1] == NSL_SEQ_FAILED && last &&
		    last->seq == seq && last->err == EMSGSIZE && !last->mtu) {
			last->mtu = info;
			return 0;
		}
		if (q->state[seq - 1] != NSL_SEQ_SENT)
			continue;
		q->state[seq - 1] = NSL_SEQ_FAILED;
		q->answered++;
		return nsl_ping_add_error(q, seq, NSL_PING_LOCAL, err, -1, -1,
					  err == EMSGSIZE ? info : 0, NULL, strerror(err));
	}
	return 0;
}

static int read_errqueue(struct run *r, struct psock *s)
{
	union { char buf[512]; struct cmsghdr align; } cbuf;
	struct sockaddr_storage dst;
	struct iovec iov = { r->buf, NSL_PING_BUFLEN };
	struct msghdr msg;
	ssize_t len;
	int err = 0;

	for (;;) {
		struct sock_extended_err *ee = NULL;
		struct nsl_ip from, to;
		uint16_t id, seq;

		memset(&msg, 0, sizeof msg);
		msg.msg_name = &dst;
		msg.msg_namelen = sizeof dst;
		msg.msg_iov = &iov;
		msg.msg_iovlen = 1;
		msg.msg_control = cbuf.buf;
		msg.msg_controllen = sizeof cbuf.buf;
		len = recvmsg(s->fd, &msg, MSG_ERRQUEUE | MSG_DONTWAIT);
		if (len < 0)
			return err;	/* EAGAIN: drained */
		for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c))
			if ((c->cmsg_level == SOL_IP && c->cmsg_type == IP_RECVERR) ||
			    (c->cmsg_level == SOL_IPV6 && c->cmsg_type == IPV6_RECVERR))
				ee = (struct sock_extended_err *)(void *)CMSG_DATA(c);
		if (!ee)
			continue;
		nsl_ip_from_sockaddr(&to, NULL, &dst);
		if (ee->ee_origin == SO_EE_ORIGIN_LOCAL) {
			if (to.family == s->family)
				err = on_local_error(r, s, &to, (int)ee->ee_errno, ee->ee_info);
		} else if (ee->ee_origin == SO_EE_ORIGIN_ICMP || ee->ee_origin == SO_EE_ORIGIN_ICMP6) {
			struct sockaddr_storage off;
			memset(&off, 0, sizeof off);
			memcpy(&off, SO_EE_OFFENDER(ee), sizeof(struct sockaddr_in6));
			nsl_ip_from_sockaddr(&from, NULL, &off);
			if (nsl_icmp_parse_quoted(s->family, r->buf, (size_t)len, &id, &seq) == 0)
				err = on_icmp_error(r, s, id, seq, to.family ? to.addr : NULL,
						    ee->ee_type, ee->ee_code, ee->ee_info, &from, 0);
		}
		if (err < 0)
			return err;
	}
}

/* One received packet: timestamp and hop limit from its cmsgs, then match it. */
static int on_packet(struct run *r, struct psock *s, struct msghdr *msg, size_t len)
{
	const unsigned char *pkt = msg->msg_iov[0].iov_base;
	struct nsl_icmp_msg m;
	struct nsl_ip from;
	int64_t rx = 0;
	int ttl = -1;

	for (struct cmsghdr *c = CMSG_FIRSTHDR(msg); c; c = CMSG_NXTHDR(msg, c)) {
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS) {
			struct timespec ts;
			memcpy(&ts, CMSG_DATA(c), sizeof ts);
			rx = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
		} else if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_HOPLIMIT) {
			memcpy(&ttl, CMSG_DATA(c), sizeof ttl);
		}
	}
	if (!rx)
		rx = nsl_ping_now_real();
	if (nsl_icmp_parse(s->family, pkt, len, &m) < 0)
		return 0;
	nsl_ip_from_sockaddr(&from, NULL, msg->msg_name);
	if (s->family == AF_INET)
		ttl = m.ttl;
	if (m.what == NSL_ICMP_REPLY)
		return on_reply(r, s, &m, ttl, rx, &from);
	return on_icmp_error(r, s, m.id, m.seq, m.quoted_dst, m.type, m.code, m.info, &from, rx);
}

/*
 * Drains the socket: hundreds of replies can be waiting after one wakeup, so
 * they are read RX_BATCH at a time with recvmmsg. Only the headers and the
 * cookie matter, so each slot is small and longer packets are read truncated.
 */
#define RX_BATCH 64
#define RX_SLOT 512

int nsl_ping_drain(struct run *r, struct psock *s)
{
	union { char buf[128]; struct cmsghdr align; } cbuf[RX_BATCH];
	struct sockaddr_storage src[RX_BATCH];
	struct iovec iov[RX_BATCH];
	struct mmsghdr mm[RX_BATCH];
	int err = 0, spurious = 0, n;

	for (;;) {
		memset(mm, 0, sizeof mm);
		for (int i = 0; i < RX_BATCH; i++) {
			iov[i].iov_base = r->buf + (size_t)i * RX_SLOT;
			iov[i].iov_len = RX_SLOT;
			mm[i].msg_hdr.msg_name = &src[i];
			mm[i].msg_hdr.msg_namelen = sizeof src[i];
			mm[i].msg_hdr.msg_iov = &iov[i];
			mm[i].msg_hdr.msg_iovlen = 1;
			mm[i].msg_hdr.msg_control = cbuf[i].buf;
			mm[i].msg_hdr.msg_controllen = sizeof cbuf[i].buf;
		}
		n = recvmmsg(s->fd, mm, RX_BATCH, MSG_DONTWAIT, NULL);
		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			/* With IP_RECVERR the socket reports each ICMP error
			 * once as an errno here; the error queue has the details. */
			if (++spurious > 64)
				break;
			continue;
		}
		for (int i = 0; i < n && err == 0; i++)
			err = on_packet(r, s, &mm[i].msg_hdr, mm[i].msg_len);
		if (err < 0)
			return err;
		if (n < RX_BATCH)
			break;
	}
	return read_errqueue(r, s);
}

/* ---- sockets ---- */

static int setopt(int fd, int level, int name, const void *val, socklen_t len)
{
	return setsockopt(fd, level, name, val, len) < 0 ? -errno : 0;
}

/* Only what must be asked of the echo socket's own family: the ICMP filter,
 * errors through the error queue, the reply hop limit, the TTL to send and
 * don't-fragment. */
static int setup_family(int fd, int family, int ttl, int df)
{
	int on = 1, err;
	int pmtu4 = IP_PMTUDISC_DO, pmtu6 = IPV6_PMTUDISC_DO;

	if (family == AF_INET) {
		uint32_t block = ~(uint32_t)(1u << ICMP_ECHOREPLY | 1u << ICMP_DEST_UNREACH |
					     1u << ICMP_TIME_EXCEEDED | 1u << ICMP_PARAMETERPROB);
		if ((err = setopt(fd, SOL_RAW, ICMP_FILTER, &block, sizeof block)) < 0 ||
		    (err = setopt(fd, SOL_IP, IP_RECVERR, &on, sizeof on)) < 0 ||
		    (df && (err = setopt(fd, SOL_IP, IP_MTU_DISCOVER, &pmtu4, sizeof pmtu4)) < 0))
			return err;
		return ttl ? setopt(fd, SOL_IP, IP_TTL, &ttl, sizeof ttl) : 0;
	}
	struct icmp6_filter f6;
	ICMP6_FILTER_SETBLOCKALL(&f6);
	ICMP6_FILTER_SETPASS(ICMP6_ECHO_REPLY, &f6);
	ICMP6_FILTER_SETPASS(ICMP6_DST_UNREACH, &f6);
	ICMP6_FILTER_SETPASS(ICMP6_PACKET_TOO_BIG, &f6);
	ICMP6_FILTER_SETPASS(ICMP6_TIME_EXCEEDED, &f6);
	ICMP6_FILTER_SETPASS(ICMP6_PARAM_PROB, &f6);
	if ((err = setopt(fd, IPPROTO_ICMPV6, ICMP6_FILTER, &f6, sizeof f6)) < 0 ||
	    (err = setopt(fd, SOL_IPV6, IPV6_RECVERR, &on, sizeof on)) < 0 ||
	    (err = setopt(fd, IPPROTO_IPV6, IPV6_RECVHOPLIMIT, &on, sizeof on)) < 0 ||
	    (df && ((err = setopt(fd, IPPROTO_IPV6, IPV6_MTU_DISCOVER, &pmtu6, sizeof pmtu6)) < 0 ||
		    (err = setopt(fd, IPPROTO_IPV6, IPV6_DONTFRAG, &on, sizeof on)) < 0)))
		return err;
	return ttl ? setopt(fd, IPPROTO_IPV6, IPV6_UNICAST_HOPS, &ttl, sizeof ttl) : 0;
}

/* Opens s's socket inside its namespace. Returns 0, -errno for a failure of
 * the run, or 1 after recording a failure of dev/source in s's requests. */
int nsl_ping_open_sock(struct run *r, struct psock *s)
{
	int proto = s->family == AF_INET ? IPPROTO_ICMP : IPPROTO_ICMPV6;
	int on = 1, err, rcvbuf;
	char what[64] = "", msg[sizeof what + 64];
	struct epoll_event ev = { .events = EPOLLIN };

	if ((s->fd = nsl_sock_open(s->ns, s->family, SOCK_RAW | SOCK_NONBLOCK, proto)) < 0)
		return s->fd;
	/* Socket options act in the socket's own namespace from here on. */
	rcvbuf = (int)(s->n * RCVBUF_PER_REQ > RCVBUF_MAX ? RCVBUF_MAX : s->n * RCVBUF_PER_REQ);
	if (rcvbuf < RCVBUF_MIN)
		rcvbuf = RCVBUF_MIN;
	if (setopt(s->fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof rcvbuf) < 0 &&
	    (err = setopt(s->fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf)) < 0)
		return err;
	if ((err = setopt(s->fd, SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof on)) < 0 ||
	    (err = setup_family(s->fd, s->family, s->o->ttl, s->o->df)) < 0)
		return err;
	/* The user's dev= and source=: failures here (no such device, an
	 * address the namespace does not have) are results of the requests,
	 * as ping reports them, not failures of the run. */
	if ((err = nsl_sock_bind(s->fd, s->o->dev, &s->o->source, 0, &s->ifindex,
				 what, sizeof what)) < 0) {
		int uerr = -err;
		snprintf(msg, sizeof msg, "%s: %s", what, strerror(uerr));
		for (size_t i = 0; i < s->n; i++) {
			struct preq *q = r->order[s->first + i];
			if ((err = nsl_ping_add_error(q, 0, NSL_PING_LOCAL, uerr, -1, -1, 0, NULL, msg)) < 0)
				return err;
			nsl_ping_finish(r, q);
		}
		close(s->fd);
		s->fd = -1;
		return 1;
	}
	ev.data.ptr = s;
	if (epoll_ctl(r->epfd, EPOLL_CTL_ADD, s->fd, &ev) < 0)
		return -errno;
	return 0;
}
