/*
 * ns:listen{...} -> netns.Listener: an in-process TCP or UDP listener over
 * listen.h. liolib-style handle: allocated closed, then opened; one
 * idempotent close serves l:close(), __close and __gc; using a closed
 * listener raises.
 */
#include <string.h>
#include <arpa/inet.h>

#include "errors.h"
#include "listen.h"
#include "lua_util.h"

#define LNSL_LISTENER "netns.Listener"

struct lua_listener {
	struct nsl_listener *l;		/* NULL once closed */
	int proto;
	struct nsl_ip addr;		/* family 0: every address */
	char label[64];			/* the namespace, for tostring */
};

static const char *const listen_keys[] = { "proto", "port", "addr", "reply", "echo", "dev", NULL };

static struct lua_listener *checklistener(lua_State *L, int idx)
{
	struct lua_listener *h = luaL_checkudata(L, idx, LNSL_LISTENER);

	if (!h->l)
		luaL_error(L, "attempt to use a closed listener");
	return h;
}

/**
 * ns:listen{proto = "tcp"|"udp", port = N, addr = "192.0.2.1", reply = "text" | false,
 *           echo = true, dev = "eth0"} -> netns.Listener
 * Answers inside the namespace until closed: echoes what arrives (the
 * default), sends a fixed reply (TCP: on accept, then ends its side; UDP:
 * to each datagram), or with reply = false answers nothing. port 0 (the
 * default) lets the kernel pick (l.port says which); no addr: every address
 * of both families.
 */
static int m_listen(lua_State *L)
{
	struct nsl_ns *ns = lnsl_checkns(L, 1);
	struct nsl_listen_opts o;
	struct lua_listener *h;
	const char *s, *dev;
	lua_Integer port = 0;
	char what[80], buf[INET6_ADDRSTRLEN];
	int echo = 1, err;

	lnsl_checkopts(L, 2, listen_keys);
	memset(&o, 0, sizeof o);
	o.mode = NSL_LISTEN_ECHO;
	if (!lnsl_optstring(L, 2, "proto", &s))
		lnsl_fielderror(L, 2, "proto", "'tcp' or 'udp' required");
	if (strcmp(s, "tcp") == 0)
		o.proto = NSL_PROBE_TCP;
	else if (strcmp(s, "udp") == 0)
		o.proto = NSL_PROBE_UDP;
	else
		lnsl_fielderror(L, 2, "proto", lua_pushfstring(L, "'tcp' or 'udp' expected, got '%s'", s));
	lnsl_optinteger(L, 2, "port", 0, 65535, &port);
	o.port = (int)port;
	lnsl_optip(L, 2, "addr", 0, &o.addr);
	if (lnsl_optifname(L, 2, "dev", &dev))
		memcpy(o.dev, dev, strlen(dev) + 1);
	lnsl_optboolean(L, 2, "echo", &echo);
	if (lua_getfield(L, 2, "reply") == LUA_TSTRING) {
		size_t len;
		o.reply = lua_tolstring(L, -1, &len);
		o.reply_len = len;
		o.mode = NSL_LISTEN_REPLY;
		if (len > NSL_LISTEN_MAX_REPLY)
			lnsl_fielderror(L, 2, "reply", lua_pushfstring(L, "%d bytes, at most %d",
								      (int)len, NSL_LISTEN_MAX_REPLY));
		if (!echo)
			lnsl_fielderror(L, 2, "echo", "a listener with a reply does not echo");
	} else if (lua_isboolean(L, -1) && !lua_toboolean(L, -1)) {
		o.mode = NSL_LISTEN_DISCARD;
	} else if (!lua_isnil(L, -1)) {
		lnsl_fielderror(L, 2, "reply", lua_pushfstring(L, "string or false expected, got %s",
							      luaL_typename(L, -1)));
	}
	if (!echo && o.mode == NSL_LISTEN_ECHO)
		o.mode = NSL_LISTEN_DISCARD;
	h = lua_newuserdatauv(L, sizeof *h, 0);
	memset(h, 0, sizeof *h);
	luaL_setmetatable(L, LNSL_LISTENER);
	h->proto = o.proto;
	h->addr = o.addr;
	snprintf(h->label, sizeof h->label, "%s", ns->label);
	if ((err = nsl_listen_open(ns, &o, &h->l, what, sizeof what)) < 0)
		return lnsl_fail(L, err, "listen %s %s port %d in %s: %s", o.proto == NSL_PROBE_TCP ? "tcp" : "udp",
				 o.addr.family ? nsl_ip_ntop(&o.addr, buf, sizeof buf) : "*",
				 o.port, ns->label, what);
	return 1;
}

