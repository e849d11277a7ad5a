/* Root qdiscs of a link: netem and tbf set through libnl-route-3, read from the raw dump. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>
#include <netlink/attr.h>
#include <netlink/handlers.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <netlink/socket.h>
#include <netlink/utils.h>
#include <netlink/route/link.h>
#include <netlink/route/qdisc.h>
#include <netlink/route/qdisc/netem.h>
#include <netlink/route/qdisc/tbf.h>

#include "errors.h"
#include "link.h"
#include "namespace.h"
#include "netlink.h"
#include "qdisc.h"

#define ETH_HEADER 14		/* what a frame adds to the MTU on the wire of a veth */
#define TBF_BUCKET_MS 10	/* default bucket: 10 ms of traffic */
#define TBF_QUEUE_MS 100	/* default queue: 100 ms of traffic */

const struct nsl_qfield nsl_qfields[NSL_QF_N] = {
	[NSL_QF_LIMIT] = { "limit", NSL_QU_COUNT },
	[NSL_QF_DELAY] = { "delay", NSL_QU_TIME },
	[NSL_QF_JITTER] = { "jitter", NSL_QU_TIME },
	[NSL_QF_DELAY_CORR] = { "delay_correlation", NSL_QU_PERCENT },
	[NSL_QF_LOSS] = { "loss", NSL_QU_PERCENT },
	[NSL_QF_LOSS_CORR] = { "loss_correlation", NSL_QU_PERCENT },
	[NSL_QF_DUPLICATE] = { "duplicate", NSL_QU_PERCENT },
	[NSL_QF_DUPLICATE_CORR] = { "duplicate_correlation", NSL_QU_PERCENT },
	[NSL_QF_REORDER] = { "reorder", NSL_QU_PERCENT },
	[NSL_QF_REORDER_CORR] = { "reorder_correlation", NSL_QU_PERCENT },
	[NSL_QF_GAP] = { "gap", NSL_QU_COUNT },
	[NSL_QF_CORRUPT] = { "corrupt", NSL_QU_PERCENT },
	[NSL_QF_CORRUPT_CORR] = { "corrupt_correlation", NSL_QU_PERCENT },
	[NSL_QF_RATE] = { "rate", NSL_QU_RATE },
	[NSL_QF_BURST] = { "burst", NSL_QU_BYTES },
	[NSL_QF_LIMIT_BYTES] = { "limit_bytes", NSL_QU_BYTES },
};

static int has(const struct nsl_qdisc *q, enum nsl_qf f)
{
	return (q->mask & NSL_QF(f)) != 0;
}

static void put(struct nsl_qdisc *q, enum nsl_qf f, uint64_t v)
{
	q->mask |= NSL_QF(f);
	q->v[f] = v;
}

/* The link by name, for its index and MTU; a missing one is -ENODEV. */
static int get_link(struct nl_sock *sk, const char *dev, struct rtnl_link **link)
{
	int err;

	if ((err = rtnl_link_get_kernel(sk, 0, dev, link)) < 0) {
		err = nsl_nl_err(err);
		return err == -ENOENT ? -ENODEV : err;
	}
	return 0;
}

/* libnl's setters take ints; the probabilities are the kernel's u32 scale. */
static void fill_netem(struct rtnl_qdisc *qd, const struct nsl_qdisc *q)
{
	if (has(q, NSL_QF_LIMIT))
		rtnl_netem_set_limit(qd, (int)q->v[NSL_QF_LIMIT]);
	if (has(q, NSL_QF_DELAY))
		rtnl_netem_set_delay(qd, (int)q->v[NSL_QF_DELAY]);
	if (has(q, NSL_QF_JITTER))
		rtnl_netem_set_jitter(qd, (int)q->v[NSL_QF_JITTER]);
	if (has(q, NSL_QF_DELAY_CORR))
		rtnl_netem_set_delay_correlation(qd, (int)(uint32_t)q->v[NSL_QF_DELAY_CORR]);
	if (has(q, NSL_QF_LOSS))
		rtnl_netem_set_loss(qd, (int)(uint32_t)q->v[NSL_QF_LOSS]);
	if (has(q, NSL_QF_LOSS_CORR))
		rtnl_netem_set_loss_correlation(qd, (int)(uint32_t)q->v[NSL_QF_LOSS_CORR]);
	if (has(q, NSL_QF_DUPLICATE))
		rtnl_netem_set_duplicate(qd, (int)(uint32_t)q->v[NSL_QF_DUPLICATE]);
	if (has(q, NSL_QF_DUPLICATE_CORR))
		rtnl_netem_set_duplicate_correlation(qd, (int)(uint32_t)q->v[NSL_QF_DUPLICATE_CORR]);
	if (has(q, NSL_QF_REORDER))
		rtnl_netem_set_reorder_probability(qd, (int)(uint32_t)q->v[NSL_QF_REORDER]);
	if (has(q, NSL_QF_REORDER_CORR))
		rtnl_netem_set_reorder_correlation(qd, (int)(uint32_t)q->v[NSL_QF_REORDER_CORR]);
	if (has(q, NSL_QF_GAP))
		rtnl_netem_set_gap(qd, (int)q->v[NSL_QF_GAP]);
	if (has(q, NSL_QF_CORRUPT))
		rtnl_netem_set_corruption_probability(qd, (int)(uint32_t)q->v[NSL_QF_CORRUPT]);
	if (has(q, NSL_QF_CORRUPT_CORR))
		rtnl_netem_set_corruption_correlation(qd, (int)(uint32_t)q->v[NSL_QF_CORRUPT_CORR]);
}

