/*
 * ns:link_add / link_set / link_del / link_get / links: the Lua face of link.h.
 *
 * Every argument and option is checked here, before the engine is called, so
 * a mistake raises naming the argument or field and nothing is created. The
 * options of a veth's far end live in a nested table; they are checked with
 * the same helpers and reported as 'peer.name', 'peer.ns', ... (see
 * check_peer). A failure of the kernel raises a netns.Error such as
 * `add veth a/b in ns1: File exists (EEXIST)`.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <net/if.h>
#include <linux/if.h>
#include <arpa/inet.h>

#include "link.h"
#include "lua_util.h"

#define MTU_MIN 68		/* the IPv4 minimum, and the kernel's ETH_MIN_MTU */
#define MTU_MAX 65535
#define VLAN_ID_MAX 4094
#define VNI_MAX 0xffffff
#define QUEUES_MAX 4096		/* the kernel's limit for a new device */

static const char *const add_keys[] = {
	"name", "kind", "mtu", "mac", "up", "master", "peer", "link", "id", "mode",
	"group", "remote", "local", "port", "dev", "mcast_snooping", "stp", "ageing_time", "queues", NULL
};
static const char *const peer_keys[] = {
	"peer.name", "peer.ns", "peer.mac", "peer.mtu", "peer.up", NULL
};
static const char *const set_keys[] = {
	"up", "mtu", "mac", "name", "master", "ns", "alias", NULL
};

#define K(k) (1u << (k))
/* Options that belong to some kinds only, and to which. */
static const struct {
	const char *field;
	unsigned int kinds;
	const char *which;
} kind_fields[] = {
	{ "peer", K(NSL_LINK_VETH), "veth" },
	{ "queues", K(NSL_LINK_VETH), "veth" },
	{ "link", K(NSL_LINK_VLAN) | K(NSL_LINK_MACVLAN) | K(NSL_LINK_VXLAN), "vlan, macvlan and vxlan" },
	{ "id", K(NSL_LINK_VLAN) | K(NSL_LINK_VXLAN), "vlan and vxlan" },
	{ "mode", K(NSL_LINK_MACVLAN), "macvlan" },
	{ "group", K(NSL_LINK_VXLAN), "vxlan" },
	{ "remote", K(NSL_LINK_VXLAN), "vxlan" },
	{ "local", K(NSL_LINK_VXLAN), "vxlan" },
	{ "port", K(NSL_LINK_VXLAN), "vxlan" },
	{ "dev", K(NSL_LINK_VXLAN), "vxlan" },
	{ "mcast_snooping", K(NSL_LINK_BRIDGE), "bridge" },
	{ "stp", K(NSL_LINK_BRIDGE), "bridge" },
	{ "ageing_time", K(NSL_LINK_BRIDGE), "bridge" },
};

static int has_field(lua_State *L, int arg, const char *field)
{
	int present = lua_getfield(L, arg, field) != LUA_TNIL;

	lua_pop(L, 1);
	return present;
}

/* "a, b and c" of a NULL-terminated list, pushed on the stack. */
static const char *push_list(lua_State *L, const char *const names[])
{
	luaL_Buffer b;

	luaL_buffinit(L, &b);
	for (int i = 0; names[i]; i++) {
		if (i)
			luaL_addstring(&b, names[i + 1] ? ", " : " or ");
		luaL_addstring(&b, names[i]);
	}
	luaL_pushresult(&b);
	return lua_tostring(L, -1);
}

static int check_choice(lua_State *L, int arg, const char *field, const char *const names[],
			const char *what, int required)
{
	const char *s;

	if (!lnsl_optstring(L, arg, field, &s)) {
		if (required)
			lnsl_fielderror(L, arg, field, lua_pushfstring(L, "missing (expected %s)",
								       push_list(L, names)));
		return -1;
	}
	for (int i = 0; names[i]; i++)
		if (strcmp(s, names[i]) == 0)
			return i;
	return lnsl_fielderror(L, arg, field, lua_pushfstring(L, "unknown %s '%s' (expected %s)",
							      what, s, push_list(L, names)));
}

