/*
 * netns.readline: the line reader of nslab's prompt (netns.cli), preloaded by
 * nslab only; under the stock lua5.4 netns.cli reads with io.read instead.
 *
 *   readline.read(prompt) -> line | nil     nil at end of input, or when a
 *       signal other than SIGINT arrived (its "interrupted" error is raised
 *       by nslab's hook right after); Ctrl-C clears the line being typed.
 *   readline.history(path)                  load it, and append each line to it
 *   readline.done()                         forget the history, completer and
 *       matches (the prompt has ended; nothing stays allocated)
 *   readline.completer(fn)                  fn(text, line_before, start) -> {word...}
 *   readline.foreground(fn, ...) -> ...     calls fn with SIGINT ignored by
 *       nslab, as a shell waits for a foreground job: Ctrl-C reaches only the
 *       command fn runs in our terminal's process group, not the prompt
 *   readline.interrupted() -> "INT" | nil   the signal nslab is unwinding for
 *   readline.clear_interrupt()              forget it (the prompt goes on)
 *   readline.tty                            standard input is a terminal
 *
 * With libreadline (NSLAB_READLINE) and a terminal, lines are read through
 * readline's callback interface from a poll loop, so a signal interrupts the
 * poll and is seen here, never inside readline's own handlers
 * (rl_catch_signals = 0). Otherwise lines are read from fd 0 with our own
 * buffer, and the prompt is printed only to a terminal.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <lua.h>
#include <lauxlib.h>

#ifdef NSLAB_READLINE
#include <readline/readline.h>
#include <readline/history.h>
#endif

#include "interrupt.h"
#include "nslab.h"

#define HISTORY_LINES 1000

static lua_State *readerL;	/* the state read() runs in, for the completer */

#define HISTORY_KEY "netns.readline.history"
#define COMPLETER_KEY "netns.readline.completer"

/* Forgets a SIGINT that arrived while waiting for input: it was meant for
 * the line being typed, not for the next statement. */
static void forget_interrupt(lua_State *L)
{
	nsl_interrupt_signal = 0;
	lua_sethook(L, NULL, 0, 0);
}

/* Adds a typed line to the history and to the history file, if one is set
 * (its path is kept in the registry, so nothing here outlives the state). */
static void remember(lua_State *L, const char *line)
{
#ifdef NSLAB_READLINE
	const char *path;

	if (!*line)
		return;
	add_history(line);
	lua_getfield(L, LUA_REGISTRYINDEX, HISTORY_KEY);
	path = lua_tostring(L, -1);
	if (path)
		append_history(1, path);
	lua_pop(L, 1);
#else
	(void)L;
	(void)line;
#endif
}

/* ---- without readline, or not on a terminal: fd 0 and our own buffer ---- */

static char inbuf[8192];
static size_t inlen;
static int ineof;

/* Pushes the next line (without its newline) or returns 0 at end of input
 * or on a signal that ends the prompt. */
static int plain_read(lua_State *L, const char *prompt, int tty)
{
	luaL_Buffer b;

	luaL_buffinit(L, &b);
	if (tty) {
		fputs(prompt, stdout);
		fflush(stdout);
	}
	for (;;) {
		char *nl = memchr(inbuf, '\n', inlen);
		ssize_t n;

		if (nl || (ineof && inlen > 0)) {
			size_t k = nl ? (size_t)(nl - inbuf) : inlen;
			luaL_addlstring(&b, inbuf, k);
			k += nl != NULL;
			memmove(inbuf, inbuf + k, inlen - k);
			inlen -= k;
			luaL_pushresult(&b);
			return 1;
		}
		if (ineof || inlen == sizeof inbuf) {
			/* End of input, or a line longer than the buffer: hand
			 * over what there is. */
			if (inlen == 0)
				return 0;
			luaL_addlstring(&b, inbuf, inlen);
			inlen = 0;
			continue;
		}
		n = read(STDIN_FILENO, inbuf + inlen, sizeof inbuf - inlen);
		if (n > 0) {
			inlen += (size_t)n;
		} else if (n == 0) {
			ineof = 1;
		} else if (errno != EINTR) {
			return 0;
		}
		if (nsl_interrupt_signal && nsl_interrupt_signal != SIGINT)
			return 0;
		if (nsl_interrupt_signal == SIGINT) {
			forget_interrupt(L);
			inlen = 0;	/* Ctrl-C: drop the line typed so far */
			luaL_buffsub(&b, luaL_bufflen(&b));
			if (tty) {
				fputs("\n", stdout);
				fputs(prompt, stdout);
				fflush(stdout);
			}
		}
	}
}

