/* Argument checking, option tables and the netns.Error object for the bindings. */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "errors.h"
#include "interrupt.h"
#include "lua_optarg.h"
#include "lua_util.h"

/*
 * An engine call cut short by a signal nslab caught (EINTR while
 * nsl_interrupted()) raises the same "interrupted" error nslab's hook would,
 * and disarms that hook: left armed, it would fire again in the message
 * handler and the <close> handlers this error runs. If a pcall catches the
 * error, nslab arms the hook again when that pcall returns (nslab.c).
 */
static int interrupted(lua_State *L)
{
	lua_sethook(L, NULL, 0, 0);
	return luaL_error(L, "%s", nsl_interrupt_message());
}

/* "[where: ]op: reason (CODE)", from the fields of the netns.Error at idx. */
static void push_error_text(lua_State *L, int idx)
{
	luaL_Buffer b;
	static const char *const parts[] = { "where", "op", "reason", "code" };
	static const char *const before[] = { "", ": ", ": ", " (" };
	int n = 0;

	idx = lua_absindex(L, idx);
	luaL_buffinit(L, &b);
	for (int i = 0; i < 4; i++) {
		if (lua_getfield(L, idx, parts[i]) == LUA_TSTRING && lua_rawlen(L, -1) > 0) {
			const char *v = lua_tostring(L, -1);

			lua_pop(L, 1);
			if (n++)
				luaL_addstring(&b, before[i]);
			luaL_addstring(&b, v);
		} else {
			lua_pop(L, 1);
		}
	}
	if (n && lua_getfield(L, idx, "code") == LUA_TSTRING)
		luaL_addchar(&b, ')');
	lua_pop(L, 1);
	luaL_pushresult(&b);
}

static int e_tostring(lua_State *L)
{
	push_error_text(L, 1);
	return 1;
}

/* e.message: the joined text (kept for readers of the old field). */
static int e_index(lua_State *L)
{
	const char *k = lua_tostring(L, 2);

	if (k && strcmp(k, "message") == 0)
		push_error_text(L, 1);
	else
		lua_pushnil(L);
	return 1;
}

void lnsl_open_error(lua_State *L)
{
	luaL_newmetatable(L, LNSL_ERROR);
	lua_pushcfunction(L, e_tostring);
	lua_setfield(L, -2, "__tostring");
	lua_pushcfunction(L, e_index);
	lua_setfield(L, -2, "__index");
	lua_pop(L, 1);
}

int lnsl_fail(lua_State *L, int err, const char *fmt, ...)
{
	va_list ap;
	size_t len;
	const char *where;

	if (err < 0)
		err = -err;
	if (err == EINTR && nsl_interrupted())
		return interrupted(L);
	lua_createtable(L, 0, 5);
	va_start(ap, fmt);
	lua_pushvfstring(L, fmt, ap);
	va_end(ap);
	lua_setfield(L, -2, "op");
	lua_pushstring(L, strerror(err));
	lua_setfield(L, -2, "reason");
	lua_pushstring(L, nsl_errname(err));
	lua_setfield(L, -2, "code");
	lua_pushinteger(L, err);
	lua_setfield(L, -2, "errno");
	luaL_where(L, 1);	/* "file:line: " or "" */
	where = lua_tolstring(L, -1, &len);
	if (len > 2) {
		lua_pushlstring(L, where, len - 2);
		lua_setfield(L, -3, "where");
	}
	lua_pop(L, 1);
	luaL_setmetatable(L, LNSL_ERROR);
	return lua_error(L);
}

/* The metatable of a handle type, liolib-style: one idempotent close serves
 * as __gc and __close; index (a closure over the methods table at methods)
 * reads fields and finds methods. */
void lnsl_handle_type(lua_State *L, const char *tname, lua_CFunction close,
		      lua_CFunction tostring, lua_CFunction index, int methods)
{
	methods = lua_absindex(L, methods);
	luaL_newmetatable(L, tname);
	lua_pushcfunction(L, close);
	lua_setfield(L, -2, "__gc");
	lua_pushcfunction(L, close);
	lua_setfield(L, -2, "__close");
	lua_pushcfunction(L, tostring);
	lua_setfield(L, -2, "__tostring");
	lua_pushvalue(L, methods);
	lua_pushcclosure(L, index, 1);
	lua_setfield(L, -2, "__index");
	lua_pop(L, 1);
}

