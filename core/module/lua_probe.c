/*
 * ns:probe() and netns.probe_many(): TCP and UDP port probes over the probe
 * engine (probe.h).
 *
 * As with ping, what the network answers is data, never an exception: a
 * refused connection, a silent drop or an ICMP error is the outcome of the
 * probe. Bad arguments raise before anything is sent, naming the argument
 * (in probe_many the item and the field); only a failure of the run itself
 * (no memory, out of fds) raises a netns.Error.
 */
#include <string.h>
#include <arpa/inet.h>

#include "errors.h"
#include "lua_optarg.h"
#include "lua_util.h"
#include "ping.h"
#include "probe.h"

static const char *const opt_keys[] = { "timeout", "source", "dev", "payload", NULL };

static void read_opts(const struct lnsl_optarg *a, struct nsl_probe_opts *o)
{
	size_t len;

	lnsl_oa_check(a, opt_keys);
	lnsl_oa_num(a, "timeout", 0.001, 3600, &o->timeout);
	lnsl_oa_ip(a, "source", &o->source);
	lnsl_oa_ifname(a, "dev", o->dev);
	if (lnsl_oa_get(a, "payload", LUA_TSTRING, "string")) {
		/* The string stays alive in the caller's table for the whole run. */
		o->payload = (const unsigned char *)lua_tolstring(a->L, -1, &len);
		if (len > NSL_PROBE_MAX_PAYLOAD)
			lnsl_oa_error(a, "payload", lua_pushfstring(a->L, "%d bytes, at most %d",
								    (int)len, NSL_PROBE_MAX_PAYLOAD));
		o->payload_len = len;
		lua_pop(a->L, 1);
	}
}

/* An item's protocol ([2]), destination ([3]) and port ([4]). */
static void read_target(const struct lnsl_optarg *a, int item, struct nsl_probe_req *q)
{
	lua_State *L = a->L;
	const char *s;
	lua_Integer port;
	int isint;

	if (lua_rawgeti(L, item, 2) != LUA_TSTRING)
		lnsl_oa_error(a, NULL, lua_pushfstring(L, "[2]: protocol 'tcp' or 'udp' expected, got %s",
						       luaL_typename(L, -1)));
	s = lua_tostring(L, -1);
	if (strcmp(s, "tcp") && strcmp(s, "udp"))
		lnsl_oa_error(a, NULL, lua_pushfstring(L, "[2]: protocol 'tcp' or 'udp' expected, got '%s'", s));
	q->proto = strcmp(s, "tcp") == 0 ? NSL_PROBE_TCP : NSL_PROBE_UDP;
	lnsl_oa_item_ip(a, item, 3, &q->dst);
	lua_rawgeti(L, item, 4);
	port = lua_tointegerx(L, -1, &isint);
	if (lua_type(L, -1) != LUA_TNUMBER || !isint)
		lnsl_oa_error(a, NULL, lua_pushfstring(L, "[4]: port (integer) expected, got %s",
						       luaL_typename(L, -1)));
	if (port < 1 || port > 65535)
		lnsl_oa_error(a, NULL, lua_pushfstring(L, "[4]: port %I out of range (1 to 65535)",
						       (LUAI_UACINT)port));
	q->port = (int)port;
}

static void check_source(const struct lnsl_optarg *a, const struct nsl_probe_opts *o, int family)
{
	if (o->source.family && o->source.family != family)
		lnsl_oa_error(a, "source", family == AF_INET ? "IPv6 address for an IPv4 destination"
							     : "IPv4 address for an IPv6 destination");
}

static void push_ip(lua_State *L, const char *k, const struct nsl_ip *ip)
{
	char buf[INET6_ADDRSTRLEN];

	if (ip->family && nsl_ip_ntop(ip, buf, sizeof buf))
		lnsl_setstring(L, k, buf);
}

static void push_result(lua_State *L, const struct nsl_probe_req *q, const struct nsl_probe_result *r)
{
	int o = r->outcome;

	lua_createtable(L, 0, 16);
	lnsl_setstring(L, "proto", q->proto == NSL_PROBE_TCP ? "tcp" : "udp");
	push_ip(L, "dst", &q->dst);
	lnsl_setinteger(L, "port", q->port);
	lnsl_setstring(L, "outcome", nsl_probe_outcome_name(o));
	lnsl_setboolean(L, "ok", o == NSL_PROBE_CONNECTED || o == NSL_PROBE_ANSWERED);
	lnsl_setnumber(L, "time", r->time);
	lnsl_setstring(L, "message", r->message);
	if (r->err)
		lnsl_setstring(L, "code", nsl_errname(r->err));
	if (r->icmp_type >= 0) {
		lnsl_setstring(L, "kind", nsl_ping_kind_name(r->kind));
		lnsl_setinteger(L, "icmp_type", r->icmp_type);
		lnsl_setinteger(L, "icmp_code", r->icmp_code);
	}
	if (r->mtu)
		lnsl_setinteger(L, "mtu", r->mtu);
	push_ip(L, "from", &r->from);
	push_ip(L, "source", &r->local);
	if (r->local_port)
		lnsl_setinteger(L, "source_port", r->local_port);
	if (o == NSL_PROBE_ANSWERED) {
		size_t n = r->reply_len < sizeof r->reply ? r->reply_len : sizeof r->reply;
		lua_pushlstring(L, (const char *)r->reply, n);
		lua_setfield(L, -2, "reply");
		lnsl_setinteger(L, "reply_len", (lua_Integer)r->reply_len);
	}
}

