/* Adding, changing and deleting links with libnl-route-3; reading is link_info.c. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <net/if.h>
#include <netlink/netlink.h>
#include <netlink/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/link/veth.h>
#include <netlink/route/link/vlan.h>
#include <netlink/route/link/macvlan.h>
#include <netlink/route/link/vxlan.h>

#include "link.h"
#include "namespace.h"
#include "netlink.h"

#define VXLAN_IANA_PORT 4789

const char *const nsl_link_kinds[NSL_LINK_NKINDS + 1] = {
	[NSL_LINK_VETH] = "veth",
	[NSL_LINK_BRIDGE] = "bridge",
	[NSL_LINK_DUMMY] = "dummy",
	[NSL_LINK_VLAN] = "vlan",
	[NSL_LINK_MACVLAN] = "macvlan",
	[NSL_LINK_VXLAN] = "vxlan",
	[NSL_LINK_NKINDS] = NULL,
};

const char *const nsl_macvlan_modes[] = {
	"private", "vepa", "bridge", "passthru", "source", NULL
};

static void set_what(char *what, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void set_what(char *what, const char *fmt, ...)
{
	va_list ap;

	if (!what)
		return;
	va_start(ap, fmt);
	vsnprintf(what, NSL_WHAT_LEN, fmt, ap);
	va_end(ap);
}

/* The index of `name` in ns (nsl_nl_ifindex: -ENODEV if there is none). */
static int ifindex_of(struct nsl_ns *ns, const char *name, int *index)
{
	struct nl_sock *sk;
	int err;

	if ((err = nsl_ns_sock(ns, &sk)) < 0)
		return err;
	return nsl_nl_ifindex(sk, name, index);
}

/* The link's hardware address as libnl wants it (a new reference). */
static int set_mac(struct rtnl_link *link, const unsigned char mac[6])
{
	struct nl_addr *a = nl_addr_build(AF_LLC, mac, 6);

	if (!a)
		return -ENOMEM;
	rtnl_link_set_addr(link, a);	/* takes its own reference */
	nl_addr_put(a);
	return 0;
}

static int set_end(struct rtnl_link *link, const struct nsl_link_end *end)
{
	rtnl_link_set_name(link, end->name);
	if (end->mtu)
		rtnl_link_set_mtu(link, end->mtu);
	if (end->has_mac)
		return set_mac(link, end->mac);
	return 0;
}

typedef int (*vxlan_addr_setter)(struct rtnl_link *, struct nl_addr *);

static int set_vxlan_addr(struct rtnl_link *link, const struct nsl_ip *ip, vxlan_addr_setter set)
{
	struct nl_addr *a;
	int err;

	if (!ip->family)
		return 0;
	if (!(a = nl_addr_build(ip->family, ip->addr, (size_t)nsl_ip_addrlen(ip))))
		return -ENOMEM;
	err = set(link, a);
	nl_addr_put(a);
	return err < 0 ? -EINVAL : 0;
}

