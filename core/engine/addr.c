/* Adding, deleting and listing IP addresses with libnl-route (rtnl_addr). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <linux/if_addr.h>
#include <linux/rtnetlink.h>
#include <netlink/netlink.h>
#include <netlink/addr.h>
#include <netlink/cache.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>

#include "addr.h"
#include "errors.h"
#include "namespace.h"
#include "netlink.h"

/* iproute2 (ipaddress.c): `brd +` ORs in the host bits, and only for prefixes
 * that leave at least two host bits; /31 and /32 get no broadcast. */
int nsl_addr_auto_brd(const struct nsl_ip *local, unsigned char brd[4])
{
	if (local->family != AF_INET || local->prefixlen < 0 || local->prefixlen > 30)
		return 0;
	memcpy(brd, local->addr, 4);
	for (int bit = local->prefixlen; bit < 32; bit++)
		brd[bit / 8] |= (unsigned char)(0x80 >> (bit % 8));
	return 1;
}

/* iproute2's default_scope(): host for 127/8, global for everything else. */
static int default_scope(const struct nsl_ip *local)
{
	return local->family == AF_INET && local->addr[0] == 127 ? RT_SCOPE_HOST
								   : RT_SCOPE_UNIVERSE;
}

/* The request as libnl's object; the caller puts it. */
static int build(int index, const struct nsl_addr_req *req, struct rtnl_addr **out)
{
	struct rtnl_addr *addr = rtnl_addr_alloc();
	struct nl_addr *local = NULL, *brd = NULL;
	unsigned char autobrd[4];
	int err = -ENOMEM;

	if (!addr || !(local = nsl_nl_addr(&req->local, req->local.prefixlen)))
		goto out;
	rtnl_addr_set_ifindex(addr, index);
	rtnl_addr_set_family(addr, req->local.family);
	if ((err = rtnl_addr_set_local(addr, local)) < 0)
		goto nlerr;
	rtnl_addr_set_prefixlen(addr, req->local.prefixlen);
	rtnl_addr_set_scope(addr, req->scope >= 0 ? req->scope : default_scope(&req->local));
	if (req->local.family == AF_INET6 && req->nodad)
		rtnl_addr_set_flags(addr, IFA_F_NODAD);
	if (req->label && (err = rtnl_addr_set_label(addr, req->label)) < 0)
		goto nlerr;
	if (req->local.family == AF_INET) {
		const unsigned char *b = NULL;
		if (req->brd_mode == NSL_BRD_ADDR)
			b = req->brd;
		else if (req->brd_mode == NSL_BRD_AUTO && nsl_addr_auto_brd(&req->local, autobrd))
			b = autobrd;
		if (b) {
			err = -ENOMEM;
			if (!(brd = nl_addr_build(AF_INET, b, 4)))
				goto out;
			if ((err = rtnl_addr_set_broadcast(addr, brd)) < 0)
				goto nlerr;
		}
	}
	*out = addr;
	addr = NULL;
	err = 0;
	goto out;
nlerr:
	err = -nsl_nlerr_to_errno(err);
out:
	if (brd)
		nl_addr_put(brd);
	if (local)
		nl_addr_put(local);
	if (addr)
		rtnl_addr_put(addr);
	return err;
}

int nsl_addr_add(struct nsl_ns *ns, const char *dev, const struct nsl_addr_req *req)
{
	struct nl_sock *sk;
	struct rtnl_addr *addr = NULL;
	int err, index;

	if ((err = nsl_ns_sock(ns, &sk)) < 0 || (err = nsl_nl_ifindex(sk, dev, &index)) < 0)
		return err;
	if ((err = build(index, req, &addr)) < 0)
		return err;
	err = rtnl_addr_add(sk, addr, NLM_F_CREATE | NLM_F_EXCL);
	rtnl_addr_put(addr);
	return nsl_nl_err(err);
}

int nsl_addr_del(struct nsl_ns *ns, const char *dev, const struct nsl_ip *local)
{
	struct nl_sock *sk;
	struct rtnl_addr *addr;
	struct nl_addr *a;
	int err, index;

	if ((err = nsl_ns_sock(ns, &sk)) < 0 || (err = nsl_nl_ifindex(sk, dev, &index)) < 0)
		return err;
	if (!(addr = rtnl_addr_alloc()))
		return -ENOMEM;
	err = -ENOMEM;
	if (!(a = nsl_nl_addr(local, local->prefixlen)))
		goto out;
	rtnl_addr_set_ifindex(addr, index);
	rtnl_addr_set_family(addr, local->family);
	if ((err = rtnl_addr_set_local(addr, a)) < 0) {
		err = -nsl_nlerr_to_errno(err);
		goto out;
	}
	rtnl_addr_set_prefixlen(addr, local->prefixlen);
	err = nsl_nl_err(rtnl_addr_delete(sk, addr, 0));
out:
	if (a)
		nl_addr_put(a);
	rtnl_addr_put(addr);
	return err;
}