/** l:stats() -> {connections, open, datagrams, bytes_in, bytes_out, peer, peer_port} */
static int l_stats(lua_State *L)
{
	struct lua_listener *h = checklistener(L, 1);
	struct nsl_listen_stats st;
	char buf[INET6_ADDRSTRLEN];

	nsl_listen_stats(h->l, &st);
	lua_createtable(L, 0, 7);
	lnsl_setinteger(L, "connections", (lua_Integer)st.connections);
	lnsl_setinteger(L, "open", (lua_Integer)st.open);
	lnsl_setinteger(L, "datagrams", (lua_Integer)st.datagrams);
	lnsl_setinteger(L, "bytes_in", (lua_Integer)st.bytes_in);
	lnsl_setinteger(L, "bytes_out", (lua_Integer)st.bytes_out);
	if (st.last_peer.family && nsl_ip_ntop(&st.last_peer, buf, sizeof buf)) {
		lnsl_setstring(L, "peer", buf);
		lnsl_setinteger(L, "peer_port", st.last_peer_port);
	}
	return 1;
}

/** l:close(): idempotent; also __close and __gc. */
static int l_close(lua_State *L)
{
	struct lua_listener *h = luaL_checkudata(L, 1, LNSL_LISTENER);

	nsl_listen_close(h->l);
	h->l = NULL;
	return 0;
}

/* l.port, l.proto, l.addr, l.closed, and the methods. */
static int l_index(lua_State *L)
{
	struct lua_listener *h = luaL_checkudata(L, 1, LNSL_LISTENER);
	const char *k = luaL_checkstring(L, 2);
	char buf[INET6_ADDRSTRLEN];

	if (strcmp(k, "closed") == 0) {
		lua_pushboolean(L, h->l == NULL);
	} else if (strcmp(k, "port") == 0 && h->l) {
		lua_pushinteger(L, nsl_listen_port(h->l));
	} else if (strcmp(k, "proto") == 0) {
		lua_pushstring(L, h->proto == NSL_PROBE_TCP ? "tcp" : "udp");
	} else if (strcmp(k, "addr") == 0 && h->addr.family) {
		lua_pushstring(L, nsl_ip_ntop(&h->addr, buf, sizeof buf));
	} else {
		lua_getfield(L, lua_upvalueindex(1), k);
	}
	return 1;
}

static int l_tostring(lua_State *L)
{
	struct lua_listener *h = luaL_checkudata(L, 1, LNSL_LISTENER);
	char buf[INET6_ADDRSTRLEN];

	if (!h->l)
		lua_pushfstring(L, LNSL_LISTENER " (closed)");
	else
		lua_pushfstring(L, LNSL_LISTENER " (%s %s port %d in %s)",
				h->proto == NSL_PROBE_TCP ? "tcp" : "udp",
				h->addr.family ? nsl_ip_ntop(&h->addr, buf, sizeof buf) : "*",
				nsl_listen_port(h->l), h->label);
	return 1;
}

/** netns.listeners() -> n: listeners open in this process (tests, leak checks). */
static int l_listeners(lua_State *L)
{
	lua_pushinteger(L, nsl_listen_count());
	return 1;
}

void lnsl_open_listen(lua_State *L, int module, int methods)
{
	static const luaL_Reg meths[] = { { "stats", l_stats }, { "close", l_close }, { NULL, NULL } };

	lua_pushcfunction(L, m_listen);
	lua_setfield(L, methods, "listen");
	lua_pushcfunction(L, l_listeners);
	lua_setfield(L, module, "listeners");
	luaL_newlib(L, meths);
	lnsl_handle_type(L, LNSL_LISTENER, l_close, l_tostring, l_index, -1);
	lua_pop(L, 1);
}