/* ---- readline, on a terminal ---- */

#ifdef NSLAB_READLINE
static char *line_got;
static int line_done;

static void on_line(char *line)
{
	line_got = line;
	line_done = 1;
	/* Restores the terminal's modes: the statement or node command that
	 * runs next gets the terminal as the shell would give it. */
	rl_callback_handler_remove();
}

/* Ctrl-C while a line is typed: forget the signal, drop the line, prompt
 * again on a new line. */
static void rl_clear_line(lua_State *L)
{
	forget_interrupt(L);
	rl_free_line_state();
	rl_callback_sigcleanup();
	rl_replace_line("", 0);
	rl_crlf();
	rl_on_new_line();
	rl_redisplay();
}

static int rl_read(lua_State *L, const char *prompt)
{
	line_done = 0;
	line_got = NULL;
	rl_callback_handler_install(prompt, on_line);
	while (!line_done) {
		struct pollfd p = { .fd = STDIN_FILENO, .events = POLLIN };

		/* The signal may arrive while a key is handled, not only
		 * during poll: look at the flag on every turn. */
		if (nsl_interrupt_signal == SIGINT) {
			rl_clear_line(L);
			continue;
		}
		if (nsl_interrupt_signal)
			break;
		if (poll(&p, 1, -1) < 0) {
			if (errno != EINTR)
				break;
			continue;
		}
		rl_callback_read_char();
	}
	if (!line_done) {
		rl_callback_handler_remove();
		fputc('\n', stdout);
		return 0;
	}
	if (nsl_interrupt_signal == SIGINT)
		forget_interrupt(L);	/* arrived with the last key: the line stands */
	if (line_got == NULL)
		return 0;
	lua_pushstring(L, line_got);
	free(line_got);
	return 1;
}

/* Completion: the Lua completer's words for the word being typed. */
static char **matches;
static size_t nmatches, next_match;

static void free_matches(void)
{
	for (size_t i = next_match; i < nmatches; i++)
		free(matches[i]);
	free(matches);
	matches = NULL;
	nmatches = next_match = 0;
}

static char *generator(const char *text, int state)
{
	(void)text;
	(void)state;
	if (next_match < nmatches)
		return matches[next_match++];	/* readline frees it */
	return NULL;
}

static char **complete(const char *text, int start, int end)
{
	lua_State *L = readerL;
	int top;

	(void)end;
	free_matches();
	if (L == NULL)
		return NULL;
	top = lua_gettop(L);
	lua_getfield(L, LUA_REGISTRYINDEX, COMPLETER_KEY);
	if (lua_isfunction(L, -1)) {
		lua_pushstring(L, text);
		lua_pushlstring(L, rl_line_buffer, (size_t)start);
		lua_pushinteger(L, start);
		if (lua_pcall(L, 3, 1, 0) == LUA_OK && lua_istable(L, -1)) {
			size_t n = lua_rawlen(L, -1);
			matches = calloc(n + 1, sizeof *matches);
			for (size_t i = 1; matches && i <= n; i++) {
				const char *w;
				lua_rawgeti(L, -1, (lua_Integer)i);
				w = lua_tostring(L, -1);
				if (w && (matches[nmatches] = strdup(w)) != NULL)
					nmatches++;
				lua_pop(L, 1);
			}
		}
	}
	lua_settop(L, top);
	if (nmatches == 0)
		return NULL;	/* readline completes file names */
	rl_attempted_completion_over = 1;
	return rl_completion_matches(text, generator);
}
#endif