/* name, mtu, mac and up: what a link and a veth's far end have in common.
 * field(x) is x itself, or "peer.x" while the peer is checked. */
static void check_end(lua_State *L, int arg, const char *prefix, struct nsl_link_end *end)
{
	char f[16];
	lua_Integer mtu;

	snprintf(f, sizeof f, "%sname", prefix);
	if (!lnsl_optifname(L, arg, f, &end->name))
		lnsl_fielderror(L, arg, f, "missing (the interface name)");
	snprintf(f, sizeof f, "%smtu", prefix);
	if (lnsl_optinteger(L, arg, f, MTU_MIN, MTU_MAX, &mtu))
		end->mtu = (unsigned int)mtu;
	snprintf(f, sizeof f, "%smac", prefix);
	end->has_mac = lnsl_optmac(L, arg, f, end->mac);
	snprintf(f, sizeof f, "%sup", prefix);
	lnsl_optboolean(L, arg, f, &end->up);
}

/*
 * The peer table is copied into a flat one with keys "peer.name", ... that
 * stands in for argument 2 while it is checked, so the shared helpers report
 * "bad argument #1 to 'link_add' (field 'peer.name': ...)". Its strings and
 * Namespace stay referenced from the caller's table.
 */
static void check_peer(lua_State *L, struct nsl_link_end *peer)
{
	int top = lua_gettop(L), src, flat, saved;

	if (lua_getfield(L, 2, "peer") != LUA_TTABLE)
		lnsl_fielderror(L, 2, "peer", lua_pushfstring(L, "table expected, got %s",
							      luaL_typename(L, -1)));
	src = lua_gettop(L);
	lua_newtable(L);
	flat = lua_gettop(L);
	lua_pushnil(L);
	while (lua_next(L, src)) {
		if (lua_type(L, -2) != LUA_TSTRING)
			lnsl_fielderror(L, 2, "peer", "option names must be strings");
		lua_pushfstring(L, "peer.%s", lua_tostring(L, -2));
		lua_insert(L, -2);
		lua_rawset(L, flat);
	}
	lua_pushvalue(L, 2);
	saved = lua_gettop(L);
	lua_copy(L, flat, 2);
	lnsl_checkopts(L, 2, peer_keys);
	check_end(L, 2, "peer.", peer);
	lnsl_optns(L, 2, "peer.ns", &peer->ns);
	lua_copy(L, saved, 2);
	lua_settop(L, top);
}

static void check_kind_fields(lua_State *L, enum nsl_link_kind kind)
{
	for (size_t i = 0; i < sizeof kind_fields / sizeof kind_fields[0]; i++)
		if (!(kind_fields[i].kinds & K(kind)) && has_field(L, 2, kind_fields[i].field))
			lnsl_fielderror(L, 2, kind_fields[i].field,
					lua_pushfstring(L, "not an option of kind '%s' (only of %s)",
							nsl_link_kinds[kind], kind_fields[i].which));
}

static int is_multicast(const struct nsl_ip *ip)
{
	return ip->family == AF_INET ? (ip->addr[0] & 0xf0) == 0xe0 : ip->addr[0] == 0xff;
}

/* The vxlan options: who the tunnel talks to and over which device. */
static void check_vxlan(lua_State *L, struct nsl_link_spec *s)
{
	lua_Integer port;
	const char *dev;

	if (lnsl_optifname(L, 2, "dev", &dev)) {
		if (s->parent)
			lnsl_fielderror(L, 2, "dev", "give either 'dev' or 'link', not both");
		s->parent = dev;
	}
	if (lnsl_optip(L, 2, "group", 0, &s->group) && !is_multicast(&s->group))
		lnsl_fielderror(L, 2, "group", "not a multicast address (use 'remote' for unicast)");
	if (lnsl_optip(L, 2, "remote", 0, &s->remote)) {
		if (s->group.family)
			lnsl_fielderror(L, 2, "remote", "give either 'group' or 'remote', not both");
		if (is_multicast(&s->remote))
			lnsl_fielderror(L, 2, "remote", "a multicast address (use 'group')");
	}
	if (s->group.family && !s->parent)
		lnsl_fielderror(L, 2, "group", "a multicast group needs 'dev'");
	if (lnsl_optip(L, 2, "local", 0, &s->local)) {
		int other = s->group.family ? s->group.family : s->remote.family;
		if (is_multicast(&s->local))
			lnsl_fielderror(L, 2, "local", "a multicast address");
		if (other && other != s->local.family)
			lnsl_fielderror(L, 2, "local", "address family differs from the group's or remote's");
	}
	if (lnsl_optinteger(L, 2, "port", 1, 65535, &port))
		s->port = (uint16_t)port;
}

