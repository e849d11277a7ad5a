/*
 * Option tables that are not a function argument of their own: the items
 * of a list (netns.ping_many's {ns, dst, opts}, netns.probe_many's ...), so
 * an error names the argument, the item and the field:
 *   bad argument #1 to 'ping_many' (item 3: field 'count': integer expected, got string)
 * For a table that is one argument, lnsl_checkopts and lnsl_opt* (lua_util.h)
 * say the same with less.
 */
#ifndef NSLAB_LUA_OPTARG_H
#define NSLAB_LUA_OPTARG_H

#include <lua.h>
#include <lauxlib.h>

#include "namespace.h"
#include "parse.h"

/* Where the table is (idx), which argument to blame (arg) and what to say
 * before the field ("item 3: ", or ""). */
struct lnsl_optarg {
	lua_State *L;
	int idx, arg;
	const char *prefix;
};

/* Raises "bad argument #arg (<prefix>field 'f': reason)" (no field: reason). */
int lnsl_oa_error(const struct lnsl_optarg *a, const char *field, const char *reason);
/* Raises unless idx is a table whose keys are all in keys (NULL-terminated). */
void lnsl_oa_check(const struct lnsl_optarg *a, const char *const keys[]);
/* Pushes the field when it has the type; returns 0 (nothing pushed) when nil. */
int lnsl_oa_get(const struct lnsl_optarg *a, const char *field, int type, const char *tname);
/* Typed getters: leave *out alone when the field is nil; return whether present. */
int lnsl_oa_int(const struct lnsl_optarg *a, const char *field, int min, int max, int *out);
int lnsl_oa_num(const struct lnsl_optarg *a, const char *field, double min, double max, double *out);
int lnsl_oa_bool(const struct lnsl_optarg *a, const char *field, int *out);
int lnsl_oa_ip(const struct lnsl_optarg *a, const char *field, struct nsl_ip *out);
int lnsl_oa_ifname(const struct lnsl_optarg *a, const char *field, char out[NSL_IFNAMSIZ]);

/*
 * Item i of the list at argument 1, {ns, ...}: pushes the prefix "item I: "
 * (a->prefix, a->arg = 1) and the item, checks its [1] is an open
 * netns.Namespace (*ns), and returns the item's stack index; shape says
 * what an item is ("{ns, dst [, opts]}"). The caller settops to index - 2.
 */
int lnsl_oa_item(lua_State *L, lua_Integer i, struct lnsl_optarg *a, const char *shape,
		 struct nsl_ns **ns);
/* The address at item[k] into *ip (pushed; errors name "[k]"). */
void lnsl_oa_item_ip(const struct lnsl_optarg *a, int item, int k, struct nsl_ip *ip);

#endif