/* Long values are cut in messages: a 1 MiB name must not make a 1 MB error. */
#define QUOTE_MAX 64

const char *lnsl_quote(lua_State *L, const char *s, size_t len)
{
	luaL_Buffer b;

	luaL_buffinit(L, &b);
	luaL_addchar(&b, '\'');
	for (size_t i = 0; i < len && i < QUOTE_MAX; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c < 0x20 || c == 0x7f) {
			char esc[8];
			snprintf(esc, sizeof esc, "\\x%02x", c);
			luaL_addstring(&b, esc);
		} else {
			luaL_addchar(&b, (char)c);
		}
	}
	if (len > QUOTE_MAX)
		luaL_addstring(&b, "...");
	luaL_addchar(&b, '\'');
	if (len > QUOTE_MAX) {
		char n[48];
		snprintf(n, sizeof n, " (%zu bytes)", len);
		luaL_addstring(&b, n);
	}
	luaL_pushresult(&b);
	return lua_tostring(L, -1);
}

const char *lnsl_quotez(lua_State *L, const char *s)
{
	return lnsl_quote(L, s, strlen(s));
}

/* Without len the caller uses the string as a C string: a NUL inside would
 * silently cut it, so it is refused. */
const char *lnsl_checkstring(lua_State *L, int arg, size_t *len)
{
	size_t n;
	const char *s;

	if (lua_type(L, arg) != LUA_TSTRING)
		luaL_typeerror(L, arg, "string");
	s = lua_tolstring(L, arg, &n);
	if (len)
		*len = n;
	else if (strlen(s) != n)
		luaL_argerror(L, arg, lua_pushfstring(L, "%s contains a NUL byte", lnsl_quote(L, s, n)));
	return s;
}

typedef int (*checker)(const char *, size_t, const char **);

static const char *check_name(lua_State *L, int arg, checker check, const char *what)
{
	size_t len;
	const char *s = lnsl_checkstring(L, arg, &len), *why;

	if (check(s, len, &why) < 0)
		luaL_argerror(L, arg, lua_pushfstring(L, "%s %s %s", what, lnsl_quote(L, s, len), why));
	return s;
}

const char *lnsl_checkifname(lua_State *L, int arg)
{
	return check_name(L, arg, nsl_check_ifname, "interface name");
}

const char *lnsl_checknsname(lua_State *L, int arg)
{
	return check_name(L, arg, nsl_check_nsname, "namespace name");
}

void lnsl_checkip(lua_State *L, int arg, int want_prefix, struct nsl_ip *ip)
{
	const char *s = lnsl_checkstring(L, arg, NULL), *why;

	if (nsl_parse_ip(s, want_prefix, ip, &why) < 0)
		luaL_argerror(L, arg, lua_pushfstring(L, "%s: %s", lnsl_quotez(L, s), why));
}

void lnsl_checkopts(lua_State *L, int arg, const char *const keys[])
{
	struct lnsl_optarg a = { L, arg, arg, "" };

	luaL_checktype(L, arg, LUA_TTABLE);
	lnsl_oa_check(&a, keys);
}

int lnsl_fielderror(lua_State *L, int arg, const char *field, const char *reason)
{
	return luaL_argerror(L, arg, lua_pushfstring(L, "field '%s': %s", field, reason));
}

/* Pushes t[field] and returns its type; the caller pops it, but for an
 * absent option (nil), which is popped here. */
static int getfield(lua_State *L, int arg, const char *field)
{
	int t = lua_getfield(L, arg, field);

	if (t == LUA_TNIL)
		lua_pop(L, 1);
	return t;
}

static void typeerror(lua_State *L, int arg, const char *field, const char *expected)
{
	lnsl_fielderror(L, arg, field, lua_pushfstring(L, "%s expected, got %s",
						       expected, luaL_typename(L, -1)));
}

int lnsl_optstring(lua_State *L, int arg, const char *field, const char **out)
{
	int t = getfield(L, arg, field);

	if (t == LUA_TNIL)
		return 0;
	if (t != LUA_TSTRING)
		typeerror(L, arg, field, "string");
	/* The string stays alive: it is referenced from the options table. */
	*out = lua_tostring(L, -1);
	if (strlen(*out) != lua_rawlen(L, -1)) {
		const char *q = lnsl_quote(L, *out, lua_rawlen(L, -1));
		lnsl_fielderror(L, arg, field, lua_pushfstring(L, "%s contains a NUL byte", q));
	}
	lua_pop(L, 1);
	return 1;
}

