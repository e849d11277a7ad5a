/*
 * ns:exec, ns:spawn and the netns.Process handle (the processes of a
 * namespace as a whole, and sleeping, are in lua_pids.c).
 *
 * A Process is a full userdata holding an nsl_proc, made closed first and
 * started only once every argument was checked (liolib's pattern), so a
 * failing start leaks nothing. close() is idempotent and serves as __gc and
 * __close: it ends the process if it still runs (SIGTERM to it and its group,
 * SIGKILL after NSL_PROC_GRACE seconds) and reaps it. Methods of a closed
 * handle raise "process is closed"; p.pid stays readable.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "exec.h"
#include "lua_util.h"
#include "process.h"

#define LNSL_PROCESS "netns.Process"
#define MAX_SECONDS 86400.0

struct lproc {
	struct nsl_proc p;
	enum nsl_io io[3];
	char label[96];		/* "sleep" in ns1 */
};

/* t[field] as a C string (no NUL inside), or 0 when absent. */
static int opt_cstring(lua_State *L, int arg, const char *field, const char **out)
{
	size_t len;
	int t = lua_getfield(L, arg, field);

	if (t == LUA_TNIL) {
		lua_pop(L, 1);
		return 0;
	}
	if (t != LUA_TSTRING)
		lnsl_fielderror(L, arg, field, lua_pushfstring(L, "string expected, got %s",
							       luaL_typename(L, -1)));
	*out = lua_tolstring(L, -1, &len);
	if (strlen(*out) != len)
		lnsl_fielderror(L, arg, field, "contains a NUL byte");
	lua_pop(L, 1);	/* still referenced by the options table */
	return 1;
}

/* The argv table as a NULL-terminated array (a userdata left on the stack;
 * the strings stay referenced by the table). */
static const char **check_argv(lua_State *L, int arg)
{
	lua_Integer n;
	const char **argv;

	luaL_checktype(L, arg, LUA_TTABLE);
	n = luaL_len(L, arg);
	luaL_argcheck(L, n > 0, arg, "argv is empty");
	luaL_argcheck(L, n < 100000, arg, "argv too long");
	argv = lua_newuserdatauv(L, (size_t)(n + 1) * sizeof *argv, 0);
	for (lua_Integer i = 1; i <= n; i++) {
		size_t len;

		if (lua_rawgeti(L, arg, i) != LUA_TSTRING)
			luaL_argerror(L, arg, lua_pushfstring(L, "argv[%I]: string expected, got %s",
							      (LUAI_UACINT)i, luaL_typename(L, -1)));
		argv[i - 1] = lua_tolstring(L, -1, &len);
		if (strlen(argv[i - 1]) != len)
			luaL_argerror(L, arg, lua_pushfstring(L, "argv[%I]: contains a NUL byte",
							      (LUAI_UACINT)i));
		lua_pop(L, 1);
	}
	luaL_argcheck(L, argv[0][0] != '\0', arg, "argv[1]: empty command name");
	argv[n] = NULL;
	return argv;
}

/* opts.env as "K=V" strings: an array userdata and a table keeping the strings
 * alive, both left on the stack. NULL when there is no env field. */
static const char **check_env(lua_State *L, int arg)
{
	const char **env;
	size_t n = 0, k = 0;
	int holder;

	if (lua_getfield(L, arg, "env") == LUA_TNIL) {
		lua_pop(L, 1);
		return NULL;
	}
	if (!lua_istable(L, -1))
		lnsl_fielderror(L, arg, "env", lua_pushfstring(L, "table expected, got %s",
							     luaL_typename(L, -1)));
	for (lua_pushnil(L); lua_next(L, -2); lua_pop(L, 1))
		n++;
	env = lua_newuserdatauv(L, (n + 1) * sizeof *env, 0);
	lua_createtable(L, (int)n, 0);
	holder = lua_gettop(L);
	for (lua_pushnil(L); lua_next(L, holder - 2); lua_pop(L, 1)) {
		size_t klen, vlen;
		const char *key, *val;

		if (lua_type(L, -2) != LUA_TSTRING)
			lnsl_fielderror(L, arg, "env", "keys must be strings");
		key = lua_tolstring(L, -2, &klen);
		if (klen == 0 || strlen(key) != klen || strchr(key, '='))
			lnsl_fielderror(L, arg, "env", lua_pushfstring(L,
					"bad variable name '%s' (empty, '=' or NUL)", key));
		if (lua_type(L, -1) != LUA_TSTRING)
			lnsl_fielderror(L, arg, "env", lua_pushfstring(L,
					"value of %s: string expected, got %s", key,
					luaL_typename(L, -1)));
		val = lua_tolstring(L, -1, &vlen);
		if (strlen(val) != vlen)
			lnsl_fielderror(L, arg, "env", lua_pushfstring(L,
					"value of %s contains a NUL byte", key));
		lua_pushfstring(L, "%s=%s", key, val);
		env[k++] = lua_tostring(L, -1);
		lua_rawseti(L, holder, (lua_Integer)k);
	}
	env[k] = NULL;
	return env;
}