/**
 * ns:probe(proto, dst, port [, {timeout=, source=, dev=, payload=}])
 *   -> {proto, dst, port, outcome, ok, time, message, code, kind, icmp_type,
 *       icmp_code, mtu, from, source, source_port, reply, reply_len}
 * A TCP connect (as `nc -z -w TIMEOUT DST PORT`) or a UDP datagram (as
 * `nc -u`) from inside the namespace; outcome is "connected", "answered",
 * "refused", "timeout", "icmp" or "local".
 */
static int m_probe(lua_State *L)
{
	struct nsl_ns *ns = lnsl_checkns(L, 1);
	struct lnsl_optarg a = { L, 5, 5, "" };
	static const char *const protos[] = { "tcp", "udp", NULL };
	struct nsl_probe_opts o;
	struct nsl_probe_req q;
	struct nsl_probe_result *res;
	char buf[INET6_ADDRSTRLEN];
	lua_Integer port;
	int err;

	q.proto = luaL_checkoption(L, 2, NULL, protos) == 0 ? NSL_PROBE_TCP : NSL_PROBE_UDP;
	lnsl_checkip(L, 3, 0, &q.dst);
	port = luaL_checkinteger(L, 4);
	if (port < 1 || port > 65535)
		luaL_argerror(L, 4, lua_pushfstring(L, "port %I out of range (1 to 65535)", (LUAI_UACINT)port));
	q.port = (int)port;
	lua_settop(L, 5);
	nsl_probe_opts_init(&o);
	if (!lua_isnil(L, 5)) {
		read_opts(&a, &o);
		check_source(&a, &o, q.dst.family);
	}
	q.ns = ns;
	q.opts = NULL;
	res = lua_newuserdatauv(L, sizeof *res, 0);
	if ((err = nsl_probe_run(&q, 1, &o, res)) < 0)
		return lnsl_fail(L, err, "probe %s %s port %d in %s", q.proto == NSL_PROBE_TCP ? "tcp" : "udp",
				 nsl_ip_ntop(&q.dst, buf, sizeof buf), q.port, ns->label);
	push_result(L, &q, res);
	return 1;
}

/* Checks list[i] = {ns, proto, dst, port [, opts]} into q (and own opts). */
static void check_item(lua_State *L, lua_Integer i, const struct nsl_probe_opts *base,
		       struct nsl_probe_req *q, struct nsl_probe_opts *own)
{
	struct lnsl_optarg a;
	struct nsl_ns *ns;
	int item = lnsl_oa_item(L, i, &a, "{ns, proto, dst, port [, opts]}", &ns);

	read_target(&a, item, q);
	q->ns = ns;
	q->opts = NULL;
	a.idx = lua_gettop(L) + 1;
	if (lua_rawgeti(L, item, 5) != LUA_TNIL) {
		*own = *base;
		read_opts(&a, own);
		q->opts = own;
	}
	check_source(&a, q->opts ? q->opts : base, q->dst.family);
	lua_settop(L, item - 2);	/* the prefix and the item */
}

/**
 * netns.probe_many({{ns, proto, dst, port [, opts]}, ...} [, opts]) -> {result, ...}
 * Every probe at once in one event loop; results in the order of the list,
 * as ns:probe's.
 */
static int l_probe_many(lua_State *L)
{
	struct lnsl_optarg a = { L, 2, 2, "" };
	struct nsl_probe_opts base, *own;
	struct nsl_probe_req *reqs;
	struct nsl_probe_result *res;
	lua_Integer n;
	int err;

	luaL_checktype(L, 1, LUA_TTABLE);
	nsl_probe_opts_init(&base);
	if (!lua_isnoneornil(L, 2))
		read_opts(&a, &base);
	lua_settop(L, 2);
	n = (lua_Integer)lua_rawlen(L, 1);
	reqs = lua_newuserdatauv(L, (size_t)n * (sizeof *reqs + sizeof *own) + 1, 0);
	own = (struct nsl_probe_opts *)(void *)(reqs + n);
	for (lua_Integer i = 0; i < n; i++)
		check_item(L, i + 1, &base, &reqs[i], &own[i]);
	res = lua_newuserdatauv(L, (size_t)n * sizeof *res + 1, 0);
	if ((err = nsl_probe_run(reqs, (size_t)n, &base, res)) < 0)
		return lnsl_fail(L, err, "probe_many (%I probes)", (LUAI_UACINT)n);
	lua_createtable(L, (int)n, 0);
	for (lua_Integer i = 0; i < n; i++) {
		push_result(L, &reqs[i], &res[i]);
		lua_rawseti(L, -2, i + 1);
	}
	return 1;
}

void lnsl_open_probe(lua_State *L, int module, int methods)
{
	lua_pushcfunction(L, m_probe);
	lua_setfield(L, methods, "probe");
	lua_pushcfunction(L, l_probe_many);
	lua_setfield(L, module, "probe_many");
}
