/* Traceroute and path MTU discovery over ping runs (see path.h). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "icmp.h"
#include "path.h"

void nsl_trace_opts_init(struct nsl_trace_opts *o)
{
	memset(o, 0, sizeof *o);
	o->max_hops = 30;
	o->queries = 1;
	o->timeout = 1.0;
}

/* What came back for one TTL: the reply, else the first ICMP error (a
 * router's Time Exceeded, or the error that ends the path), else nothing. */
static void read_hop(const struct nsl_ping_result *res, int ttl, struct nsl_trace_hop *h)
{
	memset(h, 0, sizeof *h);
	h->ttl = ttl;
	h->icmp_type = h->icmp_code = -1;
	h->rtt = -1;
	h->kind = NSL_HOP_NONE;
	snprintf(h->message, sizeof h->message, "*");
	if (res->received) {
		h->kind = NSL_HOP_REPLY;
		h->addr = res->replies[0].from;
		h->rtt = res->replies[0].rtt;
		h->answers = res->received;
		snprintf(h->message, sizeof h->message, "Echo reply");
		return;
	}
	for (size_t i = 0; i < res->nerrors; i++) {
		const struct nsl_ping_error *e = &res->errors[i];
		if (h->kind == NSL_HOP_NONE) {
			h->kind = e->kind == NSL_PING_TTL_EXCEEDED ? NSL_HOP_TTL_EXCEEDED : NSL_HOP_ERROR;
			h->error_kind = e->kind;
			h->icmp_type = e->icmp_type;
			h->icmp_code = e->icmp_code;
			h->err = e->err;
			h->addr = e->from;
			h->rtt = e->rtt;
			snprintf(h->message, sizeof h->message, "%s", e->message);
		}
		h->answers++;
	}
}

int nsl_traceroute_run(const struct nsl_ns *ns, const struct nsl_ip *dst,
		       const struct nsl_trace_opts *o, struct nsl_trace_hop *hops,
		       size_t *nhops, int *reached)
{
	struct nsl_ping_opts po[NSL_TRACE_MAX_HOPS];
	struct nsl_ping_req req[NSL_TRACE_MAX_HOPS];
	struct nsl_ping_result res[NSL_TRACE_MAX_HOPS];
	size_t n = (size_t)o->max_hops, end;
	int err;

	*nhops = 0;
	*reached = 0;
	memset(req, 0, sizeof req);
	if (o->max_hops < 1 || o->max_hops > NSL_TRACE_MAX_HOPS || o->queries < 1 ||
	    o->queries > NSL_TRACE_MAX_QUERIES || !(o->timeout > 0))
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		nsl_ping_opts_init(&po[i]);
		po[i].count = o->queries;
		po[i].interval = 0.001;
		po[i].timeout = o->timeout;
		po[i].ttl = (int)i + 1;
		po[i].source = o->source;
		memcpy(po[i].dev, o->dev, sizeof po[i].dev);
		req[i].ns = ns;
		req[i].dst = *dst;
		req[i].opts = &po[i];
	}
	if ((err = nsl_ping_run(req, n, NULL, res)) < 0) {
		nsl_ping_results_free(res, n);
		return err;
	}
	end = n;
	for (size_t i = 0; i < n; i++) {
		read_hop(&res[i], (int)i + 1, &hops[i]);
		if (end == n && (hops[i].kind == NSL_HOP_REPLY || hops[i].kind == NSL_HOP_ERROR)) {
			end = i + 1;
			*reached = hops[i].kind == NSL_HOP_REPLY;
		}
	}
	nsl_ping_results_free(res, n);
	*nhops = end;
	return 0;
}

void nsl_pmtu_opts_init(struct nsl_pmtu_opts *o)
{
	memset(o, 0, sizeof *o);
	o->max = 65535;
	o->timeout = 1.0;
}

/* Sizes are IP packet bytes: echo payload + ICMP header + IP header. */
int nsl_pmtu_run(const struct nsl_ns *ns, const struct nsl_ip *dst,
		 const struct nsl_pmtu_opts *o, struct nsl_pmtu_result *r)
{
	unsigned hdr = dst->family == AF_INET ? 20 + NSL_ICMP_HDRLEN : 40 + NSL_ICMP_HDRLEN;
	unsigned mtu = (unsigned)o->max;
	struct nsl_ping_opts po;
	struct nsl_ping_req req = { ns, *dst, NULL };
	int err;

	memset(r, 0, sizeof *r);
	if (o->max < 68 || o->max > 65535 || !(o->timeout > 0))
		return -EINVAL;
	if (mtu > NSL_PING_MAX_SIZE + hdr)
		mtu = NSL_PING_MAX_SIZE + hdr;
	nsl_ping_opts_init(&po);
	po.df = 1;
	po.timeout = o->timeout;
	po.source = o->source;
	memcpy(po.dev, o->dev, sizeof po.dev);
	/* Each "too big" lowers the size; a dozen steps is more routers than a lab has. */
	while (r->steps < 16) {
		struct nsl_ping_result res;
		const struct nsl_ping_error *e;
		po.size = (int)(mtu - hdr);
		r->steps++;
		if ((err = nsl_ping_run(&req, 1, &po, &res)) < 0) {
			nsl_ping_results_free(&res, 1);
			return err;
		}
		e = res.nerrors ? &res.errors[0] : NULL;
		if (res.received) {
			r->ok = 1;
			r->mtu = mtu;
			snprintf(r->message, sizeof r->message, "%u bytes got through", mtu);
		} else if (e && e->mtu >= hdr && e->mtu < mtu) {
			mtu = e->mtu;
			if (e->kind != NSL_PING_LOCAL)
				r->from = e->from;
		} else {
			snprintf(r->message, sizeof r->message, "%u bytes: %s", mtu,
				 e ? e->message : "no reply");
		}
		nsl_ping_results_free(&res, 1);
		if (r->ok || r->message[0])
			return 0;
	}
	snprintf(r->message, sizeof r->message, "no answer after %u sizes", r->steps);
	return 0;
}
