/*
 * Routes, over libnl-route's rtnl_route and rtnl_nexthop.
 *
 * A request is what `ip route add|replace|del` takes: a destination prefix
 * (prefix length 0 for "default"), a gateway and/or an output device (a name
 * inside the namespace, resolved by asking the kernel), metric, table,
 * preferred source, type and scope. Everything is validated by the caller;
 * libnl would pass a gateway of the wrong family through to the kernel.
 *
 * Defaults follow iproute2 (iproute.c): add uses protocol "boot", scope link
 * for an IPv4 unicast route without a gateway and global otherwise; delete
 * matches any protocol, type and scope unless they are given; the table is
 * main unless given. The kernel's IPv6 delete ignores type, scope and source,
 * so an IPv6 delete first finds the route meant in a dump and names it by
 * its metric and nexthop (-ESRCH if none matches).
 *
 * Listing dumps routes and links once each and returns a malloc'd array the
 * caller frees, in the kernel's order, without cloned (cache) entries.
 */
#ifndef NSLAB_ROUTE_H
#define NSLAB_ROUTE_H

#include <stdint.h>

#include "parse.h"

struct nsl_ns;

enum nsl_route_op { NSL_ROUTE_ADD, NSL_ROUTE_REPLACE, NSL_ROUTE_DEL };

struct nsl_route_req {
	int family;		/* AF_INET or AF_INET6 */
	struct nsl_ip dst;	/* prefix length 0 and all zeros for default */
	int has_via, has_src;
	struct nsl_ip via, src;	/* gateway, preferred source (same family) */
	const char *dev;	/* output interface, or NULL */
	int has_metric;
	uint32_t metric;
	uint32_t table;		/* 0: main */
	int type;		/* RTN_*; 0: unicast for add, any for delete */
	int scope;		/* RT_SCOPE_*, or -1: as iproute2 picks */
};

struct nsl_route_info {
	int family;
	struct nsl_ip dst;	/* prefix length 0 for default */
	int has_via, has_src;
	struct nsl_ip via, src;
	char dev[NSL_IFNAMSIZ];	/* "" if none */
	int ifindex;		/* 0 if none */
	int nexthops;		/* more than 1 for a multipath route (first shown) */
	uint32_t metric, table;
	int type, protocol, scope;
};

int nsl_route_change(struct nsl_ns *ns, enum nsl_route_op op, const struct nsl_route_req *req);

/* family AF_UNSPEC: both; table 0: every table. Returns the count or -errno. */
int nsl_route_list(struct nsl_ns *ns, int family, uint32_t table, struct nsl_route_info **out);

/* Names as iproute2 prints them. The *_name functions write a number into buf
 * (at least 12 bytes) for a value without a name; the parsers return -1 for
 * an unknown name. */
const char *nsl_route_type_name(int type, char *buf, size_t len);
int nsl_route_type_parse(const char *s);
const char *nsl_route_proto_name(int proto, char *buf, size_t len);
const char *nsl_scope_name(int scope, char *buf, size_t len);
int nsl_scope_parse(const char *s);

#endif
