/*
 * Helpers shared by the Lua bindings (core/lua_*.c).
 *
 * Error convention of the `netns` module:
 *  - a programmer's mistake (wrong type, bad name, bad address, unknown option)
 *    raises a string error through luaL_argerror, naming the argument (and the
 *    option field) and the reason, before anything is done;
 *  - a failure of the system raises a netns.Error object: a table with fields
 *    op ("create namespace "ns1""), reason ("File exists"), code ("EEXIST"),
 *    errno (17) and where ("script.lua:12", the caller's line, when known),
 *    whose tostring() (and field message) joins them: "script.lua:12: create
 *    namespace "ns1": File exists (EEXIST)";
 *  - a query for something that is not there (link_get of a missing link)
 *    returns nil; ping failures are data (see lua_ping.c).
 */
#ifndef NSLAB_LUA_UTIL_H
#define NSLAB_LUA_UTIL_H

#include <lua.h>
#include <lauxlib.h>

#include "namespace.h"
#include "parse.h"

#define LNSL_NAMESPACE "netns.Namespace"
#define LNSL_ERROR "netns.Error"

/* Raises a netns.Error for err (a negative errno); fmt/... describe the
 * operation and its object, in lua_pushfstring's format (%s %d %I %f %p %%). */
int lnsl_fail(lua_State *L, int err, const char *fmt, ...);
/* Registers the netns.Error metatable. */
void lnsl_open_error(lua_State *L);

/* Calls fn when the Lua state closes (a registry value under key whose
 * finalizer it is): for what the engine keeps process-wide. */
void lnsl_on_close(lua_State *L, const char *key, lua_CFunction fn);

/* Sets up the metatable tname for handles: close as __gc and __close,
 * tostring, and index (a closure over the table at methods) as __index. */
void lnsl_handle_type(lua_State *L, const char *tname, lua_CFunction close,
		      lua_CFunction tostring, lua_CFunction index, int methods);

/* The open handle at idx (raises if it is not a Namespace or is closed); a
 * lab node there is replaced by its handle ("node 'x' is not up" without one). */
struct nsl_ns *lnsl_checkns(lua_State *L, int idx);

/* Pushes s quoted for a message ('abc'), control bytes escaped, cut after
 * 64 bytes with its length; returns it. lnsl_quotez: of a C string. */
const char *lnsl_quote(lua_State *L, const char *s, size_t len);
const char *lnsl_quotez(lua_State *L, const char *s);

/* A real string (not a number); raises "string expected". With len, the
 * length is returned and any bytes are allowed; without, a NUL inside is
 * refused (the caller uses it as a C string). */
const char *lnsl_checkstring(lua_State *L, int arg, size_t *len);
const char *lnsl_checkifname(lua_State *L, int arg);
const char *lnsl_checknsname(lua_State *L, int arg);
void lnsl_checkip(lua_State *L, int arg, int want_prefix, struct nsl_ip *ip);

/*
 * Option tables. lnsl_checkopts raises on a non-table (when required) or a
 * key not in keys (NULL-terminated). The lnsl_opt* getters read one field,
 * raise "bad argument #arg to 'f' (field 'name': reason)" on a wrong type or
 * value, and return whether the field was present.
 */
void lnsl_checkopts(lua_State *L, int arg, const char *const keys[]);
int lnsl_optstring(lua_State *L, int arg, const char *field, const char **out);
int lnsl_optifname(lua_State *L, int arg, const char *field, const char **out);
int lnsl_optip(lua_State *L, int arg, const char *field, int want_prefix, struct nsl_ip *out);
int lnsl_optmac(lua_State *L, int arg, const char *field, unsigned char mac[6]);
int lnsl_optinteger(lua_State *L, int arg, const char *field,
		    lua_Integer min, lua_Integer max, lua_Integer *out);
int lnsl_optnumber(lua_State *L, int arg, const char *field,
		   lua_Number min, lua_Number max, lua_Number *out);
int lnsl_optboolean(lua_State *L, int arg, const char *field, int *out);
/* The Namespace handle in a field (for "move to this namespace", "peer in"). */
int lnsl_optns(lua_State *L, int arg, const char *field, struct nsl_ns **out);
/* Raises the field error used by the getters, for checks of one's own. */
int lnsl_fielderror(lua_State *L, int arg, const char *field, const char *reason);

/* t[k] = v helpers for building result tables (table on top of the stack). */
void lnsl_setstring(lua_State *L, const char *k, const char *v);
void lnsl_setinteger(lua_State *L, const char *k, lua_Integer v);
void lnsl_setnumber(lua_State *L, const char *k, lua_Number v);
void lnsl_setboolean(lua_State *L, const char *k, int v);

/* opts[field] = "inet" | "inet6" -> AF_INET | AF_INET6; AF_UNSPEC when absent. */
int lnsl_optfamily(lua_State *L, int arg, const char *field);
/* "inet" or "inet6", as results name a family. */
const char *lnsl_family_name(int family);

/*
 * The engine returns lists as malloc'd arrays. lnsl_pushbox pushes a userdata
 * that owns one (store it in *box right after the engine call), so a Lua
 * error while the result tables are built (out of memory) cannot leak it;
 * lnsl_box_free frees it on the normal path.
 */
void **lnsl_pushbox(lua_State *L);
void lnsl_box_free(void **box);

/* luaL_setfuncs into the table at index t (no upvalues). */
void lnsl_setfuncs(lua_State *L, int t, const luaL_Reg *fns);

/* A signal at arg by number or name ("TERM", "SIGTERM", "kill"); def if absent. */
int lnsl_checksignal(lua_State *L, int arg, int def);

/* Replaces the array of strings at idx by a sorted copy. */
void lnsl_sort_strings(lua_State *L, int idx);

/* Each area registers its module functions and Namespace methods. */
void lnsl_open_namespace(lua_State *L, int module, int methods);
void lnsl_open_link(lua_State *L, int module, int methods);
void lnsl_open_addr(lua_State *L, int module, int methods);
void lnsl_open_route(lua_State *L, int module, int methods);
void lnsl_open_neigh(lua_State *L, int module, int methods);
void lnsl_open_sysctl(lua_State *L, int module, int methods);
void lnsl_open_exec(lua_State *L, int module, int methods);
void lnsl_open_pids(lua_State *L, int module, int methods);
void lnsl_open_ping(lua_State *L, int module, int methods);
void lnsl_open_probe(lua_State *L, int module, int methods);
void lnsl_open_listen(lua_State *L, int module, int methods);
void lnsl_open_throughput(lua_State *L, int module, int methods);
void lnsl_open_path(lua_State *L, int module, int methods);
void lnsl_open_fs(lua_State *L, int module, int methods);
void lnsl_open_qdisc(lua_State *L, int module, int methods);
void lnsl_open_interrupt(lua_State *L, int module, int methods);

#endif
