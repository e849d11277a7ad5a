/*
 * nslab: a Lua 5.4 interpreter with the netns module and the lab layer built
 * in, modelled on the standalone lua.c.
 *
 * main() only creates the state and runs pmain() in protected mode, so nothing
 * can longjmp out of main. pmain() preloads `netns` (C) and the embedded Lua
 * layer (netns.lab, netns.run, ...), parses the command line and hands the
 * script to netns.run.main, which runs it, tears down every lab and reports.
 *
 * Signals (SIGINT, SIGTERM, SIGHUP) never touch the Lua state directly: the
 * handler sets a hook that raises "interrupted (SIGINT)" at the next Lua
 * instruction, so <close> variables and pcalls unwind and labs are torn down.
 * Later signals are recorded but do not interrupt that teardown; SIGKILL
 * cannot be caught: `nslab clean` removes what such a run leaves.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <lua.h>
#include <lauxlib.h>
#include <lualib.h>

#include "embedded.h"
#include "netns.h"
#include "fdlimit.h"
#include "interrupt.h"
#include "nslab.h"

#define NSLAB_VERSION "nslab 0.1.0"


static const char *progname = "nslab";
static lua_State *globalL;

/* Exit statuses, as documented in the README. */
enum { EXIT_PASS = 0, EXIT_CHECKS_FAILED = 1, EXIT_USAGE = 2 };

static void print_usage(FILE *f)
{
	fprintf(f,
		"usage: %s [options] [script.lua [args...]]\n"
		"       %s clean | list\n"
		"Runs a lab scenario: builds it, runs its checks, reports, tears it all down.\n"
		"  -e code       run the string 'code' (as a scenario)\n"
		"  -i            interactive prompt (after the script or -e, if any)\n"
		"  -             read the script from standard input\n"
		"  --keep        leave the labs up at the end and say how to enter them\n"
		"  --tap         print the checks as TAP\n"
		"  --junit FILE  write the checks as JUnit XML to FILE\n"
		"  --trace       print each operation's iproute2/sysctl equivalent as it runs\n"
		"  --prefix P    prefix every namespace name (two runs side by side)\n"
		"  --no-color    no colour in the summary (also: NO_COLOR set)\n"
		"  -v, --version print the version;  -h, --help  print this help\n"
		"  clean         remove what runs that are no longer alive left behind\n"
		"  list          show the labs that are up and who owns them\n"
		"Exit status: 0 every check passed, 1 a check failed, 2 a script error or bad\n"
		"usage, 128+N killed by signal N (after teardown).\n",
		progname, progname);
}

void nslab_message(const char *msg)
{
	fprintf(stderr, "%s: %s\n", progname, msg);
	fflush(stderr);
}

/* Prints the error on top of the stack, if any; returns status unchanged. */
int nslab_report(lua_State *L, int status)
{
	if (status != LUA_OK) {
		const char *msg = lua_tostring(L, -1);
		nslab_message(msg ? msg : "(error object is not a string)");
		lua_pop(L, 1);
	}
	return status;
}

/* Adds a traceback, turning non-string error objects into their __tostring. */
static int msghandler(lua_State *L)
{
	const char *msg = lua_tostring(L, 1);

	if (msg == NULL) {
		if (luaL_callmeta(L, 1, "__tostring") && lua_type(L, -1) == LUA_TSTRING)
			return 1;
		msg = lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
	}
	luaL_traceback(L, L, msg, 1);
	return 1;
}

static void lstop(lua_State *L, lua_Debug *ar)
{
	(void)ar;
	lua_sethook(L, NULL, 0, 0);
	luaL_error(L, "interrupted (%s)", sigabbrev_np(nsl_interrupt_signal) ?
		   sigabbrev_np(nsl_interrupt_signal) : "signal");
}

/* Only the first signal interrupts; the teardown it starts must not be cut
 * short by a second Ctrl-C. */
static void on_signal(int sig)
{
	if (nsl_interrupt_signal)
		return;
	nsl_interrupt_signal = sig;
	lua_sethook(globalL, lstop, LUA_MASKCALL | LUA_MASKRET | LUA_MASKCOUNT, 1);
}

static void set_signals(void (*handler)(int))
{
	struct sigaction sa;
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP };

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = handler;
	sigemptyset(&sa.sa_mask);
	/* No SA_RESTART: a blocking wait returns EINTR and notices the signal. */
	for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
		sigaction(sigs[i], &sa, NULL);
}

int nslab_docall(lua_State *L, int narg, int nres)
{
	int base = lua_gettop(L) - narg;
	int status;

	lua_pushcfunction(L, msghandler);
	lua_insert(L, base);
	status = lua_pcall(L, narg, nres, base);
	lua_remove(L, base);
	return status;
}

