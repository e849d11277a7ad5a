/*
 * nslab: a Lua 5.4 interpreter with the netns module and the lab layer built
 * in, modelled on the standalone lua.c.
 *
 * main() only creates the state and runs pmain() in protected mode, so nothing
 * can longjmp out of main. pmain() preloads `netns` (C) and the embedded Lua
 * layer (netns.lab, netns.run, ...), parses the command line and hands the
 * script to netns.run.main, which runs it, tears down every lab and reports.
 *
 * Signals (SIGINT, SIGTERM, SIGHUP, SIGPIPE) never touch the Lua state
 * directly: the handler records the first one and sets a hook that raises
 * "interrupted (SIGINT)" at the next Lua instruction, so <close> variables
 * and pcalls unwind and labs are torn down. A pcall that catches it does not
 * end it: when that pcall returns, the hook is armed again, until the runner
 * holds interruptions for its teardown (interrupt.h); a later signal arms it
 * too. SIGKILL cannot be caught: `nslab clean` removes what such a run leaves.
 */
#include <errno.h>
#include <getopt.h>
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
		"       %s COMMAND [args...]   (clean, list, inspect, graph, up, down, shell, exec)\n"
		"Runs a lab scenario: builds it, runs its checks, reports, tears it all down.\n"
		"  -e code           run the string 'code' (as a scenario)\n"
		"  -i                prompt with the labs up (after the script or -e, if any)\n"
		"  -                 read the script from standard input\n"
		"  --keep            leave the labs up at the end and say how to enter them\n"
		"  --tap             print the checks as TAP\n"
		"  --junit=FILE      write the checks as JUnit XML to FILE\n"
		"  --trace           print each operation's iproute2/sysctl equivalent as it runs\n"
		"  --prefix=P        prefix every namespace name (two runs side by side)\n"
		"  --no-color        no colour in the summary (also: NO_COLOR set)\n"
		"  -v, --version     print the version;  -h, --help  print this help\n"
		"Options end at the script: what follows it is the script's (arg, ...).\n"
		"Commands:\n"
		"  clean [--dry-run] [--force] [LAB-ID|LAB...]\n"
		"                        remove what runs that are no longer alive left behind\n"
		"  list [--json]         show the labs that are up and who owns them\n"
		"  inspect LAB [--json]  a lab's live state: namespaces, interfaces, addresses, routes, processes\n"
		"  graph FILE [--format=dot|mermaid|json]  draw the lab a script or topology file describes\n"
		"  up FILE [--prefix=P]  bring up the lab of a topology file (YAML, JSON) and leave it up\n"
		"  down LAB              tear down a lab left up (by up or --keep)\n"
		"  shell LAB NODE        an interactive shell in a node of a lab that is up\n"
		"  exec LAB NODE cmd...  run a command in a node of a lab that is up\n"
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

#define STOP_MASK (LUA_MASKCALL | LUA_MASKRET | LUA_MASKCOUNT)

static void lstop(lua_State *L, lua_Debug *ar)
{
	(void)ar;
	lua_sethook(L, NULL, 0, 0);
	if (nsl_interrupt_held)
		return;	/* raised when the hold ends (rearm) */
	luaL_error(L, "%s", nsl_interrupt_message());
}

static void rearm(void)
{
	lua_sethook(globalL, lstop, STOP_MASK, 1);
}

/* The first signal is the one the exit status reports. Every signal outside
 * a hold arms the hook, so a second Ctrl-C stops a script that caught the
 * first; during teardown (held) they only stay recorded. */
static void on_signal(int sig)
{
	if (!nsl_interrupt_signal)
		nsl_interrupt_signal = sig;
	if (!nsl_interrupt_held)
		rearm();
}

static void set_signals(void (*handler)(int))
{
	struct sigaction sa;
	/* SIGPIPE too: `nslab s.lua | head -1` must tear down like Ctrl-C. */
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGPIPE };

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = handler;
	sigemptyset(&sa.sa_mask);
	/* No SA_RESTART: a blocking wait returns EINTR and notices the signal. */
	for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
		sigaction(sigs[i], &sa, NULL);
}

/*
 * pcall and xpcall as the script sees them: the original, then, if an
 * interruption is pending and not held, the hook armed again, so the
 * interruption a pcall caught is raised right after it (continuations keep
 * yields across them working).
 */
