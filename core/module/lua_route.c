/*
 * ns:route_add, ns:route_replace, ns:route_del, ns:routes.
 *
 * A route is described by one option table, the same for all three changes:
 * {dst=, via=, dev=, metric=, table=, src=, type=, family=, scope=}. Every
 * field is checked here, the way iproute2 checks its command line and more:
 * the gateway and source must be of the destination's family (libnl would
 * send a mismatched one to the kernel), a destination with host bits set is
 * refused, blackhole/unreachable/prohibit routes take no gateway or device.
 * Kernel failures raise a netns.Error whose op reads like the ip command:
 * `add route 10.99.0.0/16 via 10.55.0.1 in ns1`.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <linux/rtnetlink.h>

#include "lua_util.h"
#include "route.h"

static const char *const change_keys[] = {
	"dst", "via", "dev", "metric", "table", "src", "type", "family", "scope", NULL
};

static const char *family_label(int family)
{
	return family == AF_INET ? "IPv4" : "IPv6";
}

/* table = 1..2^32-1 or "main" | "local" | "default" (and "all" where allowed:
 * returns 0). Absent: main. */
static uint32_t opttable(lua_State *L, int arg, int allow_all)
{
	static const struct { const char *name; uint32_t id; } names[] = {
		{ "main", RT_TABLE_MAIN }, { "local", RT_TABLE_LOCAL },
		{ "default", RT_TABLE_DEFAULT },
	};
	int t = lua_getfield(L, arg, "table");
	uint32_t id = RT_TABLE_MAIN;

	if (t == LUA_TSTRING) {
		const char *s = lua_tostring(L, -1);
		size_t i;
		for (i = 0; i < sizeof names / sizeof *names; i++)
			if (strcmp(s, names[i].name) == 0)
				break;
		if (i < sizeof names / sizeof *names)
			id = names[i].id;
		else if (allow_all && strcmp(s, "all") == 0)
			id = 0;
		else
			lnsl_fielderror(L, arg, "table", lua_pushfstring(L,
					"unknown table '%s' (expected a number, main, local, default%s)",
					s, allow_all ? " or all" : ""));
		lua_pop(L, 1);
		return id;
	}
	lua_pop(L, 1);
	if (t != LUA_TNIL && t != LUA_TNUMBER)
		lnsl_fielderror(L, arg, "table", lua_pushfstring(L,
				"integer or string expected, got %s", lua_typename(L, t)));
	if (t == LUA_TNUMBER) {
		lua_Integer v;
		lnsl_optinteger(L, arg, "table", 1, 0xffffffff, &v);
		id = (uint32_t)v;
	}
	return id;
}

/* A prefix with host bits set is refused, as iproute2 (the kernel) does. */
static int host_bits_set(const struct nsl_ip *ip)
{
	int len = nsl_ip_addrlen(ip);

	for (int bit = ip->prefixlen; bit < len * 8; bit++)
		if (ip->addr[bit / 8] & (0x80 >> (bit % 8)))
			return 1;
	return 0;
}

static void checkdst(lua_State *L, int arg, const char *s, int *is_default, struct nsl_ip *dst)
{
	const char *why;

	*is_default = strcmp(s, "default") == 0;
	if (*is_default)
		return;
	if (nsl_parse_ip(s, -1, dst, &why) < 0)
		lnsl_fielderror(L, arg, "dst", lua_pushfstring(L, "%s: %s", lnsl_quotez(L, s), why));
	if (dst->prefixlen < 0)
		dst->prefixlen = nsl_ip_addrlen(dst) * 8;
	if (host_bits_set(dst))
		lnsl_fielderror(L, arg, "dst", lua_pushfstring(L,
				"%s: invalid prefix for given prefix length (host bits set)", lnsl_quotez(L, s)));
}

/* Same family as the destination, or a field error naming the field. */
static void checkfamily(lua_State *L, int arg, const char *field, const struct nsl_ip *ip,
			int family)
{
	char buf[64];

	if (ip->family != family)
		lnsl_fielderror(L, arg, field, lua_pushfstring(L, "'%s': an %s address for an %s route",
				nsl_ip_ntop(ip, buf, sizeof buf), family_label(ip->family),
				family_label(family)));
}

