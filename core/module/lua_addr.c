/*
 * ns:addr_add, ns:addr_del, ns:addrs: IP addresses on interfaces.
 *
 * Every argument is checked here before the engine (core/addr.c) runs, so a
 * bad address, prefix, option or interface name raises an argument error and
 * nothing is changed. Failures of the kernel raise a netns.Error whose op reads
 * like the ip command: `add address 192.0.2.1/24 dev d0 in ns1`.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <linux/if_addr.h>
#include <linux/rtnetlink.h>

#include "addr.h"
#include "lua_util.h"
#include "route.h"

/* broadcast = true | false | "a.b.c.d" (IPv4 only). */
static void optbroadcast(lua_State *L, int arg, struct nsl_addr_req *req)
{
	int t = lua_getfield(L, arg, "broadcast");
	int v4 = req->local.family == AF_INET;

	if (t == LUA_TNIL || (t == LUA_TBOOLEAN && !lua_toboolean(L, -1))) {
		req->brd_mode = t == LUA_TNIL && v4 ? NSL_BRD_AUTO : NSL_BRD_NONE;
	} else if (!v4) {
		lnsl_fielderror(L, arg, "broadcast", "a broadcast address is for IPv4 only");
	} else if (t == LUA_TBOOLEAN) {
		req->brd_mode = NSL_BRD_AUTO;
	} else if (t == LUA_TSTRING) {
		struct nsl_ip b;
		const char *s = lua_tostring(L, -1), *why;
		if (nsl_parse_ip(s, 0, &b, &why) < 0)
			lnsl_fielderror(L, arg, "broadcast", lua_pushfstring(L, "%s: %s", lnsl_quotez(L, s), why));
		if (b.family != AF_INET)
			lnsl_fielderror(L, arg, "broadcast",
					lua_pushfstring(L, "%s: not an IPv4 address", lnsl_quotez(L, s)));
		req->brd_mode = NSL_BRD_ADDR;
		memcpy(req->brd, b.addr, 4);
	} else {
		lnsl_fielderror(L, arg, "broadcast", lua_pushfstring(L,
				"boolean or string expected, got %s", luaL_typename(L, -1)));
	}
	lua_pop(L, 1);
}

/* iproute2's rule: an IPv4 label is the device name or starts with "dev:". */
static void optlabel(lua_State *L, int arg, const char *dev, struct nsl_addr_req *req)
{
	size_t n = strlen(dev), len;

	if (!lnsl_optstring(L, arg, "label", &req->label))
		return;
	len = strlen(req->label);
	if (req->local.family != AF_INET)
		lnsl_fielderror(L, arg, "label", "a label is for IPv4 only");
	if (len >= NSL_IFNAMSIZ)
		lnsl_fielderror(L, arg, "label", "too long (at most 15 bytes)");
	if (strncmp(req->label, dev, n) != 0 || (len > n && req->label[n] != ':'))
		lnsl_fielderror(L, arg, "label", lua_pushfstring(L,
				"'%s' must be the interface name or start with '%s:'", req->label, dev));
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)req->label[i] <= ' ' || req->label[i] == 0x7f ||
		    req->label[i] == '/')
			lnsl_fielderror(L, arg, "label",
					"contains whitespace, '/' or a control character");
}

static int optscope(lua_State *L, int arg)
{
	const char *s;
	int scope;

	if (!lnsl_optstring(L, arg, "scope", &s))
		return -1;
	if ((scope = nsl_scope_parse(s)) < 0)
		lnsl_fielderror(L, arg, "scope", lua_pushfstring(L,
				"unknown scope '%s' (expected global, site, link or host)", s));
	return scope;
}

/** ns:addr_add(dev, cidr [, {broadcast=, nodad=, label=, scope=}]):
 * adds an address, as `ip addr add CIDR dev DEV brd +`. IPv4 gets the
 * broadcast address `brd +` computes unless broadcast=false or an address is
 * given; nodad=true makes an IPv6 address usable at once (no DAD). */
static int m_addr_add(lua_State *L)
{
	static const char *const keys[] = { "broadcast", "nodad", "label", "scope", NULL };
	struct nsl_ns *ns = lnsl_checkns(L, 1);
	const char *dev = lnsl_checkifname(L, 2);
	const char *cidr;
	struct nsl_addr_req req;
	int err;

	memset(&req, 0, sizeof req);
	req.scope = -1;
	lnsl_checkip(L, 3, 1, &req.local);
	cidr = lua_tostring(L, 3);
	if (!lua_isnoneornil(L, 4)) {
		lnsl_checkopts(L, 4, keys);
		optbroadcast(L, 4, &req);
		lnsl_optboolean(L, 4, "nodad", &req.nodad);
		optlabel(L, 4, dev, &req);
		req.scope = optscope(L, 4);
	} else {
		req.brd_mode = req.local.family == AF_INET ? NSL_BRD_AUTO : NSL_BRD_NONE;
	}
	if ((err = nsl_addr_add(ns, dev, &req)) < 0)
		return lnsl_fail(L, err, "add address %s dev %s in %s", cidr, dev, ns->label);
	return 0;
}

