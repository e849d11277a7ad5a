/* Adding, replacing, deleting and listing routes with libnl-route (rtnl_route). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/rtnetlink.h>
#include <netlink/netlink.h>
#include <netlink/addr.h>
#include <netlink/cache.h>
#include <netlink/msg.h>
#include <netlink/socket.h>
#include <netlink/route/link.h>
#include <netlink/route/nexthop.h>
#include <netlink/route/route.h>

#include "errors.h"
#include "namespace.h"
#include "netlink.h"
#include "route.h"

/* iproute2's choice of scope when none is given (iproute.c, iproute_modify). */
static int default_scope(enum nsl_route_op op, const struct nsl_route_req *req)
{
	if (op == NSL_ROUTE_DEL)
		return RT_SCOPE_NOWHERE;
	if (req->family == AF_INET6)
		return RT_SCOPE_UNIVERSE;
	if ((req->type == RTN_UNICAST || req->type == 0) && !req->has_via)
		return RT_SCOPE_LINK;
	return RT_SCOPE_UNIVERSE;
}

/* The nexthop: gateway and/or device; the route takes it over. */
static int add_nexthop(struct rtnl_route *route, const struct nsl_route_req *req, int index)
{
	struct rtnl_nexthop *nh = rtnl_route_nh_alloc();
	struct nl_addr *gw;

	if (!nh)
		return -ENOMEM;
	if (req->has_via) {
		if (!(gw = nsl_nl_addr(&req->via, nsl_ip_addrlen(&req->via) * 8))) {
			rtnl_route_nh_free(nh);
			return -ENOMEM;
		}
		rtnl_route_nh_set_gateway(nh, gw);	/* takes its own reference */
		nl_addr_put(gw);
	}
	if (index)
		rtnl_route_nh_set_ifindex(nh, index);
	rtnl_route_add_nexthop(route, nh);
	return 0;
}

/* The request as libnl's object; the caller puts it. */
static int build(enum nsl_route_op op, const struct nsl_route_req *req, int index,
		 struct rtnl_route **out)
{
	struct rtnl_route *route = rtnl_route_alloc();
	struct nl_addr *dst = NULL, *src = NULL;
	int err = -ENOMEM, type = req->type;

	if (!route || !(dst = nsl_nl_addr(&req->dst, req->dst.prefixlen)))
		goto out;
	if (req->has_src && !(src = nsl_nl_addr(&req->src, nsl_ip_addrlen(&req->src) * 8)))
		goto out;
	if (type == 0 && op != NSL_ROUTE_DEL)
		type = RTN_UNICAST;
	if ((err = rtnl_route_set_family(route, (uint8_t)req->family)) < 0 ||
	    (err = rtnl_route_set_dst(route, dst)) < 0 ||
	    (err = rtnl_route_set_type(route, (uint8_t)type)) < 0 ||
	    (src && (err = rtnl_route_set_pref_src(route, src)) < 0)) {
		err = -nsl_nlerr_to_errno(err);
		goto out;
	}
	rtnl_route_set_table(route, req->table ? req->table : RT_TABLE_MAIN);
	rtnl_route_set_protocol(route, op == NSL_ROUTE_DEL ? RTPROT_UNSPEC : RTPROT_BOOT);
	rtnl_route_set_scope(route, (uint8_t)(req->scope >= 0 ? req->scope : default_scope(op, req)));
	if (req->has_metric)
		rtnl_route_set_priority(route, req->metric);
	if ((req->has_via || index) && (err = add_nexthop(route, req, index)) < 0)
		goto out;
	*out = route;
	route = NULL;
	err = 0;
out:
	if (src)
		nl_addr_put(src);
	if (dst)
		nl_addr_put(dst);
	if (route)
		rtnl_route_put(route);
	return err;
}

static int same_ip(const struct nsl_ip *a, const struct nsl_ip *b)
{
	return a->family == b->family && memcmp(a->addr, b->addr, (size_t)nsl_ip_addrlen(a)) == 0;
}

/* Does a listed route match every field the delete request gives? */
static int del_matches(const struct nsl_route_req *req, int index, const struct nsl_route_info *r)
{
	return r->dst.prefixlen == req->dst.prefixlen && same_ip(&r->dst, &req->dst) &&
	       (!req->type || r->type == req->type) &&
	       (req->scope < 0 || r->scope == req->scope) &&
	       (!req->has_metric || r->metric == req->metric) &&
	       (!req->has_via || (r->has_via && same_ip(&r->via, &req->via))) &&
	       (!req->has_src || (r->has_src && same_ip(&r->src, &req->src))) &&
	       (!index || r->ifindex == index);
}

