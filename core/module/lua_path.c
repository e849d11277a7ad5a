/*
 * ns:traceroute() and ns:path_mtu() over path.h: the path a packet takes
 * and the largest packet that gets through, as data.
 */
#include <string.h>
#include <arpa/inet.h>

#include "errors.h"
#include "icmp.h"
#include "lua_util.h"
#include "path.h"

static const char *const trace_keys[] = { "max_hops", "queries", "timeout", "source", "dev", NULL };
static const char *const pmtu_keys[] = { "max", "timeout", "source", "dev", NULL };
static const char *const hop_kinds[] = {
	[NSL_HOP_NONE] = "none", [NSL_HOP_TTL_EXCEEDED] = "ttl_exceeded",
	[NSL_HOP_REPLY] = "reply", [NSL_HOP_ERROR] = "error",
};

static void push_ip(lua_State *L, const char *k, const struct nsl_ip *ip)
{
	char buf[INET6_ADDRSTRLEN];

	if (ip->family && nsl_ip_ntop(ip, buf, sizeof buf))
		lnsl_setstring(L, k, buf);
}

/* source= and dev= of either option table, checked against dst's family. */
static void source_dev(lua_State *L, int arg, const struct nsl_ip *dst, struct nsl_ip *source,
		       char dev[NSL_IFNAMSIZ])
{
	const char *s;

	if (lnsl_optip(L, arg, "source", 0, source) && source->family != dst->family)
		lnsl_fielderror(L, arg, "source", dst->family == AF_INET
				? "IPv6 address for an IPv4 destination"
				: "IPv4 address for an IPv6 destination");
	if (lnsl_optifname(L, arg, "dev", &s))
		memcpy(dev, s, strlen(s) + 1);
}

/**
 * ns:traceroute(dst [, {max_hops=30, queries=1, timeout=1, source=, dev=}])
 *   -> {dst, reached, hops = {{ttl, kind, address, rtt, icmp_type, icmp_code,
 *       error, code, message, answers}}}
 * As `traceroute -n -I DST`, every TTL at once. kind: "ttl_exceeded" (a
 * router on the way), "reply" (the destination), "error" (the ICMP error
 * or local error that ended the path: error names it, as ping's kinds),
 * "none" (no answer: traceroute's "*").
 */
static int m_traceroute(lua_State *L)
{
	struct nsl_ns *ns = lnsl_checkns(L, 1);
	struct nsl_trace_hop hops[NSL_TRACE_MAX_HOPS];
	struct nsl_trace_opts o;
	struct nsl_ip dst;
	lua_Integer v;
	size_t n;
	int reached, err;
	char buf[INET6_ADDRSTRLEN];

	lnsl_checkip(L, 2, 0, &dst);
	nsl_trace_opts_init(&o);
	if (!lua_isnoneornil(L, 3)) {
		lnsl_checkopts(L, 3, trace_keys);
		if (lnsl_optinteger(L, 3, "max_hops", 1, NSL_TRACE_MAX_HOPS, &v))
			o.max_hops = (int)v;
		if (lnsl_optinteger(L, 3, "queries", 1, NSL_TRACE_MAX_QUERIES, &v))
			o.queries = (int)v;
		lnsl_optnumber(L, 3, "timeout", 0.001, 60, &o.timeout);
		source_dev(L, 3, &dst, &o.source, o.dev);
	}
	if ((err = nsl_traceroute_run(ns, &dst, &o, hops, &n, &reached)) < 0)
		return lnsl_fail(L, err, "traceroute %s in %s", nsl_ip_ntop(&dst, buf, sizeof buf), ns->label);
	lua_createtable(L, 0, 3);
	push_ip(L, "dst", &dst);
	lnsl_setboolean(L, "reached", reached);
	lua_createtable(L, (int)n, 0);
	for (size_t i = 0; i < n; i++) {
		const struct nsl_trace_hop *h = &hops[i];
		lua_createtable(L, 0, 10);
		lnsl_setinteger(L, "ttl", h->ttl);
		lnsl_setstring(L, "kind", hop_kinds[h->kind]);
		push_ip(L, "address", &h->addr);
		if (h->rtt >= 0)
			lnsl_setnumber(L, "rtt", h->rtt);
		if (h->icmp_type >= 0) {
			lnsl_setinteger(L, "icmp_type", h->icmp_type);
			lnsl_setinteger(L, "icmp_code", h->icmp_code);
		}
		if (h->kind == NSL_HOP_ERROR)
			lnsl_setstring(L, "error", nsl_ping_kind_name(h->error_kind));
		if (h->err)
			lnsl_setstring(L, "code", nsl_errname(h->err));
		lnsl_setstring(L, "message", h->message);
		lnsl_setinteger(L, "answers", h->answers);
		lua_rawseti(L, -2, (lua_Integer)i + 1);
	}
	lua_setfield(L, -2, "hops");
	return 1;
}

/**
 * ns:path_mtu(dst [, {max=65535, timeout=1, source=, dev=}])
 *   -> {dst, ok, mtu, from, steps, message}
 * As tracepath: don't-fragment echoes, each "fragmentation needed" /
 * "packet too big" giving the next size, until one gets through.
 */
static int m_path_mtu(lua_State *L)
{
	struct nsl_ns *ns = lnsl_checkns(L, 1);
	struct nsl_pmtu_opts o;
	struct nsl_pmtu_result r;
	struct nsl_ip dst;
	lua_Integer v;
	int err;
	char buf[INET6_ADDRSTRLEN];

	lnsl_checkip(L, 2, 0, &dst);
	nsl_pmtu_opts_init(&o);
	if (!lua_isnoneornil(L, 3)) {
		lnsl_checkopts(L, 3, pmtu_keys);
		if (lnsl_optinteger(L, 3, "max", 68, 65535, &v))
			o.max = (int)v;
		lnsl_optnumber(L, 3, "timeout", 0.001, 60, &o.timeout);
		source_dev(L, 3, &dst, &o.source, o.dev);
	}
	if ((err = nsl_pmtu_run(ns, &dst, &o, &r)) < 0)
		return lnsl_fail(L, err, "path_mtu %s in %s", nsl_ip_ntop(&dst, buf, sizeof buf), ns->label);
	lua_createtable(L, 0, 6);
	push_ip(L, "dst", &dst);
	lnsl_setboolean(L, "ok", r.ok);
	if (r.ok)
		lnsl_setinteger(L, "mtu", r.mtu);
	push_ip(L, "from", &r.from);
	lnsl_setinteger(L, "steps", r.steps);
	lnsl_setstring(L, "message", r.message);
	return 1;
}

void lnsl_open_path(lua_State *L, int module, int methods)
{
	(void)module;
	lua_pushcfunction(L, m_traceroute);
	lua_setfield(L, methods, "traceroute");
	lua_pushcfunction(L, m_path_mtu);
	lua_setfield(L, methods, "path_mtu");
}