/* Bridge options; ageing_time in seconds, as `ip link ... ageing_time` takes
 * centiseconds but people think in seconds (the kernel's range: 0 or 10 s
 * to about 11 days). */
static void check_bridge(lua_State *L, struct nsl_bridge_opts *o)
{
	lua_Number ageing;

	o->mcast_snooping = o->stp = -1;
	o->ageing_cs = -1;
	lnsl_optboolean(L, 2, "mcast_snooping", &o->mcast_snooping);
	lnsl_optboolean(L, 2, "stp", &o->stp);
	if (lnsl_optnumber(L, 2, "ageing_time", 0, 1000000, &ageing)) {
		if (ageing != 0 && ageing < 10)
			lnsl_fielderror(L, 2, "ageing_time", "0 (never age) or at least 10 seconds");
		o->ageing_cs = (int64_t)(ageing * 100 + 0.5);
	}
}

static void check_add(lua_State *L, struct nsl_link_spec *s)
{
	lua_Integer id;
	int mode;

	memset(s, 0, sizeof *s);
	lnsl_checkopts(L, 2, add_keys);
	s->kind = (enum nsl_link_kind)check_choice(L, 2, "kind", nsl_link_kinds, "kind", 1);
	check_kind_fields(L, s->kind);
	check_end(L, 2, "", &s->self);
	lnsl_optifname(L, 2, "master", &s->master);
	lnsl_optifname(L, 2, "link", &s->parent);
	switch (s->kind) {
	case NSL_LINK_VETH:
		check_peer(L, &s->peer);
		if (!s->peer.ns && strcmp(s->peer.name, s->self.name) == 0)
			lnsl_fielderror(L, 2, "peer.name", "same as 'name' in the same namespace "
					"(give 'peer.ns' to use the name in another one)");
		if (lnsl_optinteger(L, 2, "queues", 1, QUEUES_MAX, &id))
			s->queues = (unsigned int)id;
		break;
	case NSL_LINK_VLAN:
	case NSL_LINK_MACVLAN:
		if (!s->parent)
			lnsl_fielderror(L, 2, "link", "missing (the parent link's name)");
		if (s->kind == NSL_LINK_VLAN) {
			if (!lnsl_optinteger(L, 2, "id", 0, VLAN_ID_MAX, &id))
				lnsl_fielderror(L, 2, "id", "missing (the VLAN id, 0 to 4094)");
			s->id = (uint32_t)id;
		}
		if ((mode = check_choice(L, 2, "mode", nsl_macvlan_modes, "macvlan mode", 0)) >= 0)
			s->mode = nsl_macvlan_modes[mode];
		break;
	case NSL_LINK_BRIDGE:
		check_bridge(L, &s->bridge);
		break;
	case NSL_LINK_VXLAN:
		if (!lnsl_optinteger(L, 2, "id", 0, VNI_MAX, &id))
			lnsl_fielderror(L, 2, "id", "missing (the VNI, 0 to 16777215)");
		s->id = (uint32_t)id;
		check_vxlan(L, s);
		break;
	default:
		break;
	}
}

/** ns:link_add{name=, kind=, mtu=, mac=, up=, master=, peer={name=, ns=, mac=, mtu=, up=},
 *  queues=, link=, id=, mode=, group=, remote=, local=, port=, dev=}: creates a link (both ends of
 *  a veth, each in its own namespace), as `ip link add`. */
