/*
 * netns.create/open/delete/list and the netns.Namespace handle.
 *
 * A handle is a full userdata holding an nsl_ns, made closed first and filled
 * in only when the open succeeded (liolib's pattern), so a failing open leaks
 * nothing. close() is idempotent and serves as __gc and __close; any use after
 * close raises "namespace is closed". Deleting a namespace is always explicit.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "link.h"
#include "lua_util.h"
#include "prefetch.h"
#include "release.h"

static struct nsl_ns *newns(lua_State *L)
{
	struct nsl_ns *ns = lua_newuserdatauv(L, sizeof *ns, 0);

	memset(ns, 0, sizeof *ns);
	ns->fd = -1;
	luaL_setmetatable(L, LNSL_NAMESPACE);
	return ns;
}

/*
 * A lab node (a table whose field ns is its Namespace) stands for its
 * namespace as the self of a method: node:exec{...} calls the method itself,
 * so its errors name the method and the script's line. The node is replaced
 * by its handle at idx; a node without an open handle is not up.
 */
static struct nsl_ns *self_ns(lua_State *L, int idx)
{
	if (lua_type(L, idx) == LUA_TTABLE) {
		struct nsl_ns *ns;

		lua_pushliteral(L, "ns");
		lua_rawget(L, idx);
		ns = luaL_testudata(L, -1, LNSL_NAMESPACE);
		if (!ns || ns->fd < 0) {
			lua_pushliteral(L, "name");
			lua_rawget(L, idx);
			if (lua_type(L, -1) == LUA_TSTRING)
				luaL_error(L, "node '%s' is not up", lua_tostring(L, -1));
			lua_pop(L, 2);
			return luaL_checkudata(L, idx, LNSL_NAMESPACE);
		}
		lua_replace(L, idx);
		return ns;
	}
	return luaL_checkudata(L, idx, LNSL_NAMESPACE);
}

struct nsl_ns *lnsl_checkns(lua_State *L, int idx)
{
	struct nsl_ns *ns = self_ns(L, idx);

	if (ns->fd < 0)
		luaL_argerror(L, idx, "namespace is closed");
	return ns;
}

static const char *const create_keys[] = { "mark", "persist", "lo_up", NULL };

#define CREATE_HOOK "netns.create_hook"

/* The mark the runner's hook gives a namespace created without one (see
 * netns.set_create_hook), left on the stack; NULL when there is no hook. */
static const char *hook_mark(lua_State *L, const char *name)
{
	const char *mark;
	size_t len;

	if (lua_getfield(L, LUA_REGISTRYINDEX, CREATE_HOOK) != LUA_TFUNCTION) {
		lua_pop(L, 1);
		return NULL;
	}
	lua_pushstring(L, name);
	lua_call(L, 1, 1);
	if (lua_type(L, -1) != LUA_TSTRING)
		luaL_error(L, "create hook: mark (string) expected, got %s", luaL_typename(L, -1));
	mark = lua_tolstring(L, -1, &len);
	if (len == 0 || len > 255 || strlen(mark) != len)
		luaL_error(L, "create hook: mark must be 1 to 255 bytes, without NUL");
	return mark;
}

/** netns.create(name [, {mark=string, persist=boolean, lo_up=boolean}]) -> Namespace: a new
 * named namespace, as `ip netns add`. mark (1 to 255 bytes) becomes the alias
 * of its lo before the name appears, so whoever sees the name can tell who
 * made it. Without a mark and without persist=true, the create hook (under
 * nslab: the run's, which journals the name first) gives the mark, and the
 * namespace belongs to the run. lo_up=true brings its lo up in the same
 * request as the mark (a lab does, for every namespace). */
