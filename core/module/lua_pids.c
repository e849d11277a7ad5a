/*
 * The processes living in namespaces, whoever started them: ns:pids and
 * ns:kill_all (as `ip netns pids` and what must happen before a namespace can
 * really go), netns.pids and netns.kill_all for many namespaces with one
 * /proc scan; and waiting: netns.sleep, netns.now.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "lua_util.h"
#include "clock.h"
#include "pids.h"

#define MAX_SECONDS 86400.0

struct pidlist {
	pid_t *v;
	size_t n, cap;
};

static int add_pid(pid_t pid, void *arg)
{
	struct pidlist *l = arg;

	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 64;
		pid_t *v = realloc(l->v, cap * sizeof *v);

		if (!v)
			return -ENOMEM;
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n++] = pid;
	return 0;
}

static int cmp_pid(const void *a, const void *b)
{
	pid_t x = *(const pid_t *)a, y = *(const pid_t *)b;

	return (x > y) - (x < y);
}

/* Pushes the pids sorted, and frees the list. */
static void push_pids(lua_State *L, struct pidlist *l)
{
	qsort(l->v, l->n, sizeof *l->v, cmp_pid);
	lua_createtable(L, (int)l->n, 0);
	for (size_t i = 0; i < l->n; i++) {
		lua_pushinteger(L, l->v[i]);
		lua_rawseti(L, -2, (lua_Integer)i + 1);
	}
	free(l->v);
}

/** ns:pids() -> {pid, ...}: every process whose network namespace this is,
 * sorted (as `ip netns pids NAME`). */
static int m_pids(lua_State *L)
{
	struct nsl_ns *ns = lnsl_checkns(L, 1);
	struct pidlist l = { NULL, 0, 0 };
	int err = nsl_ns_pids(ns, add_pid, &l);

	if (err < 0) {
		free(l.v);
		return lnsl_fail(L, err, "list processes in %s", ns->label);
	}
	push_pids(L, &l);
	return 1;
}

/** ns:kill_all([sig [, timeout]]) -> n: signals every process in the namespace
 * but ourselves (sig defaults to "KILL") and waits up to timeout seconds
 * (default 5) until none is left, so the namespace can be deleted; n is how
 * many were signalled. Raises ETIMEDOUT if some remain. */
static int m_kill_all(lua_State *L)
{
	struct nsl_ns *ns = lnsl_checkns(L, 1);
	int sig = lnsl_checksignal(L, 2, SIGKILL);
	lua_Number t = luaL_optnumber(L, 3, 5);
	int n;

	luaL_argcheck(L, t > 0 && t <= MAX_SECONDS, 3, "timeout out of range (0 to 86400 seconds)");
	if ((n = nsl_ns_kill_all(ns, sig, t)) < 0)
		return lnsl_fail(L, n, "kill processes in %s", ns->label);
	lua_pushinteger(L, n);
	return 1;
}

/* The open handles in the array at arg, checked one by one (the element's
 * position is in the message); NULL with *n = 0 for an empty array. */
static const struct nsl_ns **check_ns_list(lua_State *L, int arg, size_t *n)
{
	const struct nsl_ns **v;

	luaL_checktype(L, arg, LUA_TTABLE);
	*n = (size_t)lua_rawlen(L, arg);
	v = lua_newuserdatauv(L, (*n ? *n : 1) * sizeof *v, 0);	/* freed by the GC */
	for (size_t i = 0; i < *n; i++) {
		struct nsl_ns *ns;

		lua_rawgeti(L, arg, (lua_Integer)i + 1);
		ns = luaL_testudata(L, -1, LNSL_NAMESPACE);
		if (!ns)
			luaL_argerror(L, arg, lua_pushfstring(L, "element %d: netns.Namespace expected, got %s",
							      (int)i + 1, luaL_typename(L, -1)));
		if (ns->fd < 0)
			luaL_argerror(L, arg, lua_pushfstring(L, "element %d: namespace is closed", (int)i + 1));
		v[i] = ns;
		lua_pop(L, 1);
	}
	return v;
}

/** netns.kill_all({ns, ...} [, sig [, timeout]]) -> n: ns:kill_all for many
 * namespaces at once: one /proc scan per round finds the processes of all of
 * them (a lab's teardown; a scan per namespace stats every process of the
 * machine again each time). Raises ETIMEDOUT if some remain. */
static int l_kill_all(lua_State *L)
{
	size_t n;
	const struct nsl_ns **v;
	int sig, k;
	lua_Number t;

	lua_settop(L, 3);	/* the list's array goes above the arguments */
	v = check_ns_list(L, 1, &n);
	sig = lnsl_checksignal(L, 2, SIGKILL);
	t = luaL_optnumber(L, 3, 5);
	luaL_argcheck(L, t > 0 && t <= MAX_SECONDS, 3, "timeout out of range (0 to 86400 seconds)");
	if (n == 0) {
		lua_pushinteger(L, 0);
		return 1;
	}
	if ((k = nsl_nss_kill_all(v, n, sig, t)) < 0) {
		if (n == 1)
			return lnsl_fail(L, k, "kill processes in %s", v[0]->label);
		return lnsl_fail(L, k, "kill processes in %s and %d other namespaces", v[0]->label, (int)n - 1);
	}
	lua_pushinteger(L, k);
	return 1;
}

/** netns.pids({ns, ...}) -> {pid, ...}: the processes in any of the
 * namespaces, sorted, found in one /proc scan. */
static int l_pids(lua_State *L)
{
	size_t n;
	const struct nsl_ns **v;
	struct pidlist l = { NULL, 0, 0 };
	int err;

	lua_settop(L, 1);
	v = check_ns_list(L, 1, &n);
	err = n ? nsl_nss_pids(v, n, add_pid, &l) : 0;

	if (err < 0) {
		free(l.v);
		return lnsl_fail(L, err, "list processes in %s and %d other namespaces", v[0]->label, (int)n - 1);
	}
	push_pids(L, &l);
	return 1;
}

/** netns.sleep(seconds): sleeps that long even when signals arrive (under
 * nslab, an interruption ends it and raises "interrupted"). */
static int l_sleep(lua_State *L)
{
	lua_Number s = luaL_checknumber(L, 1);

	luaL_argcheck(L, s >= 0 && s <= MAX_SECONDS, 1, "out of range (0 to 86400 seconds)");
	if (nsl_sleep(s) < 0)
		return lnsl_fail(L, -EINTR, "sleep");	/* raises nslab's "interrupted" */
	return 0;
}

/** netns.now() -> seconds: a monotonic clock (CLOCK_MONOTONIC), for timing. */
static int l_now(lua_State *L)
{
	lua_pushnumber(L, nsl_now());
	return 1;
}

static const luaL_Reg funcs[] = {
	{ "sleep", l_sleep },
	{ "now", l_now },
	{ "kill_all", l_kill_all },
	{ "pids", l_pids },
	{ NULL, NULL }
};

static const luaL_Reg methods[] = {
	{ "pids", m_pids },
	{ "kill_all", m_kill_all },
	{ NULL, NULL }
};

void lnsl_open_pids(lua_State *L, int module, int methodtab)
{
	lnsl_setfuncs(L, module, funcs);
	lnsl_setfuncs(L, methodtab, methods);
}