/*
 * The kernel's IPv6 delete (ip6_route_del) matches device, gateway, metric
 * and protocol but never the type, scope or source: asked to delete
 * "unreachable default" it deletes the first default, whatever its type.
 * So find the route the request means here, as IPv4's fib_table_delete
 * would, and pin the delete to its metric, gateway and device (a reject
 * route cannot share destination and metric with another route, and
 * unicast routes of one metric differ in their nexthop). -ESRCH if none
 * matches, as the kernel says.
 */
static int pin_ipv6_delete(struct nsl_ns *ns, struct nsl_route_req *req, int *index)
{
	struct nsl_route_info *v;
	int n, i;

	if ((n = nsl_route_list(ns, AF_INET6, req->table ? req->table : RT_TABLE_MAIN, &v)) < 0)
		return n;
	for (i = 0; i < n && !del_matches(req, *index, &v[i]); i++)
		;
	if (i == n) {
		free(v);
		return -ESRCH;
	}
	req->has_metric = 1;
	req->metric = v[i].metric;
	if (v[i].type == RTN_UNICAST) {
		req->has_via = v[i].has_via;
		req->via = v[i].via;
		*index = v[i].ifindex;
	}
	free(v);
	return 0;
}

int nsl_route_change(struct nsl_ns *ns, enum nsl_route_op op, const struct nsl_route_req *asked)
{
	struct nsl_route_req req = *asked;
	struct nl_sock *sk;
	struct rtnl_route *route = NULL;
	int err, index = 0;

	if ((err = nsl_ns_sock(ns, &sk)) < 0)
		return err;
	if (req.dev && (err = nsl_nl_ifindex(sk, req.dev, &index)) < 0)
		return err;
	if (op == NSL_ROUTE_DEL && req.family == AF_INET6 &&
	    (err = pin_ipv6_delete(ns, &req, &index)) < 0)
		return err;
	if ((err = build(op, &req, index, &route)) < 0)
		return err;
	/* rtnl_route_add ORs in NLM_F_CREATE; say EXCL or REPLACE explicitly. */
	if (op == NSL_ROUTE_DEL)
		err = rtnl_route_delete(sk, route, 0);
	else
		err = rtnl_route_add(sk, route, NLM_F_CREATE |
				     (op == NSL_ROUTE_ADD ? NLM_F_EXCL : NLM_F_REPLACE));
	rtnl_route_put(route);
	return nsl_nl_err(err);
}

static void from_nl_addr(struct nl_addr *a, int family, struct nsl_ip *ip)
{
	unsigned len = a ? nl_addr_get_len(a) : 0;

	memset(ip, 0, sizeof *ip);
	ip->family = family;
	if (len > sizeof ip->addr)
		len = sizeof ip->addr;
	if (len)
		memcpy(ip->addr, nl_addr_get_binary_addr(a), len);
	ip->prefixlen = a ? (int)nl_addr_get_prefixlen(a) : 0;
}

static void fill(struct rtnl_route *r, struct nl_cache *links, struct nsl_route_info *in)
{
	struct nl_addr *src = rtnl_route_get_pref_src(r);

	memset(in, 0, sizeof *in);
	in->family = rtnl_route_get_family(r);
	from_nl_addr(rtnl_route_get_dst(r), in->family, &in->dst);
	if (src && nl_addr_get_len(src)) {
		in->has_src = 1;
		from_nl_addr(src, in->family, &in->src);
	}
	in->nexthops = rtnl_route_get_nnexthops(r);
	if (in->nexthops > 0) {
		struct rtnl_nexthop *nh = rtnl_route_nexthop_n(r, 0);
		struct nl_addr *gw = rtnl_route_nh_get_gateway(nh);
		if (gw && nl_addr_get_len(gw) && nl_addr_get_family(gw) == in->family) {
			in->has_via = 1;
			from_nl_addr(gw, in->family, &in->via);
		}
		in->ifindex = rtnl_route_nh_get_ifindex(nh);
		if (in->ifindex && !rtnl_link_i2name(links, in->ifindex, in->dev, sizeof in->dev))
			in->dev[0] = '\0';
	}
	in->metric = rtnl_route_get_priority(r);
	in->table = rtnl_route_get_table(r);
	in->type = rtnl_route_get_type(r);
	in->protocol = rtnl_route_get_protocol(r);
	in->scope = rtnl_route_get_scope(r);
}

struct dump {
	struct nl_cache *links;
	int family;
	uint32_t table;
	struct nsl_nl_vec routes;
};

/* One RTM_NEWROUTE of the dump. libnl's route cache would merge IPv6 routes
 * to one prefix on several devices (fe80::/64) into one multipath object;
 * taking each message on its own shows what `ip route show` shows. */