static int m_link_add(lua_State *L)
{
	struct nsl_ns *ns = lnsl_checkns(L, 1);
	struct nsl_link_spec s;
	char what[NSL_WHAT_LEN];
	int err;

	check_add(L, &s);
	if ((err = nsl_link_add(ns, &s, what)) < 0) {
		const char *sep = what[0] ? ": " : "";
		if (s.kind == NSL_LINK_VETH)
			return lnsl_fail(L, err, "add veth %s/%s in %s%s%s", s.self.name, s.peer.name,
					 ns->label, sep, what);
		return lnsl_fail(L, err, "add %s %s in %s%s%s", nsl_link_kinds[s.kind], s.self.name,
				 ns->label, sep, what);
	}
	return 0;
}

/* master = "br0" | false; alias = a string of at most 255 bytes. */
static void check_set_strings(lua_State *L, struct nsl_link_change *c)
{
	size_t len;
	const char *s;
	int t = lua_getfield(L, 3, "master");

	if (t == LUA_TBOOLEAN && !lua_toboolean(L, -1))
		c->master = "";
	else if (t != LUA_TNIL && t != LUA_TSTRING)
		lnsl_fielderror(L, 3, "master", lua_pushfstring(L, "interface name or false expected, got %s",
								t == LUA_TBOOLEAN ? "true" : luaL_typename(L, -1)));
	lua_pop(L, 1);
	if (t == LUA_TSTRING)
		lnsl_optifname(L, 3, "master", &c->master);
	if (lnsl_optstring(L, 3, "alias", &s)) {
		lua_getfield(L, 3, "alias");
		lua_tolstring(L, -1, &len);
		lua_pop(L, 1);
		if (memchr(s, '\0', len))
			lnsl_fielderror(L, 3, "alias", "contains a NUL byte");
		if (len > 255)
			lnsl_fielderror(L, 3, "alias", "too long (at most 255 bytes)");
		c->alias = s;
	}
}

/** ns:link_set(name, {up=, mtu=, mac=, name=, master="br0"|false, ns=, alias=}): changes a
 *  link with one request, as `ip link set`; ns= moves it to that namespace. */
static int m_link_set(lua_State *L)
{
	struct nsl_ns *ns = lnsl_checkns(L, 1);
	const char *name = lnsl_checkifname(L, 2);
	struct nsl_link_change c;
	char what[NSL_WHAT_LEN];
	lua_Integer mtu;
	int err;

	memset(&c, 0, sizeof c);
	c.up = -1;
	lnsl_checkopts(L, 3, set_keys);
	lnsl_optboolean(L, 3, "up", &c.up);
	if (lnsl_optinteger(L, 3, "mtu", MTU_MIN, MTU_MAX, &mtu))
		c.mtu = (unsigned int)mtu;
	c.has_mac = lnsl_optmac(L, 3, "mac", c.mac);
	lnsl_optifname(L, 3, "name", &c.rename);
	lnsl_optns(L, 3, "ns", &c.move_to);
	check_set_strings(L, &c);
	if ((err = nsl_link_set(ns, name, &c, what)) < 0)
		return lnsl_fail(L, err, "set link %s in %s%s%s", name, ns->label,
				 what[0] ? ": " : "", what);
	return 0;
}

/** ns:link_del(name): deletes a link (a veth takes its peer along), as `ip link del`. */
static int m_link_del(lua_State *L)
{
	struct nsl_ns *ns = lnsl_checkns(L, 1);
	const char *name = lnsl_checkifname(L, 2);
	int err;

	if ((err = nsl_link_del(ns, name)) < 0)
		return lnsl_fail(L, err, "delete link %s in %s", name, ns->label);
	return 0;
}

