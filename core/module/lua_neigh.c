/*
 * ns:neighs, ns:neigh_add, ns:neigh_del, ns:neigh_flush (the ARP and NDP
 * tables, as `ip neigh`) and ns:fdb (a bridge's forwarding database, as
 * `bridge fdb show`).
 *
 * The engine's arrays are held in lnsl_pushbox boxes (lua_util.h).
 */
#include <stdlib.h>
#include <string.h>
#include <linux/neighbour.h>

#include <stdio.h>

#include "fdb.h"
#include "lua_util.h"
#include "neigh.h"

/* The names `ip neigh` prints, in capitals; one bit is set in practice. */
static const char *state_name(int s)
{
	static const struct { int bit; const char *name; } names[] = {
		{ NUD_PERMANENT, "PERMANENT" }, { NUD_NOARP, "NOARP" },
		{ NUD_REACHABLE, "REACHABLE" }, { NUD_STALE, "STALE" },
		{ NUD_DELAY, "DELAY" }, { NUD_PROBE, "PROBE" },
		{ NUD_FAILED, "FAILED" }, { NUD_INCOMPLETE, "INCOMPLETE" },
	};

	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		if (s & names[i].bit)
			return names[i].name;
	return "NONE";
}

/* t.mac = "02:00:5e:10:00:01" (lower case, as iproute2), if the entry has one. */
static void set_lladdr(lua_State *L, const struct nsl_neigh *e)
{
	static const char hex[] = "0123456789abcdef";
	char buf[NSL_LLADDR_MAX * 3];
	int n = 0;

	if (e->lladdr_len == 0)
		return;
	for (int i = 0; i < e->lladdr_len; i++) {
		if (i)
			buf[n++] = ':';
		buf[n++] = hex[e->lladdr[i] >> 4];
		buf[n++] = hex[e->lladdr[i] & 15];
	}
	lua_pushlstring(L, buf, (size_t)n);
	lua_setfield(L, -2, "mac");
}

static void set_name(lua_State *L, const char *k, const char *name)
{
	if (name[0])
		lnsl_setstring(L, k, name);
}

/* The selection options of neighs (allkey "all") and neigh_flush ("permanent"). */
static void checksel(lua_State *L, int arg, const char *allkey, struct nsl_neigh_sel *sel)
{
	const char *const keys[] = { "dev", "family", allkey, NULL };

	memset(sel, 0, sizeof *sel);
	if (lua_isnoneornil(L, arg))
		return;
	lnsl_checkopts(L, arg, keys);
	lnsl_optifname(L, arg, "dev", &sel->dev);
	sel->family = lnsl_optfamily(L, arg, "family");
	lnsl_optboolean(L, arg, allkey, &sel->all);
}

/* A required field of an options table. */
static void required(lua_State *L, int arg, const char *field, int present)
{
	if (!present)
		lnsl_fielderror(L, arg, field, "required");
}

static void push_neigh(lua_State *L, const struct nsl_neigh *e)
{
	char buf[64];

	lua_createtable(L, 0, 6);
	lnsl_setstring(L, "address", nsl_ip_ntop(&e->dst, buf, sizeof buf));
	set_lladdr(L, e);
	lnsl_setstring(L, "state", state_name(e->state));
	set_name(L, "dev", e->dev);
	lnsl_setstring(L, "family", e->family == AF_INET ? "inet" : "inet6");
	lnsl_setboolean(L, "router", (e->flags & NTF_ROUTER) != 0);
}

/** ns:neighs([{dev=, family="inet"|"inet6", all=bool}]) -> {{address, mac, state, dev, family, router}, ...}:
 * the ARP and NDP entries, as `ip neigh show` (NOARP entries only with all=true). */