/*
 * The option table at arg 2 into req, checked completely; pushes the
 * description of the change for messages ("route 10.0.0.0/8 via 10.0.0.1").
 */
static void checkroute(lua_State *L, enum nsl_route_op op, struct nsl_route_req *req)
{
	const char *dst, *via = NULL, *type = NULL, *s;
	int is_default, family;
	lua_Integer metric;
	luaL_Buffer b;

	memset(req, 0, sizeof *req);
	req->scope = -1;
	lnsl_checkopts(L, 2, change_keys);
	if (!lnsl_optstring(L, 2, "dst", &dst))
		lnsl_fielderror(L, 2, "dst", "required (a prefix such as 198.51.100.0/24, or \"default\")");
	checkdst(L, 2, dst, &is_default, &req->dst);
	family = lnsl_optfamily(L, 2, "family");
	lnsl_optstring(L, 2, "via", &via);
	req->has_via = lnsl_optip(L, 2, "via", 0, &req->via);
	req->has_src = lnsl_optip(L, 2, "src", 0, &req->src);
	lnsl_optifname(L, 2, "dev", &req->dev);
	if ((req->has_metric = lnsl_optinteger(L, 2, "metric", 0, 0xffffffff, &metric)))
		req->metric = (uint32_t)metric;
	req->table = opttable(L, 2, 0);
	if (lnsl_optstring(L, 2, "type", &type) && (req->type = nsl_route_type_parse(type)) < 0)
		lnsl_fielderror(L, 2, "type", lua_pushfstring(L,
				"unknown type '%s' (expected unicast, blackhole, unreachable or prohibit)", type));
	if (lnsl_optstring(L, 2, "scope", &s) && (req->scope = nsl_scope_parse(s)) < 0)
		lnsl_fielderror(L, 2, "scope", lua_pushfstring(L,
				"unknown scope '%s' (expected global, site, link or host)", s));

	/* The route's family: the destination's; for default, the gateway's, the
	 * family option's or IPv4. */
	if (!is_default) {
		req->family = req->dst.family;
		if (family && family != req->family)
			lnsl_fielderror(L, 2, "family", lua_pushfstring(L, "%s does not match %s destination '%s'",
					lnsl_family_name(family), family_label(req->family), dst));
	} else {
		req->family = req->has_via ? req->via.family : family ? family : AF_INET;
		if (family && family != req->family)
			lnsl_fielderror(L, 2, "family", lua_pushfstring(L, "%s does not match %s gateway '%s'",
					lnsl_family_name(family), family_label(req->family), via));
		req->dst.family = req->family;
		req->dst.prefixlen = 0;
	}
	if (req->has_via)
		checkfamily(L, 2, "via", &req->via, req->family);
	if (req->has_src)
		checkfamily(L, 2, "src", &req->src, req->family);
	if (req->type && req->type != RTN_UNICAST && (req->has_via || req->dev))
		lnsl_fielderror(L, 2, req->has_via ? "via" : "dev", lua_pushfstring(L,
				"a %s route takes no gateway or device", type));
	if (op != NSL_ROUTE_DEL && (!req->type || req->type == RTN_UNICAST) &&
	    !req->has_via && !req->dev)
		lnsl_fielderror(L, 2, "via", "a unicast route needs a gateway (via) or a device (dev)");

	luaL_buffinit(L, &b);
	luaL_addstring(&b, "route ");
	if (req->type && req->type != RTN_UNICAST) {
		luaL_addstring(&b, type);
		luaL_addchar(&b, ' ');
	}
	luaL_addstring(&b, dst);
	if (via) {
		luaL_addstring(&b, " via ");
		luaL_addstring(&b, via);
	}
	if (req->dev) {
		luaL_addstring(&b, " dev ");
		luaL_addstring(&b, req->dev);
	}
	if (req->table != RT_TABLE_MAIN) {
		lua_pushfstring(L, " table %I", (LUAI_UACINT)req->table);
		luaL_addvalue(&b);
	}
	luaL_pushresult(&b);
}

