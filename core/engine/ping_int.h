/*
 * Internals shared by the ping engine's two files: ping.c (requests, the
 * schedule, the event loop, results) and ping_sock.c (the raw sockets, what
 * arrives on them and matching it to what was sent). Not for other areas.
 *
 * A run sorts its requests by socket key (namespace, family, ttl, dev,
 * source); each key gets one psock, whose requests are contiguous in
 * run->order and carry consecutive ICMP identifiers, so a reply's id finds
 * its request in O(1).
 */
#ifndef NSLAB_PING_INT_H
#define NSLAB_PING_INT_H

#include <stdint.h>
#include <sys/socket.h>

#include "ping.h"

/* Send buffer for one echo; also the receive batch (64 slots of 512 bytes). */
#define NSL_PING_BUFLEN (NSL_PING_MAX_SIZE + 1024)

enum { NSL_SEQ_UNSENT, NSL_SEQ_SENT, NSL_SEQ_REPLIED, NSL_SEQ_FAILED };

struct psock {
	int fd;
	int family;
	int ifindex;			/* of opts->dev, for link-local scope */
	int blocked;			/* sendto said EAGAIN: wait for EPOLLOUT */
	const struct nsl_ns *ns;
	const struct nsl_ping_opts *o;	/* its socket-level options */
	size_t first, n;		/* its requests: run->order[first .. first + n) */
	uint16_t id_base;		/* they have ids id_base .. id_base + n - 1 */
};

struct preq {
	const struct nsl_ping_req *req;
	const struct nsl_ping_opts *o;
	struct nsl_ping_result *res;
	struct psock *sock;
	unsigned long long ino;
	uint16_t id;
	int done;
	unsigned next_seq;		/* 1-based */
	unsigned answered;		/* seqs replied to or failed */
	double t_next, t_last, t_end;	/* monotonic seconds */
	int64_t *sent;			/* realtime ns each seq was sent */
	unsigned char *state;		/* NSL_SEQ_* of each seq */
	double sum, sum2;		/* of the rtts, ms */
	size_t cap_replies, cap_errors;
};

struct run {
	struct preq *q;
	struct preq **order;		/* q sorted by socket key */
	struct psock *socks;
	size_t n, nsock;
	size_t active;			/* requests of this wave not done */
	uint64_t cookie;		/* first 8 payload bytes of our echoes */
	unsigned char *buf;		/* NSL_PING_BUFLEN bytes */
	int epfd;
};

/* ping.c */
int nsl_ping_add_reply(struct preq *q, unsigned seq, int ttl, double rtt, const struct nsl_ip *from);
/* type/code -1 for a local error; mtu 0 when none is known. */
int nsl_ping_add_error(struct preq *q, unsigned seq, int kind, int err, int type, int code,
		       unsigned mtu, const struct nsl_ip *from, const char *msg);
void nsl_ping_finish(struct run *r, struct preq *q);
int64_t nsl_ping_now_real(void);

/* ping_sock.c */
socklen_t nsl_ping_sockaddr(struct sockaddr_storage *ss, const struct nsl_ip *ip, int ifindex);
int nsl_ping_open_sock(struct run *r, struct psock *s);
int nsl_ping_drain(struct run *r, struct psock *s);

#endif