/* The options both exec and spawn take. */
static void check_common(lua_State *L, int arg, struct nsl_cmd *cmd)
{
	cmd->env = check_env(L, arg);
	lnsl_optboolean(L, arg, "clear_env", &cmd->clear_env);
	opt_cstring(L, arg, "cwd", &cmd->cwd);
}

/* spawn's stdin/stdout/stderr: "pipe" (not stdin), "inherit", "null" or a path. */
static void check_io(lua_State *L, int arg, struct nsl_cmd *cmd, int i, const char *field)
{
	const char *s;

	cmd->io[i] = i == 0 ? NSL_IO_NULL : NSL_IO_PIPE;
	if (!opt_cstring(L, arg, field, &s))
		return;
	if (strcmp(s, "pipe") == 0 && i > 0)
		cmd->io[i] = NSL_IO_PIPE;
	else if (strcmp(s, "inherit") == 0)
		cmd->io[i] = NSL_IO_INHERIT;
	else if (strcmp(s, "null") == 0)
		cmd->io[i] = NSL_IO_NULL;
	else if (s[0] == '\0' || strcmp(s, "pipe") == 0)
		lnsl_fielderror(L, arg, field, i ? "expected \"pipe\", \"inherit\", \"null\" or a path"
						 : "expected \"inherit\", \"null\" or a path");
	else {
		cmd->io[i] = NSL_IO_FILE;
		cmd->path[i] = s;
	}
}

/* status, code or signal, timed_out: the fields every result has. */
static void push_status(lua_State *L, enum nsl_exit status, int code, int sig)
{
	static const char *const names[] = { "exited", "signaled", "timeout" };

	lnsl_setstring(L, "status", names[status]);
	if (sig)
		lnsl_setinteger(L, "signal", sig);
	else
		lnsl_setinteger(L, "code", code);
	lnsl_setboolean(L, "timed_out", status == NSL_TIMEOUT);
}

static void set_output(lua_State *L, const char *k, int captured, char *data, size_t len)
{
	if (captured) {
		lua_pushlstring(L, data ? data : "", len);
		lua_setfield(L, -2, k);
	}
	free(data);
}

static int fail_start(lua_State *L, int err, const char *verb, const char *argv0,
		      const struct nsl_ns *ns, const struct nsl_fail *f)
{
	if (!f->step || strcmp(f->step, "exec") == 0)
		return lnsl_fail(L, err, "%s \"%s\" in %s", verb, argv0, ns->label);
	if (f->object)
		return lnsl_fail(L, err, "%s \"%s\" in %s: %s \"%s\"", verb, argv0, ns->label,
				 f->step, f->object);
	return lnsl_fail(L, err, "%s \"%s\" in %s: %s", verb, argv0, ns->label, f->step);
}

static const char *const exec_keys[] = { "env", "clear_env", "cwd", "stdin", "timeout",
					 "capture", NULL };

/** ns:exec(argv [, {env=, clear_env=, cwd=, stdin=, timeout=, capture=true}]) -> result:
 * runs argv in the namespace as `ip netns exec` and waits for it; result is
 * {status="exited"|"signaled"|"timeout", code, signal, stdout, stderr,
 *  timed_out, elapsed, pid}. */