static int m_neighs(lua_State *L)
{
	struct nsl_ns *ns = lnsl_checkns(L, 1);
	struct nsl_neigh_sel sel;
	struct nsl_neigh **v;
	int n, k = 0;

	checksel(L, 2, "all", &sel);
	v = (struct nsl_neigh **)lnsl_pushbox(L);
	if ((n = nsl_neigh_list(ns, &sel, v)) < 0) {
		if (sel.dev)
			return lnsl_fail(L, n, "list neighbours dev \"%s\" in %s", sel.dev, ns->label);
		return lnsl_fail(L, n, "list neighbours in %s", ns->label);
	}
	lua_createtable(L, n, 0);
	for (int i = 0; i < n; i++) {
		if ((*v)[i].dst.family == 0)
			continue;	/* no IP address: nothing `ip neigh` would show */
		push_neigh(L, &(*v)[i]);
		lua_rawseti(L, -2, ++k);
	}
	lnsl_box_free((void **)v);
	return 1;
}

/** ns:neigh_add{dev=, address=, mac= [, replace=bool]}: a PERMANENT entry, as
 * `ip neigh add ADDRESS lladdr MAC dev DEV nud permanent` (`ip neigh replace` with replace=true). */
static int m_neigh_add(lua_State *L)
{
	static const char *const keys[] = { "dev", "address", "mac", "replace", NULL };
	struct nsl_ns *ns = lnsl_checkns(L, 1);
	const char *dev = NULL;
	struct nsl_ip ip;
	unsigned char mac[6];
	char buf[64];
	int replace = 0, err;

	lnsl_checkopts(L, 2, keys);
	required(L, 2, "dev", lnsl_optifname(L, 2, "dev", &dev));
	required(L, 2, "address", lnsl_optip(L, 2, "address", 0, &ip));
	required(L, 2, "mac", lnsl_optmac(L, 2, "mac", mac));
	lnsl_optboolean(L, 2, "replace", &replace);
	if ((err = nsl_neigh_add(ns, dev, &ip, mac, replace)) < 0)
		return lnsl_fail(L, err, "add neighbour %s dev \"%s\" in %s",
				 nsl_ip_ntop(&ip, buf, sizeof buf), dev, ns->label);
	return 0;
}

/** ns:neigh_del{dev=, address=}: as `ip neigh del ADDRESS dev DEV`; ENOENT if there is none. */
static int m_neigh_del(lua_State *L)
{
	static const char *const keys[] = { "dev", "address", NULL };
	struct nsl_ns *ns = lnsl_checkns(L, 1);
	const char *dev = NULL;
	struct nsl_ip ip;
	char buf[64];
	int err;

	lnsl_checkopts(L, 2, keys);
	required(L, 2, "dev", lnsl_optifname(L, 2, "dev", &dev));
	required(L, 2, "address", lnsl_optip(L, 2, "address", 0, &ip));
	if ((err = nsl_neigh_del(ns, dev, &ip)) < 0)
		return lnsl_fail(L, err, "delete neighbour %s dev \"%s\" in %s",
				 nsl_ip_ntop(&ip, buf, sizeof buf), dev, ns->label);
	return 0;
}

/** ns:neigh_flush([{dev=, family=, permanent=bool}]) -> integer: removes the dynamic
 * entries, as `ip neigh flush all` (PERMANENT ones too with permanent=true); the number removed. */
static int m_neigh_flush(lua_State *L)
{
	struct nsl_ns *ns = lnsl_checkns(L, 1);
	struct nsl_neigh_sel sel;
	int n;

	checksel(L, 2, "permanent", &sel);
	if ((n = nsl_neigh_flush(ns, &sel)) < 0) {
		if (sel.dev)
			return lnsl_fail(L, n, "flush neighbours dev \"%s\" in %s", sel.dev, ns->label);
		return lnsl_fail(L, n, "flush neighbours in %s", ns->label);
	}
	lua_pushinteger(L, n);
	return 1;
}