static void from_nl_addr(const struct nl_addr *a, struct nsl_ip *ip)
{
	unsigned len = a ? nl_addr_get_len(a) : 0;

	memset(ip, 0, sizeof *ip);
	ip->family = a ? nl_addr_get_family(a) : AF_UNSPEC;
	if (len > sizeof ip->addr)
		len = sizeof ip->addr;
	if (len)
		memcpy(ip->addr, nl_addr_get_binary_addr(a), len);
	ip->prefixlen = a ? (int)nl_addr_get_prefixlen(a) : -1;
}

struct entry {
	struct nsl_addr_info info;
	int seq;		/* the kernel's order, to keep it among equals */
};

static int cmp_entry(const void *pa, const void *pb)
{
	const struct entry *a = pa, *b = pb;

	if (a->info.index != b->info.index)
		return a->info.index < b->info.index ? -1 : 1;
	if (a->info.local.family != b->info.local.family)
		return a->info.local.family == AF_INET ? -1 : 1;
	return a->seq < b->seq ? -1 : a->seq > b->seq;
}

static void fill(struct rtnl_addr *addr, struct nl_cache *links, struct nsl_addr_info *in)
{
	struct nl_addr *local = rtnl_addr_get_local(addr), *brd;
	const char *label;

	memset(in, 0, sizeof *in);
	in->index = rtnl_addr_get_ifindex(addr);
	if (!rtnl_link_i2name(links, in->index, in->dev, sizeof in->dev))
		in->dev[0] = '\0';
	/* IPv6 addresses without a peer come as IFA_ADDRESS only. */
	from_nl_addr(local ? local : rtnl_addr_get_peer(addr), &in->local);
	in->local.family = rtnl_addr_get_family(addr);
	in->local.prefixlen = rtnl_addr_get_prefixlen(addr);
	brd = rtnl_addr_get_broadcast(addr);
	if (brd && nl_addr_get_family(brd) == AF_INET && nl_addr_get_len(brd) == 4) {
		in->has_brd = 1;
		memcpy(in->brd, nl_addr_get_binary_addr(brd), 4);
	}
	label = rtnl_addr_get_label(addr);
	if (label)
		strncpy(in->label, label, sizeof in->label - 1);
	in->scope = rtnl_addr_get_scope(addr);
	in->flags = rtnl_addr_get_flags(addr);
}

int nsl_addr_list(struct nsl_ns *ns, const char *dev, int family, struct nsl_addr_info **out)
{
	struct nl_sock *sk;
	struct nl_cache *addrs = NULL, *links = NULL;
	struct nl_object *obj;
	struct entry *v = NULL;
	int err, n = 0, cap, index = 0;

	*out = NULL;
	if ((err = nsl_ns_sock(ns, &sk)) < 0)
		return err;
	if (dev && (err = nsl_nl_ifindex(sk, dev, &index)) < 0)
		return err;
	if ((err = rtnl_link_alloc_cache(sk, AF_UNSPEC, &links)) < 0 ||
	    (err = rtnl_addr_alloc_cache(sk, &addrs)) < 0) {
		err = nsl_nl_err(err);
		goto out;
	}
	cap = nl_cache_nitems(addrs);
	if (cap > 0 && !(v = calloc((size_t)cap, sizeof *v))) {
		err = -ENOMEM;
		goto out;
	}
	for (obj = nl_cache_get_first(addrs); obj && n < cap; obj = nl_cache_get_next(obj)) {
		struct rtnl_addr *addr = (struct rtnl_addr *)obj;
		int fam = rtnl_addr_get_family(addr);
		if ((fam != AF_INET && fam != AF_INET6) || (family && fam != family) ||
		    (index && rtnl_addr_get_ifindex(addr) != index))
			continue;
		fill(addr, links, &v[n].info);
		v[n].seq = n;
		n++;
	}
	if (n) {
		struct nsl_addr_info *res = malloc((size_t)n * sizeof *res);
		if (!res) {
			err = -ENOMEM;
			goto out;
		}
		qsort(v, (size_t)n, sizeof *v, cmp_entry);
		for (int i = 0; i < n; i++)
			res[i] = v[i].info;
		*out = res;
	}
	err = n;
out:
	free(v);
	if (addrs)
		nl_cache_free(addrs);
	if (links)
		nl_cache_free(links);
	return err;
}

/* The names <linux/if_addr.h> gives the IFA_F_* bits, as `ip addr` prints them. */
const char *nsl_addr_flag_name(unsigned bit, int family)
{
	switch (bit) {
	case IFA_F_SECONDARY:	return family == AF_INET6 ? "temporary" : "secondary";
	case IFA_F_NODAD:	return "nodad";
	case IFA_F_OPTIMISTIC:	return "optimistic";
	case IFA_F_DADFAILED:	return "dadfailed";
	case IFA_F_HOMEADDRESS:	return "homeaddress";
	case IFA_F_DEPRECATED:	return "deprecated";
	case IFA_F_TENTATIVE:	return "tentative";
	case IFA_F_PERMANENT:	return "permanent";
	case IFA_F_MANAGETEMPADDR: return "mngtmpaddr";
	case IFA_F_NOPREFIXROUTE: return "noprefixroute";
	case IFA_F_MCAUTOJOIN:	return "autojoin";
	case IFA_F_STABLE_PRIVACY: return "stable-privacy";
	default:		return NULL;
	}
}