static int l_create(lua_State *L)
{
	const char *name = lnsl_checknsname(L, 1), *mark = NULL;
	int persist = 0, lo_up = 0;
	struct nsl_ns *ns;
	int err;

	if (!lua_isnoneornil(L, 2)) {
		lnsl_checkopts(L, 2, create_keys);
		lnsl_optboolean(L, 2, "persist", &persist);
		lnsl_optboolean(L, 2, "lo_up", &lo_up);
		if (lnsl_optstring(L, 2, "mark", &mark)) {
			size_t len;
			lua_getfield(L, 2, "mark");
			len = lua_rawlen(L, -1);
			lua_pop(L, 1);
			if (len == 0 || len > 255)
				lnsl_fielderror(L, 2, "mark", "must be 1 to 255 bytes");
		}
	}
	if (!mark && !persist)
		mark = hook_mark(L, name);	/* stays on the stack */
	ns = newns(L);
	if ((err = nsl_ns_create_begin(ns, name)) < 0)
		return lnsl_fail(L, err, "create namespace \"%s\"", name);
	/* The mark and lo's state in one request, before the name appears. */
	if (mark || lo_up) {
		struct nsl_link_change c = { .up = lo_up ? 1 : -1, .alias = mark };
		char what[NSL_WHAT_LEN];
		if ((err = nsl_link_set(ns, "lo", &c, what)) < 0) {
			nsl_ns_create_abort(ns);
			return lnsl_fail(L, err, "%s namespace \"%s\"", mark ? "mark" : "bring up lo in", name);
		}
	}
	if ((err = nsl_ns_create_commit(ns, mark)) < 0)
		return lnsl_fail(L, err, "create namespace \"%s\"", name);
	return 1;
}

/** netns.set_create_hook(fn|nil): fn(name) -> mark is called by every
 * netns.create without a mark or persist=true, before anything is made; the
 * runner (netns.owned) journals the name there and returns its run's mark. */
static int l_set_create_hook(lua_State *L)
{
	if (!lua_isnil(L, 1))
		luaL_checktype(L, 1, LUA_TFUNCTION);
	lua_settop(L, 1);
	lua_setfield(L, LUA_REGISTRYINDEX, CREATE_HOOK);
	return 0;
}

/** netns.open(name) -> Namespace: an existing named namespace (ours or `ip netns add`'s). */
static int l_open(lua_State *L)
{
	const char *name = lnsl_checknsname(L, 1);
	struct nsl_ns *ns = newns(L);
	int err;

	if ((err = nsl_ns_open_name(ns, name)) < 0)
		return lnsl_fail(L, err, "open namespace \"%s\"", name);
	return 1;
}

/** netns.open_path(path) -> Namespace: e.g. "/proc/1234/ns/net" or a bind mount. */
static int l_open_path(lua_State *L)
{
	const char *path = lnsl_checkstring(L, 1, NULL);
	struct nsl_ns *ns = newns(L);
	int err;

	if ((err = nsl_ns_open_path(ns, path)) < 0)
		return lnsl_fail(L, err, "open namespace %s", path);
	return 1;
}

/** netns.open_pid(pid) -> Namespace: the network namespace of a process. */
static int l_open_pid(lua_State *L)
{
	lua_Integer pid = luaL_checkinteger(L, 1);
	struct nsl_ns *ns;
	int err;

	luaL_argcheck(L, pid > 0 && pid <= 0x7fffffff, 1, "pid out of range");
	ns = newns(L);
	if ((err = nsl_ns_open_pid(ns, (pid_t)pid)) < 0)
		return lnsl_fail(L, err, "open namespace of pid %I", (LUAI_UACINT)pid);
	return 1;
}

/** netns.delete(name): as `ip netns delete`; processes inside keep it alive. */
static int l_delete(lua_State *L)
{
	const char *name = lnsl_checknsname(L, 1);
	int err;

	if ((err = nsl_ns_delete(name)) < 0)
		return lnsl_fail(L, err, "delete namespace \"%s\"", name);
	return 0;
}

/** netns.exists(name) -> boolean */
static int l_exists(lua_State *L)
{
	const char *name = lnsl_checknsname(L, 1);
	int r = nsl_ns_exists(name);

	if (r < 0)
		return lnsl_fail(L, r, "look up namespace \"%s\"", name);
	lua_pushboolean(L, r);
	return 1;
}

static int collect_name(const char *name, void *arg)
{
	lua_State *L = arg;

	lua_pushstring(L, name);
	lua_rawseti(L, -2, (lua_Integer)lua_rawlen(L, -2) + 1);
	return 0;
}

/** netns.list() -> { "name", ... }: the named namespaces, sorted. */
static int l_list(lua_State *L)
{
	int err;

	lua_newtable(L);
	if ((err = nsl_ns_list(collect_name, L)) < 0)
		return lnsl_fail(L, err, "list namespaces in %s", NSL_NETNS_DIR);
	lnsl_sort_strings(L, -1);
	return 1;
}

