/*
 * luaopen_netns: the `netns` module. Each area (namespace, link, addr, route,
 * neigh, sysctl, exec, pids, ping, path, probe, listen, throughput, fs, qdisc) lives in its own core/module/lua_<area>.c over
 * its own engine file core/engine/<area>.c and registers module functions and Namespace
 * methods here. netns.Namespace is the methods table, so Lua code can extend
 * handles with methods of its own. The module sets no globals.
 */
#include <sys/resource.h>

#include "lua_util.h"
#include "netns.h"
#include "netlink.h"
#include "sysctl.h"

#define NSLAB_VERSION "0.1.0"

/** netns.stats() -> { netlink_sockets = n, nofile = n, sysctl_procfs = s }: resources held and
 * where sysctls are looked up, for tests and benchmarks. */
static int l_stats(lua_State *L)
{
	struct rlimit rl;
	const char *procfs = nsl_sysctl_procfs();

	lua_createtable(L, 0, 3);
	lnsl_setinteger(L, "netlink_sockets", nsl_nl_open_count());
	if (procfs)
		lnsl_setstring(L, "sysctl_procfs", procfs);
	/* A lab holds one fd per namespace: it checks this before making any. */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0)
		lnsl_setinteger(L, "nofile", rl.rlim_cur == RLIM_INFINITY ? LUA_MAXINTEGER : (lua_Integer)rl.rlim_cur);
	return 1;
}

NETNS_API int luaopen_netns(lua_State *L)
{
	int module, methods;

	lua_newtable(L);
	module = lua_gettop(L);
	lua_newtable(L);
	methods = lua_gettop(L);
	luaL_newmetatable(L, LNSL_NAMESPACE);
	lua_pop(L, 1);

	lnsl_open_namespace(L, module, methods);
	lnsl_open_link(L, module, methods);
	lnsl_open_addr(L, module, methods);
	lnsl_open_route(L, module, methods);
	lnsl_open_neigh(L, module, methods);
	lnsl_open_sysctl(L, module, methods);
	lnsl_open_exec(L, module, methods);
	lnsl_open_pids(L, module, methods);
	lnsl_open_ping(L, module, methods);
	lnsl_open_probe(L, module, methods);
	lnsl_open_listen(L, module, methods);
	lnsl_open_throughput(L, module, methods);
	lnsl_open_path(L, module, methods);
	lnsl_open_fs(L, module, methods);
	lnsl_open_qdisc(L, module, methods);
	lnsl_open_interrupt(L, module, methods);

	/* The methods table, so the Lua layer can add methods (LuaSocket style). */
	lua_setfield(L, module, "Namespace");
	lua_pushcfunction(L, l_stats);
	lua_setfield(L, module, "stats");
	lua_pushliteral(L, "netns " NSLAB_VERSION);
	lua_setfield(L, module, "_VERSION");
	return 1;
}