static void push_info(lua_State *L, const struct nsl_link_info *li)
{
	int n = 0;

	lua_createtable(L, 0, 16);
	lnsl_setstring(L, "name", li->name);
	lnsl_setinteger(L, "index", li->index);
	if (li->kind[0])
		lnsl_setstring(L, "kind", li->kind);
	lnsl_setboolean(L, "up", (li->flags & IFF_UP) != 0);
	lnsl_setboolean(L, "running", (li->flags & IFF_RUNNING) != 0);
	lnsl_setstring(L, "operstate", nsl_link_operstate_name(li->operstate));
	lua_newtable(L);
	for (int i = 0; nsl_link_flag_names[i].name; i++) {
		if (li->flags & nsl_link_flag_names[i].flag) {
			lua_pushstring(L, nsl_link_flag_names[i].name);
			lua_rawseti(L, -2, ++n);
		}
	}
	lua_setfield(L, -2, "flags");
	lnsl_setinteger(L, "mtu", li->mtu);
	if (li->mac[0])
		lnsl_setstring(L, "mac", li->mac);
	if (li->master_index) {
		lnsl_setinteger(L, "master_index", li->master_index);
		if (li->master[0])
			lnsl_setstring(L, "master", li->master);
	}
	if (li->link_index)
		lnsl_setinteger(L, "link_index", li->link_index);
	if (li->has_peer_netnsid)
		lnsl_setinteger(L, "peer_netnsid", li->peer_netnsid);
	if (li->alias[0])
		lnsl_setstring(L, "alias", li->alias);
	lua_createtable(L, 0, NSL_LINK_NSTATS);
	for (int i = 0; i < NSL_LINK_NSTATS; i++)
		lnsl_setinteger(L, nsl_link_stat_names[i], (lua_Integer)li->stats[i]);
	lua_setfield(L, -2, "stats");
}

/** ns:link_get(name) -> table|nil: one link (see doc/api/link.md), nil if there is none. */
static int m_link_get(lua_State *L)
{
	struct nsl_ns *ns = lnsl_checkns(L, 1);
	const char *name = lnsl_checkifname(L, 2);
	struct nsl_link_info li;
	int err;

	if ((err = nsl_link_get(ns, name, &li)) == -ENODEV) {
		lua_pushnil(L);
		return 1;
	}
	if (err < 0)
		return lnsl_fail(L, err, "get link %s in %s", name, ns->label);
	push_info(L, &li);
	return 1;
}

/** ns:link_state(name) -> {up=, running=, carrier=, operstate=, mac=}|nil: the part of link_get a poll needs, cheaper (doc/api/link.md). */
static int m_link_state(lua_State *L)
{
	struct nsl_ns *ns = lnsl_checkns(L, 1);
	const char *name = lnsl_checkifname(L, 2);
	struct nsl_link_state st;
	int err;

	if ((err = nsl_link_state(ns, name, &st)) == -ENODEV) {
		lua_pushnil(L);
		return 1;
	}
	if (err < 0)
		return lnsl_fail(L, err, "get link %s in %s", name, ns->label);
	lua_createtable(L, 0, 5);
	lnsl_setboolean(L, "up", (st.flags & IFF_UP) != 0);
	lnsl_setboolean(L, "running", (st.flags & IFF_RUNNING) != 0);
	lnsl_setboolean(L, "carrier", (st.flags & IFF_LOWER_UP) != 0);
	lnsl_setstring(L, "operstate", nsl_link_operstate_name(st.operstate));
	if (st.mac[0])
		lnsl_setstring(L, "mac", st.mac);
	return 1;
}

/** ns:links() -> { table, ... }: every link of the namespace, sorted by index, as `ip link show`. */
static int m_links(lua_State *L)
{
	struct nsl_ns *ns = lnsl_checkns(L, 1);
	struct nsl_link_info *v;
	void **box;
	int n;

	box = lnsl_pushbox(L);
	if ((n = nsl_link_list(ns, &v)) < 0)
		return lnsl_fail(L, n, "list links in %s", ns->label);
	*box = v;
	lua_createtable(L, n, 0);
	for (int i = 0; i < n; i++) {
		push_info(L, &v[i]);
		lua_rawseti(L, -2, i + 1);
	}
	lnsl_box_free(box);
	return 1;
}

static const luaL_Reg methods[] = {
	{ "link_add", m_link_add },
	{ "link_set", m_link_set },
	{ "link_del", m_link_del },
	{ "link_get", m_link_get },
	{ "link_state", m_link_state },
	{ "links", m_links },
	{ NULL, NULL }
};

void lnsl_open_link(lua_State *L, int module, int methodtab)
{
	(void)module;
	lnsl_setfuncs(L, methodtab, methods);
}