/* The words `bridge fdb show` prints for an entry's flags. */
static void set_fdb_flags(lua_State *L, unsigned int flags)
{
	static const struct { unsigned int bit; const char *name; } names[] = {
		{ NTF_SELF, "self" }, { NTF_MASTER, "master" }, { NTF_ROUTER, "router" },
		{ NTF_EXT_LEARNED, "extern_learn" }, { NTF_OFFLOADED, "offload" },
		{ NTF_STICKY, "sticky" },
	};
	int k = 0;

	lua_createtable(L, 2, 0);
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		if (flags & names[i].bit) {
			lua_pushstring(L, names[i].name);
			lua_rawseti(L, -2, ++k);
		}
	}
	lua_setfield(L, -2, "flags");
}

static void push_fdb(lua_State *L, const struct nsl_neigh *e)
{
	lua_createtable(L, 0, 7);
	set_lladdr(L, e);
	set_name(L, "dev", e->dev);
	set_name(L, "master", e->master);
	/* Not learned: the bridge's and its ports' own addresses (PERMANENT,
	 * `bridge fdb` says "permanent") and added ones (NOARP, "static"). */
	lnsl_setboolean(L, "permanent", (e->state & (NUD_PERMANENT | NUD_NOARP)) != 0);
	lnsl_setstring(L, "state", state_name(e->state));
	if (e->vlan >= 0)
		lnsl_setinteger(L, "vlan", e->vlan);
	set_fdb_flags(L, e->flags);
}

/** ns:fdb([{dev=}]) -> {{mac, dev, master, permanent, state, vlan, flags}, ...}: the bridge
 * forwarding database, as `bridge fdb show` (dev: a bridge, as `br DEV`, or a port, as `dev DEV`). */
static int m_fdb(lua_State *L)
{
	static const char *const keys[] = { "dev", NULL };
	struct nsl_ns *ns = lnsl_checkns(L, 1);
	const char *dev = NULL;
	struct nsl_neigh **v;
	int n;

	if (!lua_isnoneornil(L, 2)) {
		lnsl_checkopts(L, 2, keys);
		lnsl_optifname(L, 2, "dev", &dev);
	}
	v = (struct nsl_neigh **)lnsl_pushbox(L);
	if ((n = nsl_fdb_list(ns, dev, v)) < 0) {
		if (dev)
			return lnsl_fail(L, n, "list fdb dev \"%s\" in %s", dev, ns->label);
		return lnsl_fail(L, n, "list fdb in %s", ns->label);
	}
	lua_createtable(L, n, 0);
	for (int i = 0; i < n; i++) {
		push_fdb(L, &(*v)[i]);
		lua_rawseti(L, -2, i + 1);
	}
	lnsl_box_free((void **)v);
	return 1;
}

/** ns:fdb_add{dev=, mac=, static=false}: as `bridge fdb replace MAC dev DEV master
 * dynamic` (or `static`): the bridge whose port dev is forwards frames for mac to
 * dev; a dynamic entry ages out like a learnt one. */
static int m_fdb_add(lua_State *L)
{
	static const char *const keys[] = { "dev", "mac", "static", NULL };
	struct nsl_ns *ns = lnsl_checkns(L, 1);
	const char *dev = NULL;
	unsigned char mac[6];
	char text[18];
	int is_static = 0, err;

	lnsl_checkopts(L, 2, keys);
	required(L, 2, "dev", lnsl_optifname(L, 2, "dev", &dev));
	required(L, 2, "mac", lnsl_optmac(L, 2, "mac", mac));
	lnsl_optboolean(L, 2, "static", &is_static);
	if ((err = nsl_fdb_add(ns, dev, mac, is_static)) < 0) {
		snprintf(text, sizeof text, "%02x:%02x:%02x:%02x:%02x:%02x",
			 mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]);
		return lnsl_fail(L, err, "add fdb %s dev \"%s\" in %s", text, dev, ns->label);
	}
	return 0;
}