static int after_pcall(lua_State *L, int status, lua_KContext ctx)
{
	(void)status;
	(void)ctx;
	if (nsl_interrupted())
		rearm();
	return lua_gettop(L);
}

static int guarded_pcall(lua_State *L)
{
	lua_pushvalue(L, lua_upvalueindex(1));
	lua_insert(L, 1);
	lua_callk(L, lua_gettop(L) - 1, LUA_MULTRET, 0, after_pcall);
	return after_pcall(L, LUA_OK, 0);
}

static void guard_pcalls(lua_State *L)
{
	static const char *const names[] = { "pcall", "xpcall" };

	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		lua_getglobal(L, names[i]);
		lua_pushcclosure(L, guarded_pcall, 1);
		lua_setglobal(L, names[i]);
	}
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

/* package.preload[name] for an embedded module: load its bytecode on first
 * require (compiled at build time, so no start of nslab parses the layer). */
static int load_embedded(lua_State *L)
{
	const struct nslab_embedded *e = &nslab_embedded[lua_tointeger(L, lua_upvalueindex(1))];

	if (luaL_loadbufferx(L, e->chunk, e->len, e->chunkname, "b") != LUA_OK)
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
	lua_pushcfunction(L, nslab_open_readline);
	lua_setfield(L, -2, "netns.readline");
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
	int literal;		/* the script came after "--": "-" is a file name */
	int command;		/* index in argv of a command (clean, list, ...), 0 if none */
};

/* The commands netns.run carries out (run.command); each parses its own
 * arguments. A script with one of these names is run as ./name. */
static const char *const commands[] = {
	"clean", "list", "inspect", "graph", "up", "down", "shell", "exec", NULL
};

static int is_command(const char *a)
{
	for (int i = 0; commands[i]; i++)
		if (strcmp(a, commands[i]) == 0)
			return 1;
	return 0;
}

static int usage_error(const char *fmt, const char *what)
{
	fprintf(stderr, "%s: ", progname);
	fprintf(stderr, fmt, what);
	fprintf(stderr, "\n");
	print_usage(stderr);
	return -1;
}

enum { OPT_KEEP = 256, OPT_TAP, OPT_JUNIT, OPT_TRACE, OPT_PREFIX, OPT_NO_COLOR };

/*
 * GNU forms (--junit=FILE and --junit FILE, -eCODE and -e CODE), and "+":
 * the first argument that is not an option is the script (or a command),
 * and everything after it belongs to the script.
 * Returns 1 to go on, 0 when done (help/version printed), -1 on bad usage.
 */
