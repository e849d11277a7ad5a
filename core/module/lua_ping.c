/*
 * ns:ping() and netns.ping_many(): argument checks and result tables over the
 * ICMP echo engine (ping.h).
 *
 * Not reaching a destination is data, never an exception: the result says
 * what happened the way `ping` would (100% loss, "Network is unreachable",
 * "Destination Net Unreachable" from a router). Bad arguments raise before
 * anything is sent, naming the argument (and, in ping_many, the item and the
 * field); only a failure of the run itself (out of fds, no memory) raises a
 * netns.Error.
 *
 * The engine's results live in a userdata whose __gc frees them, so an error
 * while building the Lua tables leaks nothing.
 */
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>

#include "errors.h"
#include "lua_optarg.h"
#include "lua_util.h"
#include "ping.h"

#define LNSL_PINGRUN "netns.PingRun"

struct pingrun {
	size_t n;
	struct nsl_ping_result res[];
};

static const char *const opt_keys[] = {
	"count", "interval", "timeout", "deadline", "size", "ttl", "df", "source", "dev", NULL
};

/* Reads the options present in the table over o (defaults or the run's). */
static void read_opts(const struct lnsl_optarg *a, struct nsl_ping_opts *o)
{
	lnsl_oa_check(a, opt_keys);
	lnsl_oa_int(a, "count", 1, NSL_PING_MAX_COUNT, &o->count);
	lnsl_oa_num(a, "interval", 0.001, 3600, &o->interval);
	lnsl_oa_num(a, "timeout", 0.001, 3600, &o->timeout);
	lnsl_oa_num(a, "deadline", 0.001, 86400, &o->deadline);
	lnsl_oa_int(a, "size", 0, NSL_PING_MAX_SIZE, &o->size);
	lnsl_oa_int(a, "ttl", 1, 255, &o->ttl);
	lnsl_oa_bool(a, "df", &o->df);
	lnsl_oa_ip(a, "source", &o->source);
	lnsl_oa_ifname(a, "dev", o->dev);
}

static void check_source(const struct lnsl_optarg *a, const struct nsl_ping_opts *o, int family)
{
	if (o->source.family && o->source.family != family)
		lnsl_oa_error(a, "source", family == AF_INET ? "IPv6 address for an IPv4 destination"
							 : "IPv4 address for an IPv6 destination");
}

static void run_free(struct pingrun *run)
{
	nsl_ping_results_free(run->res, run->n);
	run->n = 0;
}

static int run_gc(lua_State *L)
{
	run_free(luaL_checkudata(L, 1, LNSL_PINGRUN));
	return 0;
}

static struct pingrun *newrun(lua_State *L, size_t n)
{
	struct pingrun *run = lua_newuserdatauv(L, sizeof *run + n * sizeof run->res[0], 0);

	run->n = 0;
	luaL_setmetatable(L, LNSL_PINGRUN);
	memset(run->res, 0, n * sizeof run->res[0]);
	run->n = n;
	return run;
}

static void push_ip(lua_State *L, const char *k, const struct nsl_ip *ip)
{
	char buf[INET6_ADDRSTRLEN];

	if (ip->family && nsl_ip_ntop(ip, buf, sizeof buf))
		lnsl_setstring(L, k, buf);
}

static void push_result(lua_State *L, const struct nsl_ip *dst, const struct nsl_ping_result *r)
{
	const char *first_local = NULL;

	lua_createtable(L, 0, 11);
	push_ip(L, "dst", dst);
	lnsl_setboolean(L, "ok", r->received > 0);
	lnsl_setinteger(L, "transmitted", r->transmitted);
	lnsl_setinteger(L, "received", r->received);
	lnsl_setinteger(L, "duplicates", r->duplicates);
	lnsl_setnumber(L, "loss", r->transmitted ? 100.0 * (r->transmitted - r->received) / r->transmitted
						 : 100.0);
	if (r->received) {
		lua_createtable(L, 0, 4);
		lnsl_setnumber(L, "min", r->rtt_min);
		lnsl_setnumber(L, "avg", r->rtt_avg);
		lnsl_setnumber(L, "max", r->rtt_max);
		lnsl_setnumber(L, "mdev", r->rtt_mdev);
		lua_setfield(L, -2, "rtt");
	}
	lua_createtable(L, (int)r->nreplies, 0);
	for (size_t i = 0; i < r->nreplies; i++) {
		const struct nsl_ping_reply *p = &r->replies[i];
		lua_createtable(L, 0, 4);
		lnsl_setinteger(L, "seq", p->seq);
		if (p->ttl >= 0)
			lnsl_setinteger(L, "ttl", p->ttl);
		lnsl_setnumber(L, "rtt", p->rtt);
		push_ip(L, "from", &p->from);
		lua_rawseti(L, -2, (lua_Integer)i + 1);
	}
	lua_setfield(L, -2, "replies");
	lua_createtable(L, (int)r->nerrors, 0);
	for (size_t i = 0; i < r->nerrors; i++) {
		const struct nsl_ping_error *e = &r->errors[i];
		lua_createtable(L, 0, 4);
		if (e->seq)
			lnsl_setinteger(L, "seq", e->seq);
		lnsl_setstring(L, "kind", nsl_ping_kind_name(e->kind));
		lnsl_setstring(L, "message", e->message);
		if (e->kind == NSL_PING_LOCAL && e->err)
			lnsl_setstring(L, "code", nsl_errname(e->err));
		if (e->icmp_type >= 0) {
			lnsl_setinteger(L, "icmp_type", e->icmp_type);
			lnsl_setinteger(L, "icmp_code", e->icmp_code);
		}
		if (e->mtu)
			lnsl_setinteger(L, "mtu", e->mtu);
		if (e->rtt >= 0)
			lnsl_setnumber(L, "rtt", e->rtt);
		push_ip(L, "from", &e->from);
		lua_rawseti(L, -2, (lua_Integer)i + 1);
		if (e->kind == NSL_PING_LOCAL && !first_local)
			first_local = e->message;
	}
	lua_setfield(L, -2, "errors");
	if (first_local)
		lnsl_setstring(L, "error", first_local);
}