/* Entry i of ns:fdb_add_many's list, checked: an argument error names it. */
static void check_entry(lua_State *L, int i, struct nsl_fdb_entry *e)
{
	const char *dev, *mac, *why;
	size_t len;

	if (lua_rawgeti(L, 2, i) != LUA_TTABLE)
		luaL_argerror(L, 2, lua_pushfstring(L, "entry %d: table expected, got %s", i, luaL_typename(L, -1)));
	lua_pushnil(L);
	while (lua_next(L, -2)) {
		const char *k = lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : NULL;
		if (!k || (strcmp(k, "dev") && strcmp(k, "mac") && strcmp(k, "static")))
			luaL_argerror(L, 2, lua_pushfstring(L, "entry %d: unknown option '%s' (known: dev, mac, static)",
							    i, luaL_tolstring(L, -2, NULL)));
		lua_pop(L, 1);
	}
	lua_getfield(L, -1, "dev");
	if (lua_type(L, -1) != LUA_TSTRING)
		luaL_argerror(L, 2, lua_pushfstring(L, "entry %d: field 'dev': string expected", i));
	dev = lua_tolstring(L, -1, &len);
	if (nsl_check_ifname(dev, len, &why) < 0)
		luaL_argerror(L, 2, lua_pushfstring(L, "entry %d: field 'dev': interface name '%s' %s", i, dev, why));
	lua_getfield(L, -2, "mac");
	if (lua_type(L, -1) != LUA_TSTRING)
		luaL_argerror(L, 2, lua_pushfstring(L, "entry %d: field 'mac': string expected", i));
	mac = lua_tolstring(L, -1, &len);
	if (strlen(mac) != len || nsl_parse_mac(mac, e->mac, &why) < 0)
		luaL_argerror(L, 2, lua_pushfstring(L, "entry %d: field 'mac': '%s': %s", i, mac,
						    strlen(mac) != len ? "has a NUL byte" : why));
	lua_getfield(L, -3, "static");
	e->is_static = lua_toboolean(L, -1);
	e->port = dev;	/* held by the list, which stays at arg 2 */
	lua_pop(L, 4);
}

/** ns:fdb_add_many{{dev=, mac= [, static=]}, ...}: ns:fdb_add for each entry, sent in
 * batches (one round trip per 256 entries); every entry is checked before any is sent.
 * Entries for the same port next to each other are looked up once. */
static int m_fdb_add_many(lua_State *L)
{
	struct nsl_ns *ns = lnsl_checkns(L, 1);
	struct nsl_fdb_entry *v;
	lua_Integer n;
	int failed, err;

	luaL_checktype(L, 2, LUA_TTABLE);
	n = luaL_len(L, 2);
	if (n > 1 << 24)
		luaL_argerror(L, 2, "too many entries");
	v = (struct nsl_fdb_entry *)lua_newuserdatauv(L, (size_t)(n > 0 ? n : 1) * sizeof *v, 0);
	for (int i = 1; i <= n; i++)
		check_entry(L, i, &v[i - 1]);
	if ((err = nsl_fdb_add_many(ns, v, (int)n, &failed)) < 0) {
		const unsigned char *m;
		char text[18];

		if (failed < 0)
			return lnsl_fail(L, err, "add fdb entries in %s", ns->label);
		m = v[failed].mac;
		snprintf(text, sizeof text, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
		return lnsl_fail(L, err, "add fdb %s dev \"%s\" (entry %d) in %s", text, v[failed].port,
				 failed + 1, ns->label);
	}
	return 0;
}

static const luaL_Reg methods[] = {
	{ "neighs", m_neighs },
	{ "neigh_add", m_neigh_add },
	{ "neigh_del", m_neigh_del },
	{ "neigh_flush", m_neigh_flush },
	{ "fdb", m_fdb },
	{ "fdb_add", m_fdb_add },
	{ "fdb_add_many", m_fdb_add_many },
	{ NULL, NULL }
};

void lnsl_open_neigh(lua_State *L, int module, int methodtab)
{
	(void)module;
	lnsl_setfuncs(L, methodtab, methods);
}