int lnsl_optifname(lua_State *L, int arg, const char *field, const char **out)
{
	const char *why;

	if (!lnsl_optstring(L, arg, field, out))
		return 0;
	if (nsl_check_ifname(*out, strlen(*out), &why) < 0)
		lnsl_fielderror(L, arg, field, lua_pushfstring(L, "interface name %s %s", lnsl_quotez(L, *out), why));
	return 1;
}

int lnsl_optip(lua_State *L, int arg, const char *field, int want_prefix, struct nsl_ip *out)
{
	const char *s, *why;

	if (!lnsl_optstring(L, arg, field, &s))
		return 0;
	if (nsl_parse_ip(s, want_prefix, out, &why) < 0)
		lnsl_fielderror(L, arg, field, lua_pushfstring(L, "%s: %s", lnsl_quotez(L, s), why));
	return 1;
}

int lnsl_optmac(lua_State *L, int arg, const char *field, unsigned char mac[6])
{
	const char *s, *why;

	if (!lnsl_optstring(L, arg, field, &s))
		return 0;
	if (nsl_parse_mac(s, mac, &why) < 0)
		lnsl_fielderror(L, arg, field, lua_pushfstring(L, "%s: %s", lnsl_quotez(L, s), why));
	return 1;
}

int lnsl_optinteger(lua_State *L, int arg, const char *field,
		    lua_Integer min, lua_Integer max, lua_Integer *out)
{
	int t = getfield(L, arg, field);
	lua_Integer v;

	if (t == LUA_TNIL)
		return 0;
	if (!lua_isinteger(L, -1)) {
		if (t == LUA_TNUMBER)
			lnsl_fielderror(L, arg, field, "number has no integer representation");
		typeerror(L, arg, field, "integer");
	}
	v = lua_tointeger(L, -1);
	lua_pop(L, 1);
	if (v < min || v > max)
		lnsl_fielderror(L, arg, field, lua_pushfstring(L, "%I out of range (%I to %I)",
							       (LUAI_UACINT)v, (LUAI_UACINT)min,
							       (LUAI_UACINT)max));
	*out = v;
	return 1;
}

int lnsl_optnumber(lua_State *L, int arg, const char *field,
		   lua_Number min, lua_Number max, lua_Number *out)
{
	int t = getfield(L, arg, field);
	lua_Number v;

	if (t == LUA_TNIL)
		return 0;
	if (t != LUA_TNUMBER)
		typeerror(L, arg, field, "number");
	v = lua_tonumber(L, -1);
	lua_pop(L, 1);
	if (!(v >= min && v <= max))
		lnsl_fielderror(L, arg, field, lua_pushfstring(L, "%f out of range (%f to %f)",
							       (LUAI_UACNUMBER)v, (LUAI_UACNUMBER)min,
							       (LUAI_UACNUMBER)max));
	*out = v;
	return 1;
}

int lnsl_optboolean(lua_State *L, int arg, const char *field, int *out)
{
	int t = getfield(L, arg, field);

	if (t == LUA_TNIL)
		return 0;
	if (t != LUA_TBOOLEAN)
		typeerror(L, arg, field, "boolean");
	*out = lua_toboolean(L, -1);
	lua_pop(L, 1);
	return 1;
}

int lnsl_optns(lua_State *L, int arg, const char *field, struct nsl_ns **out)
{
	int t = getfield(L, arg, field);
	struct nsl_ns *ns;

	if (t == LUA_TNIL)
		return 0;
	ns = luaL_testudata(L, -1, LNSL_NAMESPACE);
	if (!ns)
		typeerror(L, arg, field, LNSL_NAMESPACE);
	if (ns->fd < 0)
		lnsl_fielderror(L, arg, field, "namespace is closed");
	/* The handle stays alive: it is referenced from the options table. */
	lua_pop(L, 1);
	*out = ns;
	return 1;
}

void lnsl_setstring(lua_State *L, const char *k, const char *v)
{
	lua_pushstring(L, v);
	lua_setfield(L, -2, k);
}