/* The kind-specific part of a new link: its libnl object with its info data. */
static int alloc_kind(const struct nsl_link_spec *s, int parent, struct rtnl_link **out)
{
	struct rtnl_link *link = NULL;
	int err = -ENOMEM;

	switch (s->kind) {
	case NSL_LINK_VETH:
		link = rtnl_link_veth_alloc();
		break;
	case NSL_LINK_BRIDGE:
	case NSL_LINK_DUMMY:
		if ((link = rtnl_link_alloc()) && rtnl_link_set_type(link, nsl_link_kinds[s->kind]) < 0)
			goto fail;
		break;
	case NSL_LINK_VLAN:
		if (!(link = rtnl_link_vlan_alloc()))
			break;
		rtnl_link_set_link(link, parent);
		if (rtnl_link_vlan_set_id(link, (uint16_t)s->id) < 0)
			goto inval;
		break;
	case NSL_LINK_MACVLAN:
		if (!(link = rtnl_link_macvlan_alloc()))
			break;
		rtnl_link_set_link(link, parent);
		if (s->mode && rtnl_link_macvlan_set_mode(link, (uint32_t)rtnl_link_macvlan_str2mode(s->mode)) < 0)
			goto inval;
		break;
	case NSL_LINK_VXLAN:
		if (!(link = rtnl_link_vxlan_alloc()))
			break;
		if (rtnl_link_vxlan_set_id(link, s->id) < 0 ||
		    rtnl_link_vxlan_set_port(link, s->port ? s->port : VXLAN_IANA_PORT) < 0 ||
		    (parent && rtnl_link_vxlan_set_link(link, (uint32_t)parent) < 0))
			goto inval;
		if ((err = set_vxlan_addr(link, &s->group, rtnl_link_vxlan_set_group)) < 0 ||
		    (err = set_vxlan_addr(link, &s->remote, rtnl_link_vxlan_set_group)) < 0 ||
		    (err = set_vxlan_addr(link, &s->local, rtnl_link_vxlan_set_local)) < 0)
			goto fail;
		break;
	default:
		return -EINVAL;
	}
	if (!link)
		return -ENOMEM;
	*out = link;
	return 0;
inval:
	err = -EINVAL;
fail:
	rtnl_link_put(link);
	return err;
}

static int add_request(struct nsl_ns *ns, struct rtnl_link *link)
{
	struct nl_sock *sk;
	int err;

	if ((err = nsl_ns_sock(ns, &sk)) < 0)
		return err;
	if ((err = rtnl_link_add(sk, link, NLM_F_CREATE | NLM_F_EXCL)) < 0)
		return nsl_nl_err(err);
	return 0;
}

int nsl_link_add(struct nsl_ns *ns, const struct nsl_link_spec *s, char what[NSL_WHAT_LEN])
{
	struct nsl_ns *peer_ns = s->peer.ns ? s->peer.ns : ns;
	struct rtnl_link *link = NULL, *peer = NULL;
	int err, parent = 0, master = 0;
	uint32_t queues;

	set_what(what, "%s", "");
	if (s->parent && (err = ifindex_of(ns, s->parent, &parent)) < 0) {
		set_what(what, "%s \"%s\"", s->kind == NSL_LINK_VXLAN ? "dev" : "link", s->parent);
		return err;
	}
	if (s->master && (err = ifindex_of(ns, s->master, &master)) < 0) {
		set_what(what, "%s \"%s\"", "master", s->master);
		return err;
	}
	if ((err = alloc_kind(s, parent, &link)) < 0)
		return err;
	if ((err = set_end(link, &s->self)) < 0)
		goto out;
	if (s->self.up)
		rtnl_link_set_flags(link, IFF_UP);
	if (master)
		rtnl_link_set_master(link, master);
	if (s->kind == NSL_LINK_VETH) {
		/* Both ends get a namespace fd: with one only, the other end
		 * would be made in the socket's namespace. */
		peer = rtnl_link_veth_get_peer(link);
		if ((err = set_end(peer, &s->peer)) < 0)
			goto out;
		rtnl_link_set_ns_fd(link, ns->fd);
		rtnl_link_set_ns_fd(peer, peer_ns->fd);
		/* Without a queue count the kernel gives each end one queue per
		 * CPU, then cuts the used ones to 1, and each cut waits for an
		 * RCU grace period under RTNL: 0.3 s of a 1000-host star. */
		queues = s->queues ? s->queues : 1;
		rtnl_link_set_num_tx_queues(link, queues);
		rtnl_link_set_num_rx_queues(link, queues);
		rtnl_link_set_num_tx_queues(peer, queues);
		rtnl_link_set_num_rx_queues(peer, queues);
	}
	if ((err = add_request(ns, link)) < 0)
		goto out;
	if (s->kind == NSL_LINK_BRIDGE && (err = nsl_bridge_set(ns, s->self.name, &s->bridge)) < 0) {
		set_what(what, "bridge options of \"%s\"", s->self.name);
		nsl_link_del(ns, s->self.name);
		goto out;
	}
	if (s->kind == NSL_LINK_VETH && s->peer.up &&
	    (err = nsl_link_set(peer_ns, s->peer.name, &(struct nsl_link_change){ .up = 1 }, NULL)) < 0) {
		set_what(what, "bring up \"%s\" in %s", s->peer.name, peer_ns->label);
		nsl_link_del(ns, s->self.name);	/* takes the far end with it */
	}
out:
	if (peer)
		rtnl_link_put(peer);
	rtnl_link_put(link);
	return err;
}