/* ---- the Lua functions ---- */

static int is_tty(void)
{
	return isatty(STDIN_FILENO);
}

static int l_read(lua_State *L)
{
	const char *prompt = luaL_optstring(L, 1, "");
	int r;

	lua_settop(L, 1);
	readerL = L;
#ifdef NSLAB_READLINE
	if (is_tty())
		r = rl_read(L, prompt);
	else
#endif
		r = plain_read(L, prompt, is_tty());
	readerL = NULL;
	if (!r) {
		lua_pushnil(L);
		return 1;
	}
	remember(L, lua_tostring(L, -1));
	return 1;
}

static int l_history(lua_State *L)
{
	const char *path = luaL_checkstring(L, 1);

	lua_settop(L, 1);
	lua_setfield(L, LUA_REGISTRYINDEX, HISTORY_KEY);
#ifdef NSLAB_READLINE
	if (read_history(path) != 0) {
		/* append_history needs the file: create it (mode 0600). */
		write_history(path);
	} else {
		history_truncate_file(path, HISTORY_LINES);
	}
#endif
	return 0;
}

static int l_completer(lua_State *L)
{
	if (!lua_isnil(L, 1))
		luaL_checktype(L, 1, LUA_TFUNCTION);
	lua_settop(L, 1);
	lua_setfield(L, LUA_REGISTRYINDEX, COMPLETER_KEY);
	return 0;
}

static int l_done(lua_State *L)
{
	lua_pushnil(L);
	lua_setfield(L, LUA_REGISTRYINDEX, COMPLETER_KEY);
	lua_pushnil(L);
	lua_setfield(L, LUA_REGISTRYINDEX, HISTORY_KEY);
#ifdef NSLAB_READLINE
	free_matches();
	clear_history();
#endif
	return 0;
}

static int l_foreground(lua_State *L)
{
	struct sigaction ign, old;
	int status, n = lua_gettop(L);

	luaL_checktype(L, 1, LUA_TFUNCTION);
	memset(&ign, 0, sizeof ign);
	ign.sa_handler = SIG_IGN;
	sigemptyset(&ign.sa_mask);
	sigaction(SIGINT, &ign, &old);
	status = lua_pcall(L, n - 1, LUA_MULTRET, 0);
	sigaction(SIGINT, &old, NULL);
	if (status != LUA_OK)
		return lua_error(L);
	return lua_gettop(L);
}

static int l_interrupted(lua_State *L)
{
	const char *s = nsl_interrupt_signal ? sigabbrev_np(nsl_interrupt_signal) : NULL;

	if (nsl_interrupt_signal && !s)
		s = "signal";
	lua_pushstring(L, s);
	return 1;
}

static int l_clear_interrupt(lua_State *L)
{
	forget_interrupt(L);
	return 0;
}

int nslab_open_readline(lua_State *L)
{
	static const luaL_Reg fns[] = {
		{ "read", l_read },
		{ "history", l_history },
		{ "completer", l_completer },
		{ "done", l_done },
		{ "foreground", l_foreground },
		{ "interrupted", l_interrupted },
		{ "clear_interrupt", l_clear_interrupt },
		{ NULL, NULL },
	};

	luaL_newlib(L, fns);
	lua_pushboolean(L, is_tty());
	lua_setfield(L, -2, "tty");
#ifdef NSLAB_READLINE
	rl_catch_signals = 0;
	rl_readline_name = "nslab";
	rl_attempted_completion_function = complete;
	lua_pushboolean(L, 1);
#else
	lua_pushboolean(L, 0);
#endif
	lua_setfield(L, -2, "readline");
	return 1;
}