/** netns.release({ns, ...} [, timeout=10]) -> alive: closes every handle and
 * waits until the kernel has destroyed each namespace (delete their names
 * first); returns how many are still alive at the deadline, held by something
 * else (a process inside, another handle). Handles may be closed already. */
static int l_release(lua_State *L)
{
	lua_Number timeout = luaL_optnumber(L, 2, 10);
	struct nsl_ns **v;
	size_t n, alive;
	int err;

	luaL_checktype(L, 1, LUA_TTABLE);
	luaL_argcheck(L, timeout >= 0 && timeout <= 3600, 2, "timeout out of range (0 to 3600 seconds)");
	n = lua_rawlen(L, 1);
	v = lua_newuserdatauv(L, sizeof *v * (n ? n : 1), 0);
	for (size_t i = 0; i < n; i++) {
		lua_rawgeti(L, 1, (lua_Integer)i + 1);
		v[i] = luaL_testudata(L, -1, LNSL_NAMESPACE);
		if (!v[i])
			return luaL_argerror(L, 1, lua_pushfstring(L, "item %I: " LNSL_NAMESPACE " expected, got %s",
								   (LUAI_UACINT)i + 1, luaL_typename(L, -1)));
		lua_pop(L, 1);	/* still referenced by the table */
	}
	if ((err = nsl_ns_release(v, n, timeout, &alive)) < 0)
		return lnsl_fail(L, err, "release %I namespaces", (LUAI_UACINT)n);
	lua_pushinteger(L, (lua_Integer)alive);
	return 1;
}

/** ns:close(): releases the handle's fds and socket; the namespace stays. */
static int m_close(lua_State *L)
{
	struct nsl_ns *ns = self_ns(L, 1);

	nsl_ns_close(ns);
	return 0;
}

/** ns:delete(): deletes the named namespace and closes the handle. */
static int m_delete(lua_State *L)
{
	struct nsl_ns *ns = lnsl_checkns(L, 1);
	char name[sizeof ns->name];
	int err;

	if (ns->name[0] == '\0')
		return luaL_error(L, "namespace %s has no name to delete", ns->label);
	memcpy(name, ns->name, sizeof name);
	nsl_ns_close(ns);
	if ((err = nsl_ns_delete(name)) < 0)
		return lnsl_fail(L, err, "delete namespace \"%s\"", name);
	return 0;
}

/** ns:id() -> integer: the namespace's inode; equal ids mean the same namespace. */
static int m_id(lua_State *L)
{
	struct nsl_ns *ns = lnsl_checkns(L, 1);
	unsigned long long ino;
	int err;

	if ((err = nsl_ns_inode(ns, &ino)) < 0)
		return lnsl_fail(L, err, "stat namespace %s", ns->label);
	lua_pushinteger(L, (lua_Integer)ino);
	return 1;
}

static int m_tostring(lua_State *L)
{
	struct nsl_ns *ns = luaL_checkudata(L, 1, LNSL_NAMESPACE);

	if (ns->fd < 0)
		lua_pushstring(L, LNSL_NAMESPACE " (closed)");
	else
		lua_pushfstring(L, LNSL_NAMESPACE " (\"%s\")", ns->label);
	return 1;
}

/*
 * The method hook (netns.hook_methods): when set, every method found by a
 * lookup on a handle (ns:link_add(...), ns.addrs) is passed through it as
 * hook(name, method) and its result is what the caller gets. netns.trace
 * uses it to show each operation; the methods table netns.Namespace itself
 * never changes, so code that takes a method from it gets the method.
 */
#define METHOD_HOOK "netns.method_hook"

/* methods[k] (k at idx) through the hook, pushed. */
static void push_method(lua_State *L, int methods, int idx)
{
	lua_pushvalue(L, idx);
	if (lua_gettable(L, methods) != LUA_TFUNCTION)
		return;
	if (lua_getfield(L, LUA_REGISTRYINDEX, METHOD_HOOK) != LUA_TFUNCTION) {
		lua_pop(L, 1);
		return;
	}
	lua_insert(L, -2);
	lua_pushvalue(L, idx);
	lua_insert(L, -2);
	lua_call(L, 2, 1);	/* hook(name, method) */
}

