/*
 * Queueing disciplines on a link: the impairments of netem (delay, jitter,
 * loss, duplication, reordering, corruption, a queue limit and netem's own
 * rate) and a plain rate limit (tbf), over libnl-route-3.
 *
 * The model is one root qdisc per link, as `tc qdisc replace dev IF root ...`:
 * nsl_qdisc_set() installs exactly the settings given, in one RTM_NEWQDISC
 * with NLM_F_CREATE|NLM_F_REPLACE at the root. The kernel changes a root of
 * the same kind in place (its queue kept) and grafts a new qdisc over one of
 * another kind; since a change keeps what the request leaves out, every
 * netem setting is sent, zeros included. A failed request leaves the link as
 * it was.
 *
 * Which qdisc: any netem setting (or a limit alone) makes a netem qdisc, with
 * netem's rate attribute (TCA_NETEM_RATE, which libnl 3.7 has no setter for:
 * appended to libnl's message by hand) when a rate is given too; a rate alone
 * makes a tbf, which every kernel with traffic control has. tbf counts its
 * queue and bucket in bytes: limit packets become limit x (MTU + 14) bytes;
 * without a limit the queue holds 100 ms at the rate plus the bucket; the
 * bucket (burst) defaults to 10 ms at the rate, at least one full frame.
 *
 * Reading (get, list) parses the kernel's dump itself, because libnl parses
 * neither netem's rate nor its 64-bit delays.
 *
 * Errors: 0 or -errno; a kernel without the qdisc kind answers ENOENT
 * ("Specified qdisc kind is unknown"), reported as -EOPNOTSUPP so callers can
 * tell it from a missing link (-ENODEV).
 */
#ifndef NSLAB_QDISC_H
#define NSLAB_QDISC_H

#include <stdint.h>

struct nsl_ns;

/* The settings, in the order tc prints them. */
enum nsl_qf {
	NSL_QF_LIMIT,		/* packets */
	NSL_QF_DELAY,		/* microseconds */
	NSL_QF_JITTER,
	NSL_QF_DELAY_CORR,	/* probabilities: UINT32_MAX = 100 % */
	NSL_QF_LOSS,
	NSL_QF_LOSS_CORR,
	NSL_QF_DUPLICATE,
	NSL_QF_DUPLICATE_CORR,
	NSL_QF_REORDER,
	NSL_QF_REORDER_CORR,
	NSL_QF_GAP,		/* packets */
	NSL_QF_CORRUPT,
	NSL_QF_CORRUPT_CORR,
	NSL_QF_RATE,		/* bits per second (kept in bytes by the kernel) */
	NSL_QF_BURST,		/* tbf: bytes */
	NSL_QF_LIMIT_BYTES,	/* tbf: the queue in bytes (read, and what set made of limit) */
	NSL_QF_N
};

enum nsl_qunit { NSL_QU_COUNT, NSL_QU_TIME, NSL_QU_PERCENT, NSL_QU_RATE, NSL_QU_BYTES };

struct nsl_qfield {
	const char *name;	/* as scripts write it: "delay", "loss_correlation" */
	enum nsl_qunit unit;
};
extern const struct nsl_qfield nsl_qfields[NSL_QF_N];

#define NSL_QF(f) (1u << (f))
/* The settings of netem; limit is tbf's too. */
#define NSL_QF_NETEM_MASK (NSL_QF(NSL_QF_RATE) - 1)

struct nsl_qdisc {
	char kind[16];		/* "netem", "tbf", or whatever the kernel has */
	uint32_t handle;	/* 0x80010000 is "8001:"; 0 for a default qdisc */
	uint32_t parent;	/* TC_H_ROOT for the root */
	char dev[16];		/* the link's name (list only) */
	unsigned int mask;	/* NSL_QF() of the fields present */
	uint64_t v[NSL_QF_N];
};

/* The longest time and the rate bounds the kernel's 32-bit fields allow. */
#define NSL_QDISC_TIME_MAX_US 100000000ull		/* 100 s */
#define NSL_QDISC_RATE_MIN_BIT 8000ull			/* 1000 bytes/s */
#define NSL_QDISC_RATE_MAX_BIT (8ull * 0x7fffffff)	/* libnl's int bytes/s */

/* 1 when q makes a netem qdisc, 0 a tbf (see above). */
int nsl_qdisc_kind(const struct nsl_qdisc *q);

/* The tbf bucket, queue in bytes and limit in packets for a link of this
 * MTU, put into q as nsl_qdisc_set() installs them; -ERANGE when the bucket
 * takes too long to fill at the rate. */
int nsl_qdisc_tbf_size(struct nsl_qdisc *q, unsigned int mtu);

/* Installs q (mask and v[] set; kind is chosen here and written back, as
 * are the tbf limit and burst it computed) as the root qdisc of dev. */
int nsl_qdisc_set(struct nsl_ns *ns, const char *dev, struct nsl_qdisc *q);

/* The root qdisc of dev: 1 and *out filled, 0 when dev has only its default
 * (handle 0: noqueue, pfifo_fast, mq), or -errno (-ENODEV: no such link). */
int nsl_qdisc_get(struct nsl_ns *ns, const char *dev, struct nsl_qdisc *out);

/* Removes dev's root qdisc: 1 when one was removed, 0 when it had only its
 * default, or -errno. */
int nsl_qdisc_del(struct nsl_ns *ns, const char *dev);

/* Every qdisc of dev (of every link when dev is NULL), in the kernel's order,
 * in a malloc'd array the caller frees. Returns the count or -errno. */
int nsl_qdisc_list(struct nsl_ns *ns, const char *dev, struct nsl_qdisc **out);

#endif