int nsl_qdisc_kind(const struct nsl_qdisc *q)
{
	/* A limit goes with whichever qdisc the rest asks for; alone, netem's. */
	return (q->mask & NSL_QF_NETEM_MASK & ~NSL_QF(NSL_QF_LIMIT)) || !has(q, NSL_QF_RATE);
}

int nsl_qdisc_tbf_size(struct nsl_qdisc *q, unsigned int mtu)
{
	uint64_t bytes = q->v[NSL_QF_RATE] / 8, frame = (uint64_t)mtu + ETH_HEADER, burst, limit;

	burst = has(q, NSL_QF_BURST) ? q->v[NSL_QF_BURST] : bytes * TBF_BUCKET_MS / 1000;
	if (burst < frame && !has(q, NSL_QF_BURST))
		burst = frame;
	if (has(q, NSL_QF_LIMIT))
		limit = q->v[NSL_QF_LIMIT] * frame;
	else
		limit = bytes * TBF_QUEUE_MS / 1000 + burst;
	if (limit > 0x7fffffff)
		limit = 0x7fffffff;	/* 2 GiB: no limit in practice */
	/* The bucket's drain time is a 32-bit count of ticks in the request. */
	if (bytes == 0 || burst > 0x7fffffff ||
	    (double)burst / (double)bytes * nl_us2ticks(1000000) >= 4294967295.0)
		return -ERANGE;
	put(q, NSL_QF_BURST, burst);
	put(q, NSL_QF_LIMIT_BYTES, limit);
	if (!has(q, NSL_QF_LIMIT))
		put(q, NSL_QF_LIMIT, limit / frame);
	return 0;
}

/* Whether the attributes after netem's struct (inside TCA_OPTIONS) have `type`. */
static int netem_has(struct nlattr *opts, int type)
{
	int head = NLA_ALIGN(sizeof(struct tc_netem_qopt)), rem = nla_len(opts) - head;
	struct nlattr *a;

	if (rem <= 0)
		return 0;
	for (a = (struct nlattr *)((char *)nla_data(opts) + head); nla_ok(a, rem); a = nla_next(a, &rem))
		if (nla_type(a) == type)
			return 1;
	return 0;
}

/*
 * sch_netem reads its TCA_OPTIONS as a struct followed by attributes, all
 * inside that one attribute; libnl's netem fill makes TCA_OPTIONS the last
 * attribute and stretches it over the ones it adds. What libnl leaves out is appended
 * after it, and TCA_OPTIONS stretched over it too: the rate
 * (TCA_NETEM_RATE, which libnl 3.7 has no setter for), and the
 * correlations, reordering and corruption libnl omits when they are zero.
 * A change of an existing netem keeps whatever a request does not mention,
 * so every one of them is sent, zero or not.
 */