void lnsl_setinteger(lua_State *L, const char *k, lua_Integer v)
{
	lua_pushinteger(L, v);
	lua_setfield(L, -2, k);
}

void lnsl_setnumber(lua_State *L, const char *k, lua_Number v)
{
	lua_pushnumber(L, v);
	lua_setfield(L, -2, k);
}

void lnsl_setboolean(lua_State *L, const char *k, int v)
{
	lua_pushboolean(L, v);
	lua_setfield(L, -2, k);
}

static int cmp_strings(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Replaces the array of strings at idx by a sorted copy (byte order, as `ls`
 * in the C locale). */
void lnsl_sort_strings(lua_State *L, int idx)
{
	int n, t = lua_absindex(L, idx);
	const char **names;

	n = (int)lua_rawlen(L, t);
	names = lua_newuserdatauv(L, sizeof *names * (size_t)(n ? n : 1), 0);
	for (int i = 0; i < n; i++) {
		lua_rawgeti(L, t, i + 1);
		names[i] = lua_tostring(L, -1);	/* stays referenced by the table */
		lua_pop(L, 1);
	}
	qsort(names, (size_t)n, sizeof *names, cmp_strings);
	lua_createtable(L, n, 0);
	for (int i = 0; i < n; i++) {
		lua_pushstring(L, names[i]);
		lua_rawseti(L, -2, i + 1);
	}
	lua_replace(L, t);	/* the sorted copy takes the original's place */
	lua_pop(L, 1);
}

int lnsl_optfamily(lua_State *L, int arg, const char *field)
{
	const char *s;

	if (!lnsl_optstring(L, arg, field, &s))
		return AF_UNSPEC;
	if (strcmp(s, "inet") == 0)
		return AF_INET;
	if (strcmp(s, "inet6") == 0)
		return AF_INET6;
	return lnsl_fielderror(L, arg, field,
			       lua_pushfstring(L, "unknown family %s (expected inet or inet6)", lnsl_quotez(L, s)));
}

const char *lnsl_family_name(int family)
{
	return family == AF_INET ? "inet" : "inet6";
}

#define LNSL_BOX "netns.box"

static int box_gc(lua_State *L)
{
	lnsl_box_free(lua_touserdata(L, 1));
	return 0;
}

void **lnsl_pushbox(lua_State *L)
{
	void **box = lua_newuserdatauv(L, sizeof *box, 0);

	*box = NULL;
	if (luaL_newmetatable(L, LNSL_BOX)) {
		lua_pushcfunction(L, box_gc);
		lua_setfield(L, -2, "__gc");
	}
	lua_setmetatable(L, -2);
	return box;
}

void lnsl_box_free(void **box)
{
	free(*box);
	*box = NULL;
}

void lnsl_setfuncs(lua_State *L, int t, const luaL_Reg *fns)
{
	lua_pushvalue(L, t);
	luaL_setfuncs(L, fns, 0);
	lua_pop(L, 1);
}

/* A signal by number or name ("TERM", "SIGTERM", "kill"). */
int lnsl_checksignal(lua_State *L, int arg, int def)
{
	const char *s;

	if (lua_isnoneornil(L, arg))
		return def;
	if (lua_type(L, arg) == LUA_TNUMBER) {
		lua_Integer n = luaL_checkinteger(L, arg);

		luaL_argcheck(L, n > 0 && n < NSIG, arg, "signal number out of range");
		return (int)n;
	}
	s = lnsl_checkstring(L, arg, NULL);
	if (strncasecmp(s, "SIG", 3) == 0)
		s += 3;
	for (int sig = 1; sig < SIGRTMIN; sig++) {
		const char *name = sigabbrev_np(sig);

		if (name && strcasecmp(name, s) == 0)
			return sig;
	}
	return luaL_argerror(L, arg, lua_pushfstring(L, "unknown signal %s", lnsl_quotez(L, s)));
}

void lnsl_on_close(lua_State *L, const char *key, lua_CFunction fn)
{
	lua_newuserdatauv(L, 1, 0);
	lua_createtable(L, 0, 1);
	lua_pushcfunction(L, fn);
	lua_setfield(L, -2, "__gc");
	lua_setmetatable(L, -2);
	lua_setfield(L, LUA_REGISTRYINDEX, key);
}
