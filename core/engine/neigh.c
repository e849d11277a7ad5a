/* Neighbour (ARP/NDP) entries and bridge FDB entries over rtnl_neigh. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <linux/neighbour.h>
#include <linux/rtnetlink.h>
#include <netlink/netlink.h>
#include <netlink/msg.h>
#include <netlink/attr.h>
#include <netlink/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/neighbour.h>

#include "errors.h"
#include "namespace.h"
#include "neigh.h"
#include "netlink.h"

/* Deletes sent before their acks are read: small enough that the acks fit in
 * the socket's receive buffer, large enough to save the round trips. */
#define DELETE_BATCH 256

struct dump_ctx {
	struct nsl_nl_vec entries;	/* err: the first local failure */
	int ifindex;		/* keep only this device (0: any) */
	int fdb_dev;		/* FDB: keep entries on this port or of this bridge */
	int skip_states;	/* NUD_* bits of entries to leave out */
};

static void copy_addr(struct nsl_neigh *e, struct rtnl_neigh *nb)
{
	struct nl_addr *a = rtnl_neigh_get_dst(nb);
	unsigned int len;

	if (a && (nl_addr_get_family(a) == AF_INET || nl_addr_get_family(a) == AF_INET6)) {
		len = nl_addr_get_len(a);
		if (len == 4 || len == 16) {
			e->dst.family = nl_addr_get_family(a);
			e->dst.prefixlen = -1;
			memcpy(e->dst.addr, nl_addr_get_binary_addr(a), len);
		}
	}
	a = rtnl_neigh_get_lladdr(nb);
	if (a) {
		len = nl_addr_get_len(a);
		if (len > 0 && len <= NSL_LLADDR_MAX) {
			memcpy(e->lladdr, nl_addr_get_binary_addr(a), len);
			e->lladdr_len = (int)len;
		}
	}
}

/* One entry of the dump. Never NL_STOP: the rest of the dump must still be
 * read, or it would be taken for the answer to the next request. */
static int on_neigh(struct nl_msg *msg, void *arg)
{
	struct dump_ctx *c = arg;
	struct rtnl_neigh *nb = NULL;
	struct nsl_neigh *e;
	int ifindex, master;

	if (c->entries.err)
		return NL_SKIP;
	if (rtnl_neigh_parse(nlmsg_hdr(msg), &nb) < 0) {
		c->entries.err = -EPROTO;
		return NL_SKIP;
	}
	ifindex = rtnl_neigh_get_ifindex(nb);
	master = rtnl_neigh_get_master(nb);
	if ((c->ifindex && ifindex != c->ifindex) ||
	    (c->fdb_dev && ifindex != c->fdb_dev && master != c->fdb_dev) ||
	    (rtnl_neigh_get_state(nb) & c->skip_states))
		goto out;
	if (!(e = nsl_nl_vec_add(&c->entries, sizeof *e)))
		goto out;
	e->family = rtnl_neigh_get_family(nb);
	e->ifindex = ifindex;
	e->master_index = master > 0 ? master : 0;
	e->state = rtnl_neigh_get_state(nb);
	e->flags = rtnl_neigh_get_flags(nb);
	e->vlan = rtnl_neigh_get_vlan(nb);
	copy_addr(e, nb);
out:
	rtnl_neigh_put(nb);
	return NL_OK;
}

/* RTM_GETNEIGH dump of one family; for ARP/NDP the kernel filters by device
 * (NDA_IFINDEX). An ndmsg header of exactly its size is what both the
 * neighbour and the bridge FDB dumps accept without strict checking. */
static int dump(struct nl_sock *sk, int family, int ifindex, struct dump_ctx *c)
{
	struct ndmsg ndm = { .ndm_family = (unsigned char)family };
	struct nl_msg *msg;
	int err;

	if (!(msg = nlmsg_alloc_simple(RTM_GETNEIGH, NLM_F_DUMP)))
		return -ENOMEM;
	if (nlmsg_append(msg, &ndm, sizeof ndm, NLMSG_ALIGNTO) < 0 ||
	    (ifindex && nla_put_u32(msg, NDA_IFINDEX, (uint32_t)ifindex) < 0))
		err = -ENOMEM;
	else if ((err = nsl_nl_dump_msg(sk, msg, on_neigh, c)) == 0)
		err = c->entries.err;
	nlmsg_free(msg);
	return err;
}