static int complete_netem(struct nl_msg *msg, const struct nsl_qdisc *q)
{
	struct tc_netem_rate rate = { .rate = (uint32_t)(q->v[NSL_QF_RATE] / 8) };
	struct tc_netem_corr corr = { 0 };
	struct tc_netem_reorder reorder = { 0 };
	struct tc_netem_corrupt corrupt = { 0 };
	struct nlmsghdr *nlh = nlmsg_hdr(msg);
	struct nlattr *opts = nlmsg_find_attr(nlh, sizeof(struct tcmsg), TCA_OPTIONS);
	struct { int type; size_t len; const void *data; } extra[] = {
		{ TCA_NETEM_CORR, sizeof corr, &corr },
		{ TCA_NETEM_REORDER, sizeof reorder, &reorder },
		{ TCA_NETEM_CORRUPT, sizeof corrupt, &corrupt },
		{ TCA_NETEM_RATE, sizeof rate, &rate },
	};

	char *end;

	if (!opts)
		return -EPROTO;
	/* libnl 3.7 counts the attributes inside TCA_OPTIONS twice in
	 * nlmsg_len (zero bytes the kernel warns about): the message really
	 * ends where TCA_OPTIONS does. */
	end = (char *)opts + NLA_ALIGN(opts->nla_len);
	if (end > (char *)nlh + nlh->nlmsg_len)
		return -EPROTO;
	nlh->nlmsg_len = (uint32_t)(end - (char *)nlh);
	for (size_t i = 0; i < sizeof extra / sizeof extra[0]; i++)
		if (!netem_has(opts, extra[i].type) && nla_put(msg, extra[i].type, (int)extra[i].len, extra[i].data) < 0)
			return -EMSGSIZE;
	opts->nla_len = (uint16_t)((char *)nlh + NLMSG_ALIGN(nlh->nlmsg_len) - (char *)opts);
	return 0;
}

int nsl_qdisc_set(struct nsl_ns *ns, const char *dev, struct nsl_qdisc *q)
{
	int netem = nsl_qdisc_kind(q);
	struct rtnl_link *link = NULL;
	struct rtnl_qdisc *qd = NULL;
	struct nl_msg *msg = NULL;
	struct nl_sock *sk;
	int err;

	if (!q->mask || (netem && has(q, NSL_QF_BURST)))
		return -EINVAL;
	strcpy(q->kind, netem ? "netem" : "tbf");
	if ((err = nsl_ns_sock(ns, &sk)) < 0 || (err = get_link(sk, dev, &link)) < 0)
		return err;
	err = -ENOMEM;
	if (!(qd = rtnl_qdisc_alloc()))
		goto out;
	rtnl_tc_set_link(TC_CAST(qd), link);
	rtnl_tc_set_parent(TC_CAST(qd), TC_H_ROOT);
	if (rtnl_tc_set_kind(TC_CAST(qd), q->kind) < 0) {
		err = -EOPNOTSUPP;	/* this libnl was built without the kind */
		goto out;
	}
	if (netem) {
		fill_netem(qd, q);
	} else {
		if ((err = nsl_qdisc_tbf_size(q, rtnl_link_get_mtu(link))) < 0)
			goto out;
		rtnl_qdisc_tbf_set_rate(qd, (int)(q->v[NSL_QF_RATE] / 8), (int)q->v[NSL_QF_BURST], 0);
		rtnl_qdisc_tbf_set_limit(qd, (int)q->v[NSL_QF_LIMIT_BYTES]);
	}
	if ((err = rtnl_qdisc_build_add_request(qd, NLM_F_CREATE | NLM_F_REPLACE, &msg)) < 0) {
		err = -nsl_nlerr_to_errno(err);
		goto out;
	}
	if (netem && (err = complete_netem(msg, q)) < 0)
		goto out;
	err = nl_send_sync(sk, msg);	/* frees msg */
	msg = NULL;
	if (err < 0)
		err = nsl_nl_err(err);
	if (err == -ENOENT)
		err = -EOPNOTSUPP;	/* "Specified qdisc kind is unknown" */
out:
	if (msg)
		nlmsg_free(msg);
	if (qd)
		rtnl_qdisc_put(qd);
	rtnl_link_put(link);
	return err;
}

/* ---- reading: the RTM_GETQDISC dump, parsed here ---- */

struct dump {
	int ifindex;			/* 0: every link */
	const struct nsl_link_info *links;	/* for names and MTUs */
	int nlinks;
	struct nsl_nl_vec qdiscs;
};

static uint64_t ticks_to_us(uint32_t ticks)
{
	return (uint64_t)((double)ticks * 1e6 / nl_us2ticks(1000000) + 0.5);
}

static uint64_t ns_to_us(int64_t ns)
{
	return ns <= 0 ? 0 : (uint64_t)(ns + 500) / 1000;
}

/* Only what differs from a plain netem is reported, except the limit. */
static void put_nonzero(struct nsl_qdisc *q, enum nsl_qf f, uint64_t v)
{
	if (v)
		put(q, f, v);
}