/* package.preload[name] for an embedded module: compile on first require. */
static int load_embedded(lua_State *L)
{
	const struct nslab_embedded *e = &nslab_embedded[lua_tointeger(L, lua_upvalueindex(1))];

	if (luaL_loadbuffer(L, e->source, e->len, e->chunkname) != LUA_OK)
		return lua_error(L);
	lua_pushvalue(L, 1);
	lua_call(L, 1, 1);
	return 1;
}

static void preload_modules(lua_State *L)
{
	luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_PRELOAD_TABLE);
	lua_pushcfunction(L, luaopen_netns);
	lua_setfield(L, -2, "netns");
	for (int i = 0; nslab_embedded[i].module; i++) {
		lua_pushinteger(L, i);
		lua_pushcclosure(L, load_embedded, 1);
		lua_setfield(L, -2, nslab_embedded[i].module);
	}
	lua_pop(L, 1);
}

/* The global `arg`, as lua.c makes it: script at 0, its arguments from 1. */
static void create_arg_table(lua_State *L, char **argv, int argc, int script)
{
	lua_createtable(L, argc - script - 1, script + 1);
	for (int i = 0; i < argc; i++) {
		lua_pushstring(L, argv[i]);
		lua_rawseti(L, -2, i - script);
	}
	lua_setglobal(L, "arg");
}

struct options {
	const char *exec;	/* -e */
	const char *junit;
	const char *prefix;
	int interactive, keep, tap, trace, no_color;
	int script;		/* index in argv of the script, 0 if none */
	const char *command;	/* "clean" or "list" */
};

static int usage_error(const char *fmt, const char *what)
{
	fprintf(stderr, "%s: ", progname);
	fprintf(stderr, fmt, what);
	fprintf(stderr, "\n");
	print_usage(stderr);
	return -1;
}

/* Returns 1 to go on, 0 when done (help/version printed), -1 on bad usage. */
static int parse_args(int argc, char **argv, struct options *o)
{
	int i;

	memset(o, 0, sizeof *o);
	if (argc > 1 && (strcmp(argv[1], "clean") == 0 || strcmp(argv[1], "list") == 0)) {
		o->command = argv[1];
		i = 2;
	} else {
		i = 1;
	}
	for (; i < argc; i++) {
		const char *a = argv[i];
		if (a[0] != '-' || strcmp(a, "-") == 0) {
			if (o->command)
				return usage_error("'%s' takes no script", o->command);
			o->script = i;
			return 1;
		}
		if (strcmp(a, "--") == 0) {
			if (i + 1 < argc && !o->command)
				o->script = i + 1;
			return 1;
		}
		if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			print_usage(stdout);
			return 0;
		}
		if (strcmp(a, "-v") == 0 || strcmp(a, "--version") == 0) {
			printf("%s (%s)\n", NSLAB_VERSION, LUA_RELEASE);
			return 0;
		}
		if (strcmp(a, "-i") == 0) {
			o->interactive = 1;
		} else if (strcmp(a, "--keep") == 0) {
			o->keep = 1;
		} else if (strcmp(a, "--tap") == 0) {
			o->tap = 1;
		} else if (strcmp(a, "--trace") == 0) {
			o->trace = 1;
		} else if (strcmp(a, "--no-color") == 0) {
			o->no_color = 1;
		} else if (strcmp(a, "-e") == 0 || strcmp(a, "--junit") == 0 ||
			   strcmp(a, "--prefix") == 0) {
			if (i + 1 >= argc)
				return usage_error("'%s' needs an argument", a);
			if (a[1] == 'e')
				o->exec = argv[++i];
			else if (a[2] == 'j')
				o->junit = argv[++i];
			else
				o->prefix = argv[++i];
		} else {
			return usage_error("unknown option '%s'", a);
		}
	}
	return 1;
}

/* The options table netns.run receives. */
static void push_options(lua_State *L, const struct options *o, const char *script)
{
	lua_createtable(L, 0, 8);
	lua_pushboolean(L, o->keep);
	lua_setfield(L, -2, "keep");
	lua_pushboolean(L, o->tap);
	lua_setfield(L, -2, "tap");
	lua_pushboolean(L, o->trace);
	lua_setfield(L, -2, "trace");
	lua_pushboolean(L, !o->no_color && !getenv("NO_COLOR") && isatty(STDOUT_FILENO));
	lua_setfield(L, -2, "color");
	if (o->junit) {
		lua_pushstring(L, o->junit);
		lua_setfield(L, -2, "junit");
	}
	if (o->prefix) {
		lua_pushstring(L, o->prefix);
		lua_setfield(L, -2, "prefix");
	}
	if (script) {
		lua_pushstring(L, script);
		lua_setfield(L, -2, "script");
	}
}

/* Pushes require("netns.run")[fn]. */
static int get_runner(lua_State *L, const char *fn)
{
	lua_getglobal(L, "require");
	lua_pushliteral(L, "netns.run");
	if (nslab_docall(L, 1, 1) != LUA_OK)
		return nslab_report(L, LUA_ERRRUN);
	lua_getfield(L, -1, fn);
	lua_remove(L, -2);
	return LUA_OK;
}