/* Names for the devices and masters, from one link dump. */
static int name_devices(struct nl_sock *sk, struct nsl_neigh *v, int n)
{
	struct nl_cache *links = NULL;
	int err;

	if (n == 0)
		return 0;
	if ((err = rtnl_link_alloc_cache(sk, AF_UNSPEC, &links)) < 0)
		return nsl_nl_err(err);
	for (int i = 0; i < n; i++) {
		rtnl_link_i2name(links, v[i].ifindex, v[i].dev, sizeof v[i].dev);
		if (v[i].master_index)
			rtnl_link_i2name(links, v[i].master_index, v[i].master, sizeof v[i].master);
	}
	nl_cache_free(links);
	return 0;
}

/* The selected ARP and NDP entries, unnamed; the socket is the caller's. */
static int collect(struct nl_sock *sk, const struct nsl_neigh_sel *sel, int skip_states,
		   struct dump_ctx *c)
{
	int err = 0;

	memset(c, 0, sizeof *c);
	c->skip_states = skip_states;
	if (sel->dev && (err = nsl_nl_ifindex(sk, sel->dev, &c->ifindex)) < 0)
		return err;
	if (sel->family != AF_INET6)
		err = dump(sk, AF_INET, c->ifindex, c);
	if (err == 0 && sel->family != AF_INET)
		err = dump(sk, AF_INET6, c->ifindex, c);
	return err;
}

int nsl_neigh_list(struct nsl_ns *ns, const struct nsl_neigh_sel *sel, struct nsl_neigh **out)
{
	struct nl_sock *sk;
	struct dump_ctx c;
	int err;

	*out = NULL;
	if ((err = nsl_ns_sock(ns, &sk)) < 0)
		return err;
	/* As `ip neigh show`: the kernel's NOARP entries (multicast) only on request. */
	if ((err = collect(sk, sel, sel->all ? 0 : NUD_NOARP, &c)) < 0 ||
	    (err = name_devices(sk, c.entries.v, c.entries.n)) < 0) {
		free(c.entries.v);
		return err;
	}
	*out = c.entries.v;
	return c.entries.n;
}

/* The request shared by add and delete: device, destination, family. */
static int build(struct nl_sock *sk, const char *dev, const struct nsl_ip *ip,
		 struct rtnl_neigh **out)
{
	struct rtnl_neigh *nb;
	struct nl_addr *dst;
	int index, err;

	if ((err = nsl_nl_ifindex(sk, dev, &index)) < 0)
		return err;
	if (!(nb = rtnl_neigh_alloc()))
		return -ENOMEM;
	if (!(dst = nl_addr_build(ip->family, ip->addr, (size_t)nsl_ip_addrlen(ip)))) {
		rtnl_neigh_put(nb);
		return -ENOMEM;
	}
	rtnl_neigh_set_ifindex(nb, index);
	err = rtnl_neigh_set_dst(nb, dst);	/* also sets the family */
	nl_addr_put(dst);
	if (err < 0) {
		rtnl_neigh_put(nb);
		return -nsl_nlerr_to_errno(err);
	}
	*out = nb;
	return 0;
}

int nsl_neigh_add(struct nsl_ns *ns, const char *dev, const struct nsl_ip *ip,
		  const unsigned char mac[6], int replace)
{
	struct nl_sock *sk;
	struct rtnl_neigh *nb = NULL;
	struct nl_addr *ll = NULL;
	int err;

	if ((err = nsl_ns_sock(ns, &sk)) < 0 || (err = build(sk, dev, ip, &nb)) < 0)
		return err;
	if (!(ll = nl_addr_build(AF_LLC, mac, 6))) {
		err = -ENOMEM;
		goto out;
	}
	rtnl_neigh_set_lladdr(nb, ll);
	rtnl_neigh_set_state(nb, NUD_PERMANENT);
	if ((err = rtnl_neigh_add(sk, nb, NLM_F_CREATE | (replace ? NLM_F_REPLACE : NLM_F_EXCL))) < 0)
		err = nsl_nl_err(err);
out:
	nl_addr_put(ll);
	rtnl_neigh_put(nb);
	return err;
}