static int parse_args(int argc, char **argv, struct options *o)
{
	static const struct option longopts[] = {
		{ "keep", no_argument, NULL, OPT_KEEP },
		{ "tap", no_argument, NULL, OPT_TAP },
		{ "junit", required_argument, NULL, OPT_JUNIT },
		{ "trace", no_argument, NULL, OPT_TRACE },
		{ "prefix", required_argument, NULL, OPT_PREFIX },
		{ "no-color", no_argument, NULL, OPT_NO_COLOR },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'v' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	memset(o, 0, sizeof *o);
	opterr = 0;	/* our own messages, followed by the usage */
	while ((c = getopt_long(argc, argv, "+:e:ihv", longopts, NULL)) != -1) {
		switch (c) {
		case 'e': o->exec = optarg; break;
		case 'i': o->interactive = 1; break;
		case OPT_KEEP: o->keep = 1; break;
		case OPT_TAP: o->tap = 1; break;
		case OPT_JUNIT: o->junit = optarg; break;
		case OPT_TRACE: o->trace = 1; break;
		case OPT_PREFIX: o->prefix = optarg; break;
		case OPT_NO_COLOR: o->no_color = 1; break;
		case 'h':
			print_usage(stdout);
			return 0;
		case 'v':
			printf("%s (%s)\n", NSLAB_VERSION, LUA_RELEASE);
			return 0;
		case ':':
			return usage_error("'%s' needs an argument", argv[optind - 1]);
		default:
			return usage_error("unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind < argc) {
		o->literal = strcmp(argv[optind - 1], "--") == 0;
		if (!o->literal && is_command(argv[optind]))
			o->command = optind;
		else
			o->script = optind;
	}
	return 1;
}

/* The options table netns.run receives. */
static void push_options(lua_State *L, const struct options *o, const char *script)
{
	lua_createtable(L, 0, 9);
	lua_pushboolean(L, o->interactive);
	lua_setfield(L, -2, "interactive");
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
	int chunk = lua_gettop(L), nargs = 0, code, status;

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
	status = nslab_docall(L, 3, 2);
	/* The runner held interruptions for its teardown: what runs next (a
	 * script after -e, the prompt) starts without the hold, and a signal
	 * that came meanwhile is not raised again (pmain stops). */
	nsl_interrupt_held = 0;
	if (nslab_report(L, status) != LUA_OK) {
		lua_settop(L, chunk - 1);
		return EXIT_USAGE;
	}
	code = (int)luaL_optinteger(L, -2, EXIT_PASS);
	if (lua_isstring(L, -1))
		nslab_message(lua_tostring(L, -1));
	lua_settop(L, chunk - 1);
	return code;
}

/* nslab COMMAND args...: run.command(name, {args...}, opts) -> exit status. */
static int run_command(lua_State *L, const struct options *o, char **argv, int argc)
{
	int code;

	if (get_runner(L, "command") != LUA_OK)
		return EXIT_USAGE;
	lua_pushstring(L, argv[o->command]);
	lua_createtable(L, argc - o->command - 1, 0);
	for (int i = o->command + 1; i < argc; i++) {
		lua_pushstring(L, argv[i]);
		lua_rawseti(L, -2, i - o->command);
	}
	push_options(L, o, NULL);
	if (nslab_report(L, nslab_docall(L, 3, 1)) != LUA_OK)
		return EXIT_USAGE;
	code = (int)luaL_optinteger(L, -1, EXIT_PASS);
	lua_pop(L, 1);
	return code;
}

/* An empty chunk: `nslab -i` alone runs it, and its prompt follows. */
static int nothing(lua_State *L)
{
	(void)L;
	return 0;
}

static int pmain(lua_State *L)
{
	int argc = (int)lua_tointeger(L, 1);
	char **argv = lua_touserdata(L, 2);
	int *result = lua_touserdata(L, 3);
	struct options o;
	int r, code = EXIT_PASS, prompt;

	luaL_checkversion(L);
	if ((r = parse_args(argc, argv, &o)) <= 0) {
		*result = r < 0 ? EXIT_USAGE : EXIT_PASS;
		return 0;
	}
	luaL_openlibs(L);
	guard_pcalls(L);
	preload_modules(L);
	create_arg_table(L, argv, argc, o.script ? o.script : 0);
	lua_gc(L, LUA_GCRESTART);
	lua_gc(L, LUA_GCGEN, 0, 0);

	if (o.command) {
		*result = run_command(L, &o, argv, argc);
		return 0;
	}
	/* The prompt (-i, or nothing to run on a terminal) follows the last
	 * chunk, with that chunk's labs still up. */
	prompt = o.interactive || (!o.exec && !o.script && isatty(STDIN_FILENO));
	o.interactive = 0;
	if (o.exec) {
		if (nslab_report(L, luaL_loadbuffer(L, o.exec, strlen(o.exec), "=(command line)")) != LUA_OK) {
			*result = EXIT_USAGE;
			return 0;
		}
		o.interactive = prompt && !o.script;
		code = run_chunk(L, &o, argv, argc, "-e");
	}
	if (o.script && !nsl_interrupt_signal) {
		const char *fname = argv[o.script];
		if (strcmp(fname, "-") == 0 && !o.literal)
			fname = NULL;
		if (nslab_report(L, luaL_loadfile(L, fname)) != LUA_OK) {
			*result = EXIT_USAGE;
			return 0;
		}
		o.interactive = prompt;
		r = run_chunk(L, &o, argv, argc, fname ? fname : "stdin");
		if (r > code)
			code = r;
	} else if (!o.exec && !nsl_interrupt_signal) {
		if (prompt) {
			lua_pushcfunction(L, nothing);
			o.interactive = 1;
		} else if (nslab_report(L, luaL_loadfile(L, NULL)) != LUA_OK) {
			/* `nslab < scenario.lua` runs standard input as a script. */
			*result = EXIT_USAGE;
			return 0;
		}
		code = run_chunk(L, &o, argv, argc, prompt ? "-i" : "stdin");
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
	nsl_interrupt_rearm = rearm;
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