static void parse_netem(struct nsl_qdisc *q, struct nlattr *opts)
{
	struct nlattr *tb[TCA_NETEM_MAX + 1];
	struct tc_netem_qopt qopt;
	int len = nla_len(opts), head = NLA_ALIGN(sizeof qopt);
	uint64_t delay, jitter;

	if (len < (int)sizeof qopt)
		return;
	memcpy(&qopt, nla_data(opts), sizeof qopt);
	memset(tb, 0, sizeof tb);
	if (len > head)
		nla_parse(tb, TCA_NETEM_MAX, (struct nlattr *)((char *)nla_data(opts) + head), len - head, NULL);
	put(q, NSL_QF_LIMIT, qopt.limit);
	delay = tb[TCA_NETEM_LATENCY64] ? ns_to_us(nla_get_s64(tb[TCA_NETEM_LATENCY64])) : ticks_to_us(qopt.latency);
	jitter = tb[TCA_NETEM_JITTER64] ? ns_to_us(nla_get_s64(tb[TCA_NETEM_JITTER64])) : ticks_to_us(qopt.jitter);
	if (delay || jitter)
		put(q, NSL_QF_DELAY, delay);
	put_nonzero(q, NSL_QF_JITTER, jitter);
	put_nonzero(q, NSL_QF_LOSS, qopt.loss);
	put_nonzero(q, NSL_QF_DUPLICATE, qopt.duplicate);
	if (tb[TCA_NETEM_CORR] && nla_len(tb[TCA_NETEM_CORR]) >= (int)sizeof(struct tc_netem_corr)) {
		struct tc_netem_corr c;
		memcpy(&c, nla_data(tb[TCA_NETEM_CORR]), sizeof c);
		put_nonzero(q, NSL_QF_DELAY_CORR, c.delay_corr);
		put_nonzero(q, NSL_QF_LOSS_CORR, c.loss_corr);
		put_nonzero(q, NSL_QF_DUPLICATE_CORR, c.dup_corr);
	}
	if (qopt.gap && tb[TCA_NETEM_REORDER] &&
	    nla_len(tb[TCA_NETEM_REORDER]) >= (int)sizeof(struct tc_netem_reorder)) {
		struct tc_netem_reorder r;
		memcpy(&r, nla_data(tb[TCA_NETEM_REORDER]), sizeof r);
		put_nonzero(q, NSL_QF_REORDER, r.probability);
		put_nonzero(q, NSL_QF_REORDER_CORR, r.correlation);
		put(q, NSL_QF_GAP, qopt.gap);
	}
	if (tb[TCA_NETEM_CORRUPT] && nla_len(tb[TCA_NETEM_CORRUPT]) >= (int)sizeof(struct tc_netem_corrupt)) {
		struct tc_netem_corrupt c;
		memcpy(&c, nla_data(tb[TCA_NETEM_CORRUPT]), sizeof c);
		put_nonzero(q, NSL_QF_CORRUPT, c.probability);
		put_nonzero(q, NSL_QF_CORRUPT_CORR, c.correlation);
	}
	if (tb[TCA_NETEM_RATE64])
		put_nonzero(q, NSL_QF_RATE, nla_get_u64(tb[TCA_NETEM_RATE64]) * 8);
	else if (tb[TCA_NETEM_RATE] && nla_len(tb[TCA_NETEM_RATE]) >= (int)sizeof(struct tc_netem_rate)) {
		struct tc_netem_rate r;
		memcpy(&r, nla_data(tb[TCA_NETEM_RATE]), sizeof r);
		put_nonzero(q, NSL_QF_RATE, (uint64_t)r.rate * 8);
	}
}

/* The bucket comes back as its drain time in ticks: bytes = time x rate. */
static void parse_tbf(struct nsl_qdisc *q, struct nlattr *opts, unsigned int mtu)
{
	struct nlattr *tb[TCA_TBF_MAX + 1];
	struct tc_tbf_qopt p;
	uint64_t bytes;

	if (nla_parse_nested(tb, TCA_TBF_MAX, opts, NULL) < 0 || !tb[TCA_TBF_PARMS] ||
	    nla_len(tb[TCA_TBF_PARMS]) < (int)sizeof p)
		return;
	memcpy(&p, nla_data(tb[TCA_TBF_PARMS]), sizeof p);
	bytes = tb[TCA_TBF_RATE64] ? nla_get_u64(tb[TCA_TBF_RATE64]) : p.rate.rate;
	put(q, NSL_QF_RATE, bytes * 8);
	put(q, NSL_QF_BURST, (uint64_t)((double)p.buffer * (double)bytes / nl_us2ticks(1000000) + 0.5));
	put(q, NSL_QF_LIMIT_BYTES, p.limit);
	put(q, NSL_QF_LIMIT, p.limit / ((uint64_t)mtu + ETH_HEADER));
}

