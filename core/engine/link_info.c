/* Reading links: one by name (a single RTM_GETLINK) or all (one dump), as plain structs. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <net/if.h>
#include <linux/if.h>
#include <netlink/netlink.h>
#include <netlink/addr.h>
#include <netlink/cache.h>
#include <netlink/msg.h>
#include <netlink/attr.h>
#include <linux/rtnetlink.h>
#include <netlink/route/link.h>

#include "link.h"
#include "namespace.h"
#include "netlink.h"

const char *const nsl_link_stat_names[NSL_LINK_NSTATS + 1] = {
	[NSL_STAT_RX_PACKETS] = "rx_packets",
	[NSL_STAT_TX_PACKETS] = "tx_packets",
	[NSL_STAT_RX_BYTES] = "rx_bytes",
	[NSL_STAT_TX_BYTES] = "tx_bytes",
	[NSL_STAT_RX_ERRORS] = "rx_errors",
	[NSL_STAT_TX_ERRORS] = "tx_errors",
	[NSL_STAT_RX_DROPPED] = "rx_dropped",
	[NSL_STAT_TX_DROPPED] = "tx_dropped",
	[NSL_LINK_NSTATS] = NULL,
};

static const rtnl_link_stat_id_t stat_ids[NSL_LINK_NSTATS] = {
	[NSL_STAT_RX_PACKETS] = RTNL_LINK_RX_PACKETS,
	[NSL_STAT_TX_PACKETS] = RTNL_LINK_TX_PACKETS,
	[NSL_STAT_RX_BYTES] = RTNL_LINK_RX_BYTES,
	[NSL_STAT_TX_BYTES] = RTNL_LINK_TX_BYTES,
	[NSL_STAT_RX_ERRORS] = RTNL_LINK_RX_ERRORS,
	[NSL_STAT_TX_ERRORS] = RTNL_LINK_TX_ERRORS,
	[NSL_STAT_RX_DROPPED] = RTNL_LINK_RX_DROPPED,
	[NSL_STAT_TX_DROPPED] = RTNL_LINK_TX_DROPPED,
};

/* The order `ip link` prints them in (print_link_flags in iproute2). */
const struct nsl_flag_name nsl_link_flag_names[] = {
	{ IFF_LOOPBACK, "LOOPBACK" },
	{ IFF_BROADCAST, "BROADCAST" },
	{ IFF_POINTOPOINT, "POINTOPOINT" },
	{ IFF_MULTICAST, "MULTICAST" },
	{ IFF_NOARP, "NOARP" },
	{ IFF_ALLMULTI, "ALLMULTI" },
	{ IFF_PROMISC, "PROMISC" },
	{ IFF_MASTER, "MASTER" },
	{ IFF_SLAVE, "SLAVE" },
	{ IFF_DEBUG, "DEBUG" },
	{ IFF_DYNAMIC, "DYNAMIC" },
	{ IFF_AUTOMEDIA, "AUTOMEDIA" },
	{ IFF_PORTSEL, "PORTSEL" },
	{ IFF_NOTRAILERS, "NOTRAILERS" },
	{ IFF_UP, "UP" },
	{ IFF_LOWER_UP, "LOWER_UP" },
	{ IFF_DORMANT, "DORMANT" },
	{ IFF_ECHO, "ECHO" },
	{ 0, NULL }
};

const char *nsl_link_operstate_name(int operstate)
{
	static const char *const names[] = {
		[IF_OPER_UNKNOWN] = "UNKNOWN",
		[IF_OPER_NOTPRESENT] = "NOTPRESENT",
		[IF_OPER_DOWN] = "DOWN",
		[IF_OPER_LOWERLAYERDOWN] = "LOWERLAYERDOWN",
		[IF_OPER_TESTING] = "TESTING",
		[IF_OPER_DORMANT] = "DORMANT",
		[IF_OPER_UP] = "UP",
	};

	if (operstate < 0 || operstate >= (int)(sizeof names / sizeof names[0]) || !names[operstate])
		return "UNKNOWN";
	return names[operstate];
}

static void copy_str(char *dst, size_t size, const char *src)
{
	size_t n = src ? strlen(src) : 0;

	if (n >= size)
		n = size - 1;
	memcpy(dst, src ? src : "", n);
	dst[n] = '\0';
}

/* "aa:bb:..." of n bytes, cut to what fits in size. */
static void format_hw(char *dst, size_t size, const unsigned char *b, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	size_t i, o = 0;

	for (i = 0; i < n && o + 3 <= size; i++) {
		if (i)
			dst[o++] = ':';
		dst[o++] = hex[b[i] >> 4];
		dst[o++] = hex[b[i] & 15];
	}
	dst[o < size ? o : size - 1] = '\0';
}

static void format_mac(char *dst, size_t size, struct nl_addr *a)
{
	dst[0] = '\0';
	if (a && nl_addr_get_len(a) > 0)
		format_hw(dst, size, nl_addr_get_binary_addr(a), nl_addr_get_len(a));
}

static void fill(struct nsl_link_info *out, struct rtnl_link *link)
{
	int32_t nsid;

	memset(out, 0, sizeof *out);
	out->index = rtnl_link_get_ifindex(link);
	copy_str(out->name, sizeof out->name, rtnl_link_get_name(link));
	copy_str(out->kind, sizeof out->kind, rtnl_link_get_type(link));
	out->flags = rtnl_link_get_flags(link);
	out->operstate = rtnl_link_get_operstate(link);
	out->mtu = rtnl_link_get_mtu(link);
	format_mac(out->mac, sizeof out->mac, rtnl_link_get_addr(link));
	out->master_index = rtnl_link_get_master(link);
	out->link_index = rtnl_link_get_link(link);
	if (rtnl_link_get_link_netnsid(link, &nsid) == 0) {
		out->has_peer_netnsid = 1;
		out->peer_netnsid = nsid;
	}
	copy_str(out->alias, sizeof out->alias, rtnl_link_get_ifalias(link));
	for (int i = 0; i < NSL_LINK_NSTATS; i++)
		out->stats[i] = rtnl_link_get_stat(link, stat_ids[i]);
}