/*
 * Runs the loaded chunk on top of the stack through netns.run.main with the
 * script's arguments; returns the exit status main chose.
 */
static int run_chunk(lua_State *L, const struct options *o, char **argv, int argc,
		     const char *name)
{
	int chunk = lua_gettop(L), nargs = 0, code;

	if (get_runner(L, "main") != LUA_OK)
		return EXIT_USAGE;
	lua_pushvalue(L, chunk);
	lua_createtable(L, argc, 0);
	if (o->script)
		for (int i = o->script + 1; i < argc; i++) {
			lua_pushstring(L, argv[i]);
			lua_rawseti(L, -2, ++nargs);
		}
	push_options(L, o, name);
	if (nslab_report(L, nslab_docall(L, 3, 2)) != LUA_OK) {
		lua_settop(L, chunk - 1);
		return EXIT_USAGE;
	}
	code = (int)luaL_optinteger(L, -2, EXIT_PASS);
	if (lua_isstring(L, -1))
		nslab_message(lua_tostring(L, -1));
	lua_settop(L, chunk - 1);
	return code;
}

static int run_command(lua_State *L, const struct options *o)
{
	int code;

	if (get_runner(L, o->command) != LUA_OK)
		return EXIT_USAGE;
	push_options(L, o, NULL);
	if (nslab_report(L, nslab_docall(L, 1, 1)) != LUA_OK)
		return EXIT_USAGE;
	code = (int)luaL_optinteger(L, -1, EXIT_PASS);
	lua_pop(L, 1);
	return code;
}

static int pmain(lua_State *L)
{
	int argc = (int)lua_tointeger(L, 1);
	char **argv = lua_touserdata(L, 2);
	int *result = lua_touserdata(L, 3);
	struct options o;
	int r, code = EXIT_PASS;

	luaL_checkversion(L);
	if ((r = parse_args(argc, argv, &o)) <= 0) {
		*result = r < 0 ? EXIT_USAGE : EXIT_PASS;
		return 0;
	}
	luaL_openlibs(L);
	preload_modules(L);
	create_arg_table(L, argv, argc, o.script ? o.script : 0);
	lua_gc(L, LUA_GCRESTART);
	lua_gc(L, LUA_GCGEN, 0, 0);

	if (o.command) {
		*result = run_command(L, &o);
		return 0;
	}
	if (o.exec) {
		if (nslab_report(L, luaL_loadbuffer(L, o.exec, strlen(o.exec), "=(command line)")) != LUA_OK) {
			*result = EXIT_USAGE;
			return 0;
		}
		code = run_chunk(L, &o, argv, argc, "-e");
	}
	if (o.script && !nsl_interrupt_signal) {
		const char *fname = argv[o.script];
		if (strcmp(fname, "-") == 0 && strcmp(argv[o.script - 1], "--") != 0)
			fname = NULL;
		if (nslab_report(L, luaL_loadfile(L, fname)) != LUA_OK) {
			*result = EXIT_USAGE;
			return 0;
		}
		r = run_chunk(L, &o, argv, argc, fname ? fname : "stdin");
		if (r > code)
			code = r;
	}
	if (o.interactive || (!o.exec && !o.script)) {
		if (o.interactive || isatty(STDIN_FILENO)) {
			printf("%s (%s)  labs are torn down when you leave (Ctrl-D)\n",
			       NSLAB_VERSION, LUA_RELEASE);
			nslab_repl(L);
		} else {
			/* `nslab < scenario.lua` runs standard input as a script. */
			if (nslab_report(L, luaL_loadfile(L, NULL)) != LUA_OK) {
				*result = EXIT_USAGE;
				return 0;
			}
			code = run_chunk(L, &o, argv, argc, "stdin");
		}
	}
	*result = code;
	return 0;
}

int main(int argc, char **argv)
{
	lua_State *L = luaL_newstate();
	int result = EXIT_USAGE;

	if (L == NULL) {
		nslab_message("cannot create state: not enough memory");
		return EXIT_USAGE;
	}
	globalL = L;
	nsl_fdlimit_raise();
	set_signals(on_signal);
	lua_gc(L, LUA_GCSTOP);
	lua_pushcfunction(L, pmain);
	lua_pushinteger(L, argc);
	lua_pushlightuserdata(L, argv);
	lua_pushlightuserdata(L, &result);
	nslab_report(L, lua_pcall(L, 3, 0, 0));
	/* Closing the state runs __gc/__close of whatever is still open (labs
	 * left by the REPL, handles): their teardown runs here. */
	lua_close(L);
	if (nsl_interrupt_signal)
		return 128 + nsl_interrupt_signal;
	return result;
}