/** netns.hook_methods(fn | nil): sets (or, with nil, removes) the method
 * hook: fn(name, method) -> the function handles' lookups of name return. */
static int l_hook_methods(lua_State *L)
{
	if (!lua_isnil(L, 1))
		luaL_checktype(L, 1, LUA_TFUNCTION);
	lua_settop(L, 1);
	lua_setfield(L, LUA_REGISTRYINDEX, METHOD_HOOK);
	return 0;
}

/** netns.method(name) -> function | nil: the method as a handle's lookup
 * finds it (through the hook), for tables that stand for a handle (lab nodes). */
static int l_method(lua_State *L)
{
	luaL_checkany(L, 1);
	push_method(L, lua_upvalueindex(1), 1);
	return 1;
}

/* Fields read like ns.name; everything else is a method. */
static int m_index(lua_State *L)
{
	struct nsl_ns *ns = luaL_checkudata(L, 1, LNSL_NAMESPACE);
	const char *k = lua_tostring(L, 2);

	if (k && strcmp(k, "name") == 0) {
		if (ns->name[0])
			lua_pushstring(L, ns->name);
		else
			lua_pushnil(L);
		return 1;
	}
	if (k && strcmp(k, "closed") == 0) {
		lua_pushboolean(L, ns->fd < 0);
		return 1;
	}
	push_method(L, lua_upvalueindex(1), 2);
	return 1;
}

static int m_eq(lua_State *L)
{
	struct nsl_ns *a = luaL_testudata(L, 1, LNSL_NAMESPACE);
	struct nsl_ns *b = luaL_testudata(L, 2, LNSL_NAMESPACE);
	unsigned long long ia, ib;

	lua_pushboolean(L, a && b && a->fd >= 0 && b->fd >= 0 &&
			   nsl_ns_inode(a, &ia) == 0 && nsl_ns_inode(b, &ib) == 0 && ia == ib);
	return 1;
}

/** netns.prefetch(n): makes up to n namespaces ahead on a thread of its
 * own, for the next netns.create calls to take (the lab layer does this
 * before making its namespaces); netns.prefetch(0) stops it and drops what
 * nobody took. A thread that cannot start changes nothing but the speed. */
static int l_prefetch(lua_State *L)
{
	lua_Integer n = luaL_checkinteger(L, 1);

	luaL_argcheck(L, n >= 0 && n <= 1000000, 1, "must be 0 to 1000000");
	nsl_prefetch_start((unsigned long)n);
	return 0;
}

/* The sentinel's __gc: a closed state leaves no thread and no namespace behind. */
static int prefetch_gc(lua_State *L)
{
	(void)L;
	nsl_prefetch_stop();
	return 0;
}

static const luaL_Reg funcs[] = {
	{ "create", l_create },
	{ "prefetch", l_prefetch },
	{ "set_create_hook", l_set_create_hook },
	{ "open", l_open },
	{ "open_path", l_open_path },
	{ "open_pid", l_open_pid },
	{ "delete", l_delete },
	{ "exists", l_exists },
	{ "list", l_list },
	{ "release", l_release },
	{ NULL, NULL }
};

static const luaL_Reg methods[] = {
	{ "close", m_close },
	{ "delete", m_delete },
	{ "id", m_id },
	{ NULL, NULL }
};

void lnsl_open_namespace(lua_State *L, int module, int methodtab)
{
	lnsl_setfuncs(L, module, funcs);
	lnsl_setfuncs(L, methodtab, methods);
	lnsl_on_close(L, "netns.prefetch.stop", prefetch_gc);

	lnsl_handle_type(L, LNSL_NAMESPACE, m_close, m_tostring, m_index, methodtab);
	lua_pushcfunction(L, l_hook_methods);
	lua_setfield(L, module, "hook_methods");
	lua_pushvalue(L, methodtab);
	lua_pushcclosure(L, l_method, 1);
	lua_setfield(L, module, "method");
	luaL_getmetatable(L, LNSL_NAMESPACE);
	lua_pushcfunction(L, m_eq);
	lua_setfield(L, -2, "__eq");
	lua_pop(L, 1);
	lnsl_open_error(L);
}