int nsl_neigh_del(struct nsl_ns *ns, const char *dev, const struct nsl_ip *ip)
{
	struct nl_sock *sk;
	struct rtnl_neigh *nb;
	int err;

	if ((err = nsl_ns_sock(ns, &sk)) < 0 || (err = build(sk, dev, ip, &nb)) < 0)
		return err;
	if ((err = rtnl_neigh_delete(sk, nb, 0)) < 0)
		err = nsl_nl_err(err);
	rtnl_neigh_put(nb);
	return err;
}

static int send_delete(struct nl_sock *sk, const struct nsl_neigh *e)
{
	struct rtnl_neigh *nb;
	struct nl_addr *dst;
	struct nl_msg *msg = NULL;
	int err;

	if (!(nb = rtnl_neigh_alloc()))
		return -ENOMEM;
	if (!(dst = nl_addr_build(e->dst.family, e->dst.addr, (size_t)nsl_ip_addrlen(&e->dst)))) {
		err = -ENOMEM;
		goto out;
	}
	rtnl_neigh_set_ifindex(nb, e->ifindex);
	err = rtnl_neigh_set_dst(nb, dst);
	nl_addr_put(dst);
	if (err < 0 || (err = rtnl_neigh_build_delete_request(nb, 0, &msg)) < 0) {
		err = -nsl_nlerr_to_errno(err);
		goto out;
	}
	if ((err = nl_send_auto(sk, msg)) < 0)
		err = nsl_nl_err(err);
	else
		err = 0;
out:
	nlmsg_free(msg);
	rtnl_neigh_put(nb);
	return err;
}

/*
 * Batches of deletes, then their acks in order (a netlink socket answers in
 * order). ENOENT means the entry went away by itself since the dump: not an
 * error and not counted. Every ack of a batch is read even after a failure,
 * so none is left to confuse the next request.
 */
static int delete_all(struct nl_sock *sk, const struct nsl_neigh *v, int n)
{
	int removed = 0, first_err = 0;

	for (int i = 0; i < n && !first_err; i += DELETE_BATCH) {
		int sent = 0, err;
		for (int j = i; j < n && j < i + DELETE_BATCH; j++) {
			if ((err = send_delete(sk, &v[j])) < 0) {
				first_err = err;
				break;
			}
			sent++;
		}
		while (sent-- > 0) {
			err = nl_wait_for_ack(sk);
			if (err >= 0)
				removed++;
			else if ((err = nsl_nl_err(err)) != -ENOENT && !first_err)
				first_err = err;
		}
	}
	return first_err ? first_err : removed;
}

int nsl_neigh_flush(struct nsl_ns *ns, const struct nsl_neigh_sel *sel)
{
	struct nl_sock *sk;
	struct dump_ctx c;
	int err;

	if ((err = nsl_ns_sock(ns, &sk)) < 0)
		return err;
	/* As `ip neigh flush`: static entries stay unless asked for. */
	if ((err = collect(sk, sel, sel->all ? 0 : NUD_PERMANENT | NUD_NOARP, &c)) == 0)
		err = delete_all(sk, c.entries.v, c.entries.n);
	free(c.entries.v);
	return err;
}

int nsl_fdb_list(struct nsl_ns *ns, const char *dev, struct nsl_neigh **out)
{
	struct nl_sock *sk;
	struct dump_ctx c;
	int err;

	*out = NULL;
	memset(&c, 0, sizeof c);
	if ((err = nsl_ns_sock(ns, &sk)) < 0)
		return err;
	if ((dev && (err = nsl_nl_ifindex(sk, dev, &c.fdb_dev)) < 0) ||
	    (err = dump(sk, AF_BRIDGE, 0, &c)) < 0 ||
	    (err = name_devices(sk, c.entries.v, c.entries.n)) < 0) {
		free(c.entries.v);
		return err;
	}
	*out = c.entries.v;
	return c.entries.n;
}