static int m_exec(lua_State *L)
{
	struct nsl_ns *ns = lnsl_checkns(L, 1);
	const char **argv = (lua_settop(L, 3), check_argv(L, 2));
	struct nsl_cmd cmd = { 0 };
	struct nsl_exec_result r;
	struct nsl_fail fail;
	const char *in = NULL;
	size_t in_len = 0;
	lua_Number timeout = 0;
	int capture = 1, err;

	cmd.argv = argv;
	if (!lua_isnoneornil(L, 3)) {
		lnsl_checkopts(L, 3, exec_keys);
		check_common(L, 3, &cmd);
		if (lua_getfield(L, 3, "stdin") != LUA_TNIL) {
			if (lua_type(L, -1) != LUA_TSTRING)
				lnsl_fielderror(L, 3, "stdin", lua_pushfstring(L,
						"string expected, got %s", luaL_typename(L, -1)));
			in = lua_tolstring(L, -1, &in_len);
		}
		lua_pop(L, 1);	/* the string stays referenced by the options table */
		if (lnsl_optnumber(L, 3, "timeout", 0, MAX_SECONDS, &timeout) && !(timeout > 0))
			lnsl_fielderror(L, 3, "timeout", "must be more than 0 seconds");
		lnsl_optboolean(L, 3, "capture", &capture);
	}
	cmd.io[0] = in ? NSL_IO_PIPE : capture ? NSL_IO_NULL : NSL_IO_INHERIT;
	cmd.io[1] = cmd.io[2] = capture ? NSL_IO_PIPE : NSL_IO_INHERIT;
	/* Its own group only when it may have to be killed with its children:
	 * otherwise it stays in our terminal's foreground group, as with ip. */
	cmd.new_group = timeout > 0;

	/* -EINTR under nslab: lnsl_fail raises its "interrupted" error. */
	if ((err = nsl_exec(ns, &cmd, in, in_len, timeout, &r, &fail)) < 0)
		return fail_start(L, err, "exec", argv[0], ns, &fail);
	lua_createtable(L, 0, 8);
	push_status(L, r.status, r.code, r.signal);
	set_output(L, "stdout", capture, r.out, r.out_len);
	set_output(L, "stderr", capture, r.err, r.err_len);
	lnsl_setnumber(L, "elapsed", r.elapsed);
	lnsl_setinteger(L, "pid", r.pid);
	return 1;
}

static struct lproc *checkproc(lua_State *L)
{
	struct lproc *lp = luaL_checkudata(L, 1, LNSL_PROCESS);

	if (!lp->p.open)
		luaL_error(L, "process is closed");
	return lp;
}

static const char *const spawn_keys[] = { "env", "clear_env", "cwd", "stdin", "stdout",
					  "stderr", NULL };

/** ns:spawn(argv [, {env=, clear_env=, cwd=, stdin="null"|"inherit"|path,
 * stdout="pipe"|"inherit"|"null"|path, stderr=...}]) -> Process: starts argv
 * in the namespace and returns at once. */
static int m_spawn(lua_State *L)
{
	struct nsl_ns *ns = lnsl_checkns(L, 1);
	const char **argv = (lua_settop(L, 3), check_argv(L, 2));
	struct nsl_cmd cmd = { 0 };
	struct nsl_fail fail;
	struct lproc *lp;
	int err;

	cmd.argv = argv;
	cmd.io[0] = NSL_IO_NULL;
	cmd.io[1] = cmd.io[2] = NSL_IO_PIPE;
	if (!lua_isnoneornil(L, 3)) {
		lnsl_checkopts(L, 3, spawn_keys);
		check_common(L, 3, &cmd);
		check_io(L, 3, &cmd, 0, "stdin");
		check_io(L, 3, &cmd, 1, "stdout");
		check_io(L, 3, &cmd, 2, "stderr");
	}
	/* A background job of its own: our terminal's ^C does not reach it, and
	 * close() can end it together with whatever it started. */
	cmd.new_group = 1;

	lp = lua_newuserdatauv(L, sizeof *lp, 0);
	nsl_proc_init(&lp->p);
	luaL_setmetatable(L, LNSL_PROCESS);
	if ((err = nsl_proc_start(&lp->p, ns, &cmd, &fail)) < 0)
		return fail_start(L, err, "spawn", argv[0], ns, &fail);
	memcpy(lp->io, cmd.io, sizeof lp->io);
	lua_pushfstring(L, "\"%s\" in %s", argv[0], ns->label);
	strncpy(lp->label, lua_tostring(L, -1), sizeof lp->label - 1);
	lp->label[sizeof lp->label - 1] = '\0';
	lua_pop(L, 1);
	return 1;
}

/** p:running() -> boolean */
static int p_running(lua_State *L)
{
	struct lproc *lp = checkproc(L);
	int r = nsl_proc_running(&lp->p);

	if (r < 0)
		return lnsl_fail(L, r, "wait for process %d (%s)", (int)lp->p.c.pid, lp->label);
	lua_pushboolean(L, r);
	return 1;
}

/** p:wait([timeout]) -> result|nil: waits (for ever, or up to timeout seconds;
 * nil if still running then) and returns {status, code, signal, stdout, stderr,
 * timed_out=false, elapsed, pid}, stdout/stderr being what p:read() had not
 * returned yet. Waiting again returns the same status. */