/** ns:addr_del(dev, cidr): deletes an address, as `ip addr del CIDR dev DEV`;
 * the prefix length must match (EADDRNOTAVAIL otherwise). */
static int m_addr_del(lua_State *L)
{
	struct nsl_ns *ns = lnsl_checkns(L, 1);
	const char *dev = lnsl_checkifname(L, 2);
	struct nsl_ip local;
	int err;

	lnsl_checkip(L, 3, 1, &local);
	lua_settop(L, 3);
	if ((err = nsl_addr_del(ns, dev, &local)) < 0)
		return lnsl_fail(L, err, "delete address %s dev %s in %s",
				 lua_tostring(L, 3), dev, ns->label);
	return 0;
}

static void push_flags(lua_State *L, unsigned flags, int family)
{
	int n = 0;

	lua_newtable(L);
	for (unsigned bit = 1; bit; bit <<= 1) {
		const char *name = (flags & bit) ? nsl_addr_flag_name(bit, family) : NULL;
		if (name) {
			lua_pushstring(L, name);
			lua_rawseti(L, -2, ++n);
		}
	}
}

static void push_addr(lua_State *L, const struct nsl_addr_info *a)
{
	char buf[64], brd[16];

	lua_createtable(L, 0, 11);
	if (a->dev[0])
		lnsl_setstring(L, "dev", a->dev);
	lnsl_setinteger(L, "index", a->index);
	lnsl_setstring(L, "family", lnsl_family_name(a->local.family));
	lnsl_setstring(L, "address", nsl_ip_ntop(&a->local, buf, sizeof buf));
	lnsl_setinteger(L, "prefixlen", a->local.prefixlen);
	lua_pushfstring(L, "%s/%d", buf, a->local.prefixlen);
	lua_setfield(L, -2, "cidr");
	if (a->has_brd) {
		struct nsl_ip b = { .family = AF_INET };
		memcpy(b.addr, a->brd, 4);
		lnsl_setstring(L, "broadcast", nsl_ip_ntop(&b, brd, sizeof brd));
	}
	if (a->label[0])
		lnsl_setstring(L, "label", a->label);
	lnsl_setstring(L, "scope", nsl_scope_name(a->scope, buf, sizeof buf));
	push_flags(L, a->flags, a->local.family);
	lua_setfield(L, -2, "flags");
	lnsl_setboolean(L, "tentative", (a->flags & IFA_F_TENTATIVE) != 0);
}

/** ns:addrs([{dev=, family="inet"|"inet6"}]) -> { addr, ... }: the addresses,
 * as `ip addr show`, by interface index, IPv4 first. Each addr is
 * {dev, index, family, address, prefixlen, cidr, broadcast, label, scope,
 * flags = {"permanent", ...}, tentative}. */
static int m_addrs(lua_State *L)
{
	static const char *const keys[] = { "dev", "family", NULL };
	struct nsl_ns *ns = lnsl_checkns(L, 1);
	const char *dev = NULL;
	struct nsl_addr_info *v;
	int family = AF_UNSPEC, n;
	void **box;

	if (!lua_isnoneornil(L, 2)) {
		lnsl_checkopts(L, 2, keys);
		lnsl_optifname(L, 2, "dev", &dev);
		family = lnsl_optfamily(L, 2, "family");
	}
	box = lnsl_pushbox(L);
	if ((n = nsl_addr_list(ns, dev, family, &v)) < 0) {
		if (dev)
			return lnsl_fail(L, n, "list addresses dev %s in %s", dev, ns->label);
		return lnsl_fail(L, n, "list addresses in %s", ns->label);
	}
	*box = v;
	lua_createtable(L, n, 0);
	for (int i = 0; i < n; i++) {
		push_addr(L, &v[i]);
		lua_rawseti(L, -2, i + 1);
	}
	lnsl_box_free(box);
	return 1;
}

static const luaL_Reg methods[] = {
	{ "addr_add", m_addr_add },
	{ "addr_del", m_addr_del },
	{ "addrs", m_addrs },
	{ NULL, NULL }
};

void lnsl_open_addr(lua_State *L, int module, int methodtab)
{
	(void)module;
	lnsl_setfuncs(L, methodtab, methods);
}
