/*
 * nslab's interactive prompt (nslab -i), as lua.c's doREPL: each line is
 * tried as an expression first (so `ns:links()` prints), then as a
 * statement, reading more lines while the chunk is incomplete. Line editing
 * and history where libreadline was found at build time.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lua.h>
#include <lauxlib.h>

#ifdef NSLAB_READLINE
#include <readline/readline.h>
#include <readline/history.h>
#endif

#include "interrupt.h"
#include "nslab.h"

#define PROMPT "nslab> "
#define PROMPT2 "nslab>> "

static char *read_line(const char *prompt)
{
#ifdef NSLAB_READLINE
	char *l = readline(prompt);
	if (l && *l)
		add_history(l);
	return l;
#else
	static char buf[4096];
	fputs(prompt, stdout);
	fflush(stdout);
	if (!fgets(buf, sizeof buf, stdin))
		return NULL;
	buf[strcspn(buf, "\n")] = '\0';
	return strdup(buf);
#endif
}

static int incomplete(lua_State *L, int status)
{
	size_t lmsg;
	const char *msg;

	if (status != LUA_ERRSYNTAX)
		return 0;
	msg = lua_tolstring(L, -1, &lmsg);
	if (lmsg >= 5 && strcmp(msg + lmsg - 5, "<eof>") == 0) {
		lua_pop(L, 1);
		return 1;
	}
	return 0;
}

/* Loads one statement, trying "return <line>" first so expressions print;
 * reads more lines while the chunk is incomplete. -1 at end of input. */
static int load_statement(lua_State *L, char *line)
{
	int status;
	const char *ret = lua_pushfstring(L, "return %s;", line);

	status = luaL_loadbuffer(L, ret, strlen(ret), "=stdin");
	lua_remove(L, -2);
	if (status == LUA_OK) {
		free(line);
		return status;
	}
	lua_pop(L, 1);
	lua_pushstring(L, line);
	free(line);
	for (;;) {
		size_t len;
		const char *code = lua_tolstring(L, -1, &len);
		status = luaL_loadbuffer(L, code, len, "=stdin");
		if (!incomplete(L, status)) {
			lua_remove(L, -2);
			return status;
		}
		if ((line = read_line(PROMPT2)) == NULL) {
			lua_pop(L, 1);
			return -1;
		}
		lua_pushliteral(L, "\n");
		lua_pushstring(L, line);
		free(line);
		lua_concat(L, 3);
	}
}

static void print_results(lua_State *L)
{
	int n = lua_gettop(L);

	if (n == 0)
		return;
	luaL_checkstack(L, LUA_MINSTACK, "too many results to print");
	lua_getglobal(L, "print");
	lua_insert(L, 1);
	if (lua_pcall(L, n, 0, 0) != LUA_OK)
		nslab_message(lua_pushfstring(L, "error calling 'print' (%s)", lua_tostring(L, -1)));
}

void nslab_repl(lua_State *L)
{
	char *line;

	lua_settop(L, 0);	/* pmain's arguments: print_results prints the stack */
	while ((line = read_line(PROMPT)) != NULL) {
		int status = load_statement(L, line);
		if (status == -1)
			break;
		/* Ctrl-C at the prompt is not meant for the next statement:
		 * forget it; Ctrl-C while a statement runs interrupts that one. */
		nsl_interrupt_signal = 0;
		lua_sethook(L, NULL, 0, 0);
		if (status == LUA_OK)
			status = nslab_docall(L, 0, LUA_MULTRET);
		if (status == LUA_OK)
			print_results(L);
		else
			nslab_report(L, status);
		lua_settop(L, 0);
		nsl_interrupt_signal = 0;
	}
	lua_settop(L, 0);
	fputc('\n', stdout);
}

