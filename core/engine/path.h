/*
 * The path a packet takes, over the ICMP echo engine (ping.h):
 *
 * nsl_traceroute_run() sends echo requests with TTL 1 .. max_hops all at
 * once (one ping run, a socket per TTL) and reads the path from what came
 * back: Time Exceeded from each router on the way, the destination's reply
 * at the end, or the error that ended the path (a router without a route).
 * As `traceroute -n -I`; one query per hop unless asked for more.
 *
 * nsl_pmtu_run() finds the path MTU as tracepath does: echo requests with
 * don't-fragment, starting too large, each "fragmentation needed" / "packet
 * too big" (from a router, or the source's own route) giving the next size,
 * until one gets through.
 *
 * Both return 0 with the answer as data (no reply is a result), or -errno
 * for a failure of the run, as nsl_ping_run.
 */
#ifndef NSLAB_PATH_H
#define NSLAB_PATH_H

#include <stddef.h>

#include "namespace.h"
#include "parse.h"
#include "ping.h"

#define NSL_TRACE_MAX_HOPS 64
#define NSL_TRACE_MAX_QUERIES 10

struct nsl_trace_opts {
	int max_hops;			/* 1 .. NSL_TRACE_MAX_HOPS (30) */
	int queries;			/* per hop, 1 .. NSL_TRACE_MAX_QUERIES (1) */
	double timeout;			/* seconds to wait for answers (1) */
	struct nsl_ip source;
	char dev[NSL_IFNAMSIZ];
};

void nsl_trace_opts_init(struct nsl_trace_opts *o);

enum nsl_hop_kind { NSL_HOP_NONE, NSL_HOP_TTL_EXCEEDED, NSL_HOP_REPLY, NSL_HOP_ERROR };

struct nsl_trace_hop {
	int ttl;
	int kind;			/* enum nsl_hop_kind */
	int error_kind;			/* NSL_HOP_ERROR: enum nsl_ping_kind */
	int icmp_type, icmp_code;	/* -1: none (no answer, a reply, a local error) */
	int err;			/* a local error's errno */
	struct nsl_ip addr;		/* who answered; family 0: nobody */
	double rtt;			/* ms; -1: none */
	unsigned answers;		/* queries answered */
	char message[80];
};

/* hops: room for max_hops; *nhops: up to the reply or the error that ended
 * the path (all max_hops when neither came); *reached: the reply came. */
int nsl_traceroute_run(const struct nsl_ns *ns, const struct nsl_ip *dst,
		       const struct nsl_trace_opts *o, struct nsl_trace_hop *hops,
		       size_t *nhops, int *reached);

struct nsl_pmtu_opts {
	int max;			/* the largest MTU to try (65535) */
	double timeout;			/* per echo (1 s) */
	struct nsl_ip source;
	char dev[NSL_IFNAMSIZ];
};

void nsl_pmtu_opts_init(struct nsl_pmtu_opts *o);

struct nsl_pmtu_result {
	int ok;				/* an echo of mtu bytes got through */
	unsigned mtu;			/* the path MTU (IP packet bytes) */
	struct nsl_ip from;		/* the last router that said "too big"; family 0: none */
	unsigned steps;			/* echoes sent */
	char message[96];		/* why not ok: the last error, or no reply */
};

int nsl_pmtu_run(const struct nsl_ns *ns, const struct nsl_ip *dst,
		 const struct nsl_pmtu_opts *o, struct nsl_pmtu_result *r);

#endif