/* Fills the change request; master is looked up where the link will be. */
static int build_changes(struct nsl_ns *ns, const struct nsl_link_change *c,
			 struct rtnl_link *changes, char *what)
{
	int err, master;

	if (c->up == 1)
		rtnl_link_set_flags(changes, IFF_UP);
	else if (c->up == 0)
		rtnl_link_unset_flags(changes, IFF_UP);
	if (c->mtu)
		rtnl_link_set_mtu(changes, c->mtu);
	if (c->has_mac && (err = set_mac(changes, c->mac)) < 0)
		return err;
	if (c->rename)
		rtnl_link_set_name(changes, c->rename);
	if (c->alias)
		rtnl_link_set_ifalias(changes, c->alias);
	if (c->move_to)
		rtnl_link_set_ns_fd(changes, c->move_to->fd);
	if (c->master && c->master[0] == '\0') {
		rtnl_link_set_master(changes, 0);
	} else if (c->master) {
		struct nsl_ns *where = c->move_to ? c->move_to : ns;
		if ((err = ifindex_of(where, c->master, &master)) < 0) {
			set_what(what, "master \"%s\"%s", c->master, c->move_to ? " (in the target namespace)" : "");
			return err;
		}
		rtnl_link_set_master(changes, master);
	}
	return 0;
}

/*
 * One RTM_NEWLINK: the kernel applies the namespace move first, then
 * address, mtu, name, alias, master and last the flags, so "move, rename,
 * enslave and bring up" works as one request. The link is addressed by its
 * name (the kernel looks it up: ENODEV if there is none), except for a
 * rename, whose request carries the new name: the index is asked for first.
 */
int nsl_link_set(struct nsl_ns *ns, const char *name, const struct nsl_link_change *c,
		 char what[NSL_WHAT_LEN])
{
	struct rtnl_link *orig = NULL, *changes;
	struct nl_sock *sk;
	int err;

	set_what(what, "%s", "");
	if (!(changes = rtnl_link_alloc()))
		return -ENOMEM;
	if ((err = build_changes(ns, c, changes, what)) < 0)
		goto out;
	if ((err = nsl_ns_sock(ns, &sk)) < 0)
		goto out;
	if (!c->rename) {
		rtnl_link_set_name(changes, name);
		if (!(orig = rtnl_link_alloc())) {
			err = -ENOMEM;
			goto out;
		}
	} else if ((err = rtnl_link_get_kernel(sk, 0, name, &orig)) < 0) {
		err = nsl_nl_err(err);
		if (err == -ENOENT)
			err = -ENODEV;
		goto out;
	}
	if ((err = rtnl_link_change(sk, orig, changes, 0)) < 0)
		err = nsl_nl_err(err);
out:
	if (orig)
		rtnl_link_put(orig);
	rtnl_link_put(changes);
	return err;
}

int nsl_link_del(struct nsl_ns *ns, const char *name)
{
	struct rtnl_link *link;
	struct nl_sock *sk;
	int err;

	if (!(link = rtnl_link_alloc()))
		return -ENOMEM;
	rtnl_link_set_name(link, name);
	if ((err = nsl_ns_sock(ns, &sk)) < 0)
		goto out;
	if ((err = rtnl_link_delete(sk, link)) < 0)
		err = nsl_nl_err(err);
out:
	rtnl_link_put(link);
	return err;
}