/* One RTM_GETLINK by index or name; a missing link is -ENODEV. */
static int get_one(struct nsl_ns *ns, int index, const char *name, struct rtnl_link **link)
{
	struct nl_sock *sk;
	int err;

	if ((err = nsl_ns_sock(ns, &sk)) < 0)
		return err;
	if ((err = rtnl_link_get_kernel(sk, index, name, link)) < 0) {
		err = nsl_nl_err(err);
		return err == -ENOENT ? -ENODEV : err;
	}
	return 0;
}

int nsl_link_get(struct nsl_ns *ns, const char *name, struct nsl_link_info *out)
{
	struct rtnl_link *link = NULL;
	struct nl_sock *sk;
	char master[IFNAMSIZ];
	int err;

	if ((err = get_one(ns, 0, name, &link)) < 0)
		return err;
	fill(out, link);
	rtnl_link_put(link);
	/* Only its name: a getlink of a bridge is a big message, and the
	 * carrier wait reads every port. The master may vanish in between:
	 * then the name stays "". */
	if (out->master_index && nsl_ns_sock(ns, &sk) == 0 &&
	    nsl_nl_ifname(sk, out->master_index, master) == 0)
		copy_str(out->master, sizeof out->master, master);
	return 0;
}

/* The carrier wait reads every end of a lab's links: libnl's parse of a
 * whole link, its statistics and the table made of it cost about 50 us a
 * read (doc/bench.md), and this needs five fields. (Two ioctls would be
 * cheaper still, but read the operstate before the kernel has updated it:
 * a veth brought up while its peer was down says RUNNING until linkwatch
 * runs; since 6.7 RTM_GETLINK updates it first, for link_get as here.) */
static int state_valid(struct nl_msg *msg, void *arg)
{
	struct nsl_link_state *out = arg;
	struct nlmsghdr *h = nlmsg_hdr(msg);
	struct nlattr *tb[IFLA_MAX + 1];
	const struct ifinfomsg *ifi;

	if (h->nlmsg_type != RTM_NEWLINK || nlmsg_parse(h, sizeof *ifi, tb, IFLA_MAX, NULL) < 0)
		return NL_SKIP;
	ifi = nlmsg_data(h);
	out->flags = ifi->ifi_flags;
	if (tb[IFLA_OPERSTATE])
		out->operstate = nla_get_u8(tb[IFLA_OPERSTATE]);
	if (tb[IFLA_ADDRESS] && nla_len(tb[IFLA_ADDRESS]) > 0)
		format_hw(out->mac, sizeof out->mac, nla_data(tb[IFLA_ADDRESS]),
			  (size_t)nla_len(tb[IFLA_ADDRESS]));
	return NL_OK;
}

int nsl_link_state(struct nsl_ns *ns, const char *name, struct nsl_link_state *out)
{
	struct ifinfomsg ifi = { .ifi_family = AF_UNSPEC };
	struct nl_sock *sk;
	struct nl_msg *msg;
	int err;

	memset(out, 0, sizeof *out);
	if ((err = nsl_ns_sock(ns, &sk)) < 0)
		return err;
	if (!(msg = nlmsg_alloc_simple(RTM_GETLINK, 0)))
		return -ENOMEM;
	if (nlmsg_append(msg, &ifi, sizeof ifi, NLMSG_ALIGNTO) < 0 ||
	    nla_put_string(msg, IFLA_IFNAME, name) < 0 ||
	    nla_put_u32(msg, IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS) < 0) {
		nlmsg_free(msg);
		return -ENOMEM;
	}
	/* The reply, then its ack; a missing link is an error instead of both. */
	if ((err = nsl_nl_dump_msg(sk, msg, state_valid, out)) == 0)
		err = nsl_nl_err(nl_wait_for_ack(sk));
	nlmsg_free(msg);
	return err;
}

static int by_index(const void *a, const void *b)
{
	const struct nsl_link_info *x = a, *y = b;

	return (x->index > y->index) - (x->index < y->index);
}

int nsl_link_list(struct nsl_ns *ns, struct nsl_link_info **out)
{
	struct nl_cache *cache = NULL;
	struct nl_object *obj;
	struct nsl_link_info *v, key, *m;
	struct nl_sock *sk;
	int err, n = 0;

	*out = NULL;
	if ((err = nsl_ns_sock(ns, &sk)) < 0)
		return err;
	if ((err = rtnl_link_alloc_cache(sk, AF_UNSPEC, &cache)) < 0)
		return nsl_nl_err(err);
	v = calloc((size_t)nl_cache_nitems(cache) + 1, sizeof *v);
	if (!v) {
		nl_cache_free(cache);
		return -ENOMEM;
	}
	for (obj = nl_cache_get_first(cache); obj; obj = nl_cache_get_next(obj))
		fill(&v[n++], (struct rtnl_link *)obj);
	nl_cache_free(cache);
	qsort(v, (size_t)n, sizeof *v, by_index);
	for (int i = 0; i < n; i++) {
		if (!v[i].master_index)
			continue;
		key.index = v[i].master_index;
		if ((m = bsearch(&key, v, (size_t)n, sizeof *v, by_index)))
			memcpy(v[i].master, m->name, sizeof v[i].master);
	}
	*out = v;
	return n;
}