/**
 * ns:ping(dst [, {count=, interval=, timeout=, deadline=, size=, ttl=, df=, source=, dev=}])
 *   -> {dst, ok, transmitted, received, duplicates, loss, rtt={min, avg, max, mdev},
 *       replies={{seq, ttl, rtt, from}},
 *       errors={{seq, kind, message, code, icmp_type, icmp_code, mtu, rtt, from}}, error}
 * ICMP echo from inside the namespace, as `ip netns exec NS ping -c COUNT DST`.
 */
static int m_ping(lua_State *L)
{
	struct nsl_ns *ns = lnsl_checkns(L, 1);
	struct lnsl_optarg a = { L, 3, 3, "" };
	struct nsl_ping_opts o;
	struct nsl_ping_req req;
	struct pingrun *run;
	char buf[INET6_ADDRSTRLEN];
	int err;

	lnsl_checkip(L, 2, 0, &req.dst);
	nsl_ping_opts_init(&o);
	if (!lua_isnoneornil(L, 3)) {
		read_opts(&a, &o);
		check_source(&a, &o, req.dst.family);
	}
	req.ns = ns;
	req.opts = NULL;
	run = newrun(L, 1);
	if ((err = nsl_ping_run(&req, 1, &o, run->res)) < 0)
		return lnsl_fail(L, err, "ping %s in %s", nsl_ip_ntop(&req.dst, buf, sizeof buf),
				 ns->label);
	push_result(L, &req.dst, &run->res[0]);
	run_free(run);
	return 1;
}

/* Checks list[i] = {ns, dst [, opts]} into req (and its own opts, if any). */
static void check_item(lua_State *L, lua_Integer i, const struct nsl_ping_opts *base,
		       struct nsl_ping_req *req, struct nsl_ping_opts *own)
{
	struct lnsl_optarg a;
	struct nsl_ns *ns;
	int item = lnsl_oa_item(L, i, &a, "{ns, dst [, opts]}", &ns);

	lnsl_oa_item_ip(&a, item, 2, &req->dst);
	req->ns = ns;
	req->opts = NULL;
	a.idx = lua_gettop(L) + 1;
	if (lua_rawgeti(L, item, 3) != LUA_TNIL) {
		*own = *base;
		read_opts(&a, own);
		req->opts = own;
	}
	check_source(&a, req->opts ? req->opts : base, req->dst.family);
	lua_settop(L, item - 2);	/* the prefix and the item */
}

/**
 * netns.ping_many({{ns, dst [, opts]}, ...} [, opts]) -> {result, ...}
 * Pings every pair at once in one event loop, with one socket per
 * namespace and family; results in the order of the list, as ns:ping's.
 */
static int l_ping_many(lua_State *L)
{
	struct lnsl_optarg a = { L, 2, 2, "" };
	struct nsl_ping_opts base, *own;
	struct nsl_ping_req *reqs;
	struct pingrun *run;
	lua_Integer n;
	int err;

	luaL_checktype(L, 1, LUA_TTABLE);
	nsl_ping_opts_init(&base);
	if (!lua_isnoneornil(L, 2))
		read_opts(&a, &base);
	lua_settop(L, 2);
	n = (lua_Integer)lua_rawlen(L, 1);
	reqs = lua_newuserdatauv(L, (size_t)n * (sizeof *reqs + sizeof *own) + 1, 0);
	own = (struct nsl_ping_opts *)(void *)(reqs + n);
	for (lua_Integer i = 0; i < n; i++)
		check_item(L, i + 1, &base, &reqs[i], &own[i]);
	run = newrun(L, (size_t)n);
	if ((err = nsl_ping_run(reqs, (size_t)n, &base, run->res)) < 0)
		return lnsl_fail(L, err, "ping_many (%I pairs)", (LUAI_UACINT)n);
	lua_createtable(L, (int)n, 0);
	for (lua_Integer i = 0; i < n; i++) {
		push_result(L, &reqs[i].dst, &run->res[i]);
		lua_rawseti(L, -2, i + 1);
	}
	run_free(run);
	return 1;
}

void lnsl_open_ping(lua_State *L, int module, int methods)
{
	lua_pushcfunction(L, m_ping);
	lua_setfield(L, methods, "ping");
	lua_pushcfunction(L, l_ping_many);
	lua_setfield(L, module, "ping_many");
	luaL_newmetatable(L, LNSL_PINGRUN);
	lua_pushcfunction(L, run_gc);
	lua_setfield(L, -2, "__gc");
	lua_pop(L, 1);
}