static int p_wait(lua_State *L)
{
	struct lproc *lp = checkproc(L);
	lua_Number t = luaL_optnumber(L, 2, -1);
	char *data;
	size_t len;
	int r;

	luaL_argcheck(L, lua_isnoneornil(L, 2) || (t >= 0 && t <= MAX_SECONDS), 2,
		      "timeout out of range (0 to 86400 seconds)");
	if ((r = nsl_proc_wait(&lp->p, t)) < 0)
		return lnsl_fail(L, r, "wait for process %d (%s)", (int)lp->p.c.pid, lp->label);
	if (r == 0) {
		lua_pushnil(L);
		return 1;
	}
	lua_createtable(L, 0, 8);
	if (WIFSIGNALED(lp->p.wstatus))
		push_status(L, NSL_SIGNALED, 0, WTERMSIG(lp->p.wstatus));
	else
		push_status(L, NSL_EXITED, WEXITSTATUS(lp->p.wstatus), 0);
	nsl_proc_take(&lp->p, 1, &data, &len);
	set_output(L, "stdout", lp->io[1] == NSL_IO_PIPE, data, len);
	nsl_proc_take(&lp->p, 2, &data, &len);
	set_output(L, "stderr", lp->io[2] == NSL_IO_PIPE, data, len);
	lnsl_setnumber(L, "elapsed", lp->p.elapsed);
	lnsl_setinteger(L, "pid", lp->p.c.pid);
	return 1;
}

/** p:kill([sig]) -> boolean: sends sig (default "TERM") to the process; false
 * if it had already exited and been reaped. */
static int p_kill(lua_State *L)
{
	struct lproc *lp = checkproc(L);
	int sig = lnsl_checksignal(L, 2, SIGTERM);
	int r = nsl_proc_signal(&lp->p, sig, 0);

	if (r < 0 && r != -ESRCH)
		return lnsl_fail(L, r, "signal process %d (%s)", (int)lp->p.c.pid, lp->label);
	lua_pushboolean(L, r == 0);
	return 1;
}

/** p:read() -> stdout, stderr: what it printed since the last read (never
 * blocks; "" if nothing new; nil for a stream that is not a pipe). */
static int p_read(lua_State *L)
{
	struct lproc *lp = checkproc(L);
	char *data;
	size_t len;
	int r;

	if ((r = nsl_proc_drain(&lp->p)) < 0)
		return lnsl_fail(L, r, "read output of process %d (%s)", (int)lp->p.c.pid,
				 lp->label);
	for (int i = 1; i < 3; i++) {
		nsl_proc_take(&lp->p, i, &data, &len);
		if (lp->io[i] == NSL_IO_PIPE)
			lua_pushlstring(L, data ? data : "", len);
		else
			lua_pushnil(L);
		free(data);
	}
	return 2;
}

/** p:close(): ends the process if it runs (TERM, then KILL after a grace
 * period), reaps it and releases everything. Idempotent; also __gc/__close. */
static int p_close(lua_State *L)
{
	struct lproc *lp = luaL_checkudata(L, 1, LNSL_PROCESS);

	nsl_proc_close(&lp->p);
	return 0;
}

static int p_tostring(lua_State *L)
{
	struct lproc *lp = luaL_checkudata(L, 1, LNSL_PROCESS);

	if (!lp->p.open)
		lua_pushstring(L, LNSL_PROCESS " (closed)");
	else
		lua_pushfstring(L, LNSL_PROCESS " (pid %d, %s)", (int)lp->p.c.pid, lp->label);
	return 1;
}

static int p_index(lua_State *L)
{
	struct lproc *lp = luaL_checkudata(L, 1, LNSL_PROCESS);
	const char *k = lua_tostring(L, 2);

	if (k && strcmp(k, "pid") == 0) {
		if (lp->p.c.pid > 0)
			lua_pushinteger(L, lp->p.c.pid);
		else
			lua_pushnil(L);
		return 1;
	}
	if (k && strcmp(k, "closed") == 0) {
		lua_pushboolean(L, !lp->p.open);
		return 1;
	}
	lua_pushvalue(L, 2);
	lua_gettable(L, lua_upvalueindex(1));
	return 1;
}

static const luaL_Reg methods[] = {
	{ "exec", m_exec },
	{ "spawn", m_spawn },
	{ NULL, NULL }
};

static const luaL_Reg proc_methods[] = {
	{ "running", p_running },
	{ "wait", p_wait },
	{ "kill", p_kill },
	{ "read", p_read },
	{ "close", p_close },
	{ NULL, NULL }
};

void lnsl_open_exec(lua_State *L, int module, int methodtab)
{
	(void)module;
	lnsl_setfuncs(L, methodtab, methods);

	luaL_newlib(L, proc_methods);
	lnsl_handle_type(L, LNSL_PROCESS, p_close, p_tostring, p_index, -1);
	lua_pop(L, 1);
}