static const struct nsl_link_info *link_of(const struct dump *d, int index)
{
	for (int i = 0; i < d->nlinks; i++)
		if (d->links[i].index == index)
			return &d->links[i];
	return NULL;
}

static int on_qdisc(struct nl_msg *msg, void *arg)
{
	struct dump *d = arg;
	struct nlmsghdr *nlh = nlmsg_hdr(msg);
	struct tcmsg *tcm = nlmsg_data(nlh);
	struct nlattr *tb[TCA_MAX + 1];
	const struct nsl_link_info *li;
	struct nsl_qdisc *q;

	if (nlh->nlmsg_type != RTM_NEWQDISC || (d->ifindex && tcm->tcm_ifindex != d->ifindex))
		return NL_OK;
	if (nlmsg_parse(nlh, sizeof *tcm, tb, TCA_MAX, NULL) < 0 || !tb[TCA_KIND])
		return NL_OK;
	if (!(q = nsl_nl_vec_add(&d->qdiscs, sizeof *q)))
		return NL_OK;
	nla_strlcpy(q->kind, tb[TCA_KIND], sizeof q->kind);
	q->handle = tcm->tcm_handle;
	q->parent = tcm->tcm_parent;
	li = link_of(d, tcm->tcm_ifindex);
	if (li)
		memcpy(q->dev, li->name, sizeof q->dev);
	if (tb[TCA_OPTIONS] && strcmp(q->kind, "netem") == 0)
		parse_netem(q, tb[TCA_OPTIONS]);
	else if (tb[TCA_OPTIONS] && strcmp(q->kind, "tbf") == 0 && li)
		parse_tbf(q, tb[TCA_OPTIONS], li->mtu);
	return NL_OK;
}

int nsl_qdisc_list(struct nsl_ns *ns, const char *dev, struct nsl_qdisc **out)
{
	struct tcmsg tcm = { .tcm_family = AF_UNSPEC };
	struct dump d = { 0 };
	struct nsl_link_info *links = NULL;
	struct nl_sock *sk;
	int err;

	*out = NULL;
	if ((err = nsl_link_list(ns, &links)) < 0)
		goto out;
	d.links = links;
	d.nlinks = err;
	if (dev) {
		for (int i = 0; i < d.nlinks && !d.ifindex; i++)
			if (strcmp(links[i].name, dev) == 0)
				d.ifindex = links[i].index;
		if (!d.ifindex) {
			err = -ENODEV;
			goto out;
		}
	}
	if ((err = nsl_ns_sock(ns, &sk)) < 0)
		goto out;
	tcm.tcm_ifindex = d.ifindex;
	if ((err = nsl_nl_dump_vec(sk, RTM_GETQDISC, &tcm, sizeof tcm, on_qdisc, &d, &d.qdiscs)) >= 0)
		*out = d.qdiscs.v;
out:
	free(links);
	return err;
}

int nsl_qdisc_get(struct nsl_ns *ns, const char *dev, struct nsl_qdisc *out)
{
	struct nsl_qdisc *v;
	int n, found = 0;

	if ((n = nsl_qdisc_list(ns, dev, &v)) < 0)
		return n;
	for (int i = 0; i < n && !found; i++) {
		if (v[i].parent == TC_H_ROOT && v[i].handle != 0) {
			*out = v[i];
			found = 1;
		}
	}
	free(v);
	return found;
}

int nsl_qdisc_del(struct nsl_ns *ns, const char *dev)
{
	struct nsl_qdisc cur;
	struct rtnl_qdisc *qd;
	struct nl_sock *sk;
	int err, index;

	if ((err = nsl_qdisc_get(ns, dev, &cur)) <= 0)
		return err;
	if ((err = nsl_ns_sock(ns, &sk)) < 0 || (err = nsl_nl_ifindex(sk, dev, &index)) < 0)
		return err;
	if (!(qd = rtnl_qdisc_alloc()))
		return -ENOMEM;
	rtnl_tc_set_ifindex(TC_CAST(qd), index);
	rtnl_tc_set_parent(TC_CAST(qd), TC_H_ROOT);
	err = rtnl_qdisc_delete(sk, qd);
	rtnl_qdisc_put(qd);
	if (err < 0)
		return nsl_nl_err(err);
	return 1;
}