static int change(lua_State *L, enum nsl_route_op op, const char *verb)
{
	struct nsl_ns *ns = lnsl_checkns(L, 1);
	struct nsl_route_req req;
	int err;

	lua_settop(L, 2);
	checkroute(L, op, &req);
	if ((err = nsl_route_change(ns, op, &req)) < 0)
		return lnsl_fail(L, err, "%s %s in %s", verb, lua_tostring(L, 3), ns->label);
	return 0;
}

/** ns:route_add{dst=, via=, dev=, metric=, table=, src=, type=, family=, scope=}:
 * adds a route, as `ip route add`; EEXIST if the same route exists. dst is a
 * prefix or "default" (family from via, the family option, or IPv4). */
static int m_route_add(lua_State *L)
{
	return change(L, NSL_ROUTE_ADD, "add");
}

/** ns:route_replace{...}: adds or replaces a route, as `ip route replace`. */
static int m_route_replace(lua_State *L)
{
	return change(L, NSL_ROUTE_REPLACE, "replace");
}

/** ns:route_del{...}: deletes the first route matching the fields given, as
 * `ip route del`; ESRCH if none matches. */
static int m_route_del(lua_State *L)
{
	return change(L, NSL_ROUTE_DEL, "delete");
}

static void push_route(lua_State *L, const struct nsl_route_info *r)
{
	char buf[64], num[16];

	lua_createtable(L, 0, 10);
	if (r->dst.prefixlen == 0) {
		lnsl_setstring(L, "dst", "default");
	} else {
		lua_pushfstring(L, "%s/%d", nsl_ip_ntop(&r->dst, buf, sizeof buf), r->dst.prefixlen);
		lua_setfield(L, -2, "dst");
	}
	lnsl_setstring(L, "family", lnsl_family_name(r->family));
	if (r->has_via)
		lnsl_setstring(L, "via", nsl_ip_ntop(&r->via, buf, sizeof buf));
	if (r->dev[0])
		lnsl_setstring(L, "dev", r->dev);
	lnsl_setinteger(L, "metric", (lua_Integer)r->metric);
	lnsl_setinteger(L, "table", (lua_Integer)r->table);
	lnsl_setstring(L, "type", nsl_route_type_name(r->type, num, sizeof num));
	lnsl_setstring(L, "protocol", nsl_route_proto_name(r->protocol, num, sizeof num));
	lnsl_setstring(L, "scope", nsl_scope_name(r->scope, num, sizeof num));
	if (r->has_src)
		lnsl_setstring(L, "src", nsl_ip_ntop(&r->src, buf, sizeof buf));
	if (r->nexthops > 1)
		lnsl_setinteger(L, "nexthops", r->nexthops);
}

/** ns:routes([{family="inet"|"inet6", table=}]) -> { route, ... }: the routes
 * of the main table (table=N, "local", or "all" for every table), both
 * families unless one is given, as `ip route show` / `ip -6 route show`. Each
 * route is {dst ("default" or cidr), family, via, dev, metric, table, type,
 * protocol, scope, src}. */
static int m_routes(lua_State *L)
{
	static const char *const keys[] = { "family", "table", NULL };
	struct nsl_ns *ns = lnsl_checkns(L, 1);
	struct nsl_route_info *v;
	uint32_t table = RT_TABLE_MAIN;
	int family = AF_UNSPEC, n;
	void **box;

	if (!lua_isnoneornil(L, 2)) {
		lnsl_checkopts(L, 2, keys);
		family = lnsl_optfamily(L, 2, "family");
		table = opttable(L, 2, 1);
	}
	box = lnsl_pushbox(L);
	if ((n = nsl_route_list(ns, family, table, &v)) < 0)
		return lnsl_fail(L, n, "list routes in %s", ns->label);
	*box = v;
	lua_createtable(L, n, 0);
	for (int i = 0; i < n; i++) {
		push_route(L, &v[i]);
		lua_rawseti(L, -2, i + 1);
	}
	lnsl_box_free(box);
	return 1;
}

static const luaL_Reg methods[] = {
	{ "route_add", m_route_add },
	{ "route_replace", m_route_replace },
	{ "route_del", m_route_del },
	{ "routes", m_routes },
	{ NULL, NULL }
};

void lnsl_open_route(lua_State *L, int module, int methodtab)
{
	(void)module;
	lnsl_setfuncs(L, methodtab, methods);
}
