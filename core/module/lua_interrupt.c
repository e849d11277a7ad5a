/*
 * Holding interruptions (interrupt.h) from Lua: teardown, and steps that
 * create something and record it, run held, so that a signal nslab turns into
 * an "interrupted" error can only arrive before or after them, never between
 * the creation and its record. Under the stock lua5.4 no signal is ever
 * turned into an error and these only call the function.
 */
#include "interrupt.h"
#include "lua_util.h"

/** netns.uninterruptible(fn, ...) -> ...: calls fn(...) with interruptions
 * held and returns its results, or raises its error. A signal that arrived
 * meanwhile is raised once fn has returned (at the next instruction), unless
 * an outer hold is still on. */
static int l_uninterruptible(lua_State *L)
{
	int status;

	luaL_checktype(L, 1, LUA_TFUNCTION);
	nsl_interrupt_hold(1);
	status = lua_pcall(L, lua_gettop(L) - 1, LUA_MULTRET, 0);
	nsl_interrupt_hold(-1);
	if (status != LUA_OK)
		return lua_error(L);
	return lua_gettop(L);
}

/** netns.hold_interrupts(): holds interruptions from now on, for a phase
 * that has no single function: the runner's teardown after the script ended
 * (nslab ends that hold when the runner returns). */
static int l_hold(lua_State *L)
{
	(void)L;
	nsl_interrupt_hold(1);
	return 0;
}

static const luaL_Reg funcs[] = {
	{ "uninterruptible", l_uninterruptible },
	{ "hold_interrupts", l_hold },
	{ NULL, NULL }
};

void lnsl_open_interrupt(lua_State *L, int module, int methods)
{
	(void)methods;
	lnsl_setfuncs(L, module, funcs);
}