static int on_route(struct nl_msg *msg, void *arg)
{
	struct dump *d = arg;
	struct rtnl_route *r = NULL;
	int fam, err;

	if ((err = rtnl_route_parse(nlmsg_hdr(msg), &r)) < 0) {
		if (!d->routes.err)
			d->routes.err = -nsl_nlerr_to_errno(err);
		return NL_SKIP;
	}
	fam = rtnl_route_get_family(r);
	if ((fam == AF_INET || fam == AF_INET6) && (!d->family || fam == d->family) &&
	    (!d->table || rtnl_route_get_table(r) == d->table) &&
	    !(rtnl_route_get_flags(r) & RTM_F_CLONED)) {
		struct nsl_route_info *in = nsl_nl_vec_add(&d->routes, sizeof *in);

		if (in)
			fill(r, d->links, in);
	}
	rtnl_route_put(r);
	return NL_OK;
}

int nsl_route_list(struct nsl_ns *ns, int family, uint32_t table, struct nsl_route_info **out)
{
	struct dump d = { .family = family, .table = table };
	struct rtmsg rtm = { .rtm_family = (unsigned char)family };
	struct nl_sock *sk;
	int err;

	*out = NULL;
	if ((err = nsl_ns_sock(ns, &sk)) < 0)
		return err;
	if ((err = rtnl_link_alloc_cache(sk, AF_UNSPEC, &d.links)) < 0)
		return nsl_nl_err(err);
	if ((err = nsl_nl_dump_vec(sk, RTM_GETROUTE, &rtm, sizeof rtm, on_route, &d, &d.routes)) >= 0)
		*out = d.routes.v;
	nl_cache_free(d.links);
	return err;
}

static const char *const type_names[] = {
	[RTN_UNSPEC] = "unspec", [RTN_UNICAST] = "unicast", [RTN_LOCAL] = "local",
	[RTN_BROADCAST] = "broadcast", [RTN_ANYCAST] = "anycast",
	[RTN_MULTICAST] = "multicast", [RTN_BLACKHOLE] = "blackhole",
	[RTN_UNREACHABLE] = "unreachable", [RTN_PROHIBIT] = "prohibit",
	[RTN_THROW] = "throw", [RTN_NAT] = "nat", [RTN_XRESOLVE] = "xresolve",
};

const char *nsl_route_type_name(int type, char *buf, size_t len)
{
	if (type >= 0 && type < (int)(sizeof type_names / sizeof *type_names) && type_names[type])
		return type_names[type];
	snprintf(buf, len, "%d", type);
	return buf;
}

/* Only the types a lab script adds; the others need more than a prefix. */
int nsl_route_type_parse(const char *s)
{
	static const int ok[] = { RTN_UNICAST, RTN_BLACKHOLE, RTN_UNREACHABLE, RTN_PROHIBIT };

	for (size_t i = 0; i < sizeof ok / sizeof *ok; i++)
		if (strcmp(s, type_names[ok[i]]) == 0)
			return ok[i];
	return -1;
}

/* /etc/iproute2/rt_protos and rt_protos.d as Debian ships them. */
const char *nsl_route_proto_name(int proto, char *buf, size_t len)
{
	static const struct { int v; const char *name; } names[] = {
		{ RTPROT_UNSPEC, "unspec" }, { RTPROT_REDIRECT, "redirect" },
		{ RTPROT_KERNEL, "kernel" }, { RTPROT_BOOT, "boot" },
		{ RTPROT_STATIC, "static" }, { 8, "gated" }, { 9, "ra" }, { 10, "mrt" },
		{ 11, "zebra" }, { 12, "bird" }, { 13, "dnrouted" }, { 14, "xorp" },
		{ 15, "ntk" }, { 16, "dhcp" }, { 17, "mrouted" }, { 18, "keepalived" },
		{ 42, "babel" }, { 99, "openr" }, { 186, "bgp" }, { 187, "isis" },
		{ 188, "ospf" }, { 189, "rip" }, { 192, "eigrp" },
	};

	for (size_t i = 0; i < sizeof names / sizeof *names; i++)
		if (names[i].v == proto)
			return names[i].name;
	snprintf(buf, len, "%d", proto);
	return buf;
}

static const struct { int v; const char *name; } scopes[] = {
	{ RT_SCOPE_UNIVERSE, "global" }, { RT_SCOPE_SITE, "site" },
	{ RT_SCOPE_LINK, "link" }, { RT_SCOPE_HOST, "host" },
	{ RT_SCOPE_NOWHERE, "nowhere" },
};

const char *nsl_scope_name(int scope, char *buf, size_t len)
{
	for (size_t i = 0; i < sizeof scopes / sizeof *scopes; i++)
		if (scopes[i].v == scope)
			return scopes[i].name;
	snprintf(buf, len, "%d", scope);
	return buf;
}

int nsl_scope_parse(const char *s)
{
	for (size_t i = 0; i < sizeof scopes / sizeof *scopes; i++)
		if (strcmp(s, scopes[i].name) == 0)
			return scopes[i].v;
	return -1;
}
