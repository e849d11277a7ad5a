/* Option tables of list items (see lua_optarg.h). */
#include <string.h>

#include "lua_optarg.h"
#include "lua_util.h"

int lnsl_oa_error(const struct lnsl_optarg *a, const char *field, const char *reason)
{
	if (field)
		return luaL_argerror(a->L, a->arg, lua_pushfstring(a->L, "%sfield '%s': %s",
								   a->prefix, field, reason));
	return luaL_argerror(a->L, a->arg, lua_pushfstring(a->L, "%s%s", a->prefix, reason));
}

void lnsl_oa_check(const struct lnsl_optarg *a, const char *const keys[])
{
	lua_State *L = a->L;
	const char *key;
	luaL_Buffer b;

	if (!lua_istable(L, a->idx))
		lnsl_oa_error(a, NULL, lua_pushfstring(L, "options table expected, got %s",
						       luaL_typename(L, a->idx)));
	lua_pushnil(L);
	while (lua_next(L, a->idx)) {
		int known = 0;
		lua_pop(L, 1);
		if (lua_type(L, -1) == LUA_TSTRING)
			for (int i = 0; keys[i]; i++)
				known |= strcmp(lua_tostring(L, -1), keys[i]) == 0;
		if (known)
			continue;
		{
			size_t klen;
			key = luaL_tolstring(L, -1, &klen);
			key = lnsl_quote(L, key, klen);
		}
		luaL_buffinit(L, &b);
		for (int i = 0; keys[i]; i++) {
			if (i)
				luaL_addstring(&b, ", ");
			luaL_addstring(&b, keys[i]);
		}
		luaL_pushresult(&b);
		lnsl_oa_error(a, NULL, lua_pushfstring(L, "unknown option %s (expected one of: %s)",
						       key, lua_tostring(L, -1)));
	}
}

int lnsl_oa_get(const struct lnsl_optarg *a, const char *field, int type, const char *tname)
{
	int t = lua_getfield(a->L, a->idx, field);

	if (t == LUA_TNIL) {
		lua_pop(a->L, 1);
		return 0;
	}
	if (t != type)
		lnsl_oa_error(a, field, lua_pushfstring(a->L, "%s expected, got %s", tname,
							luaL_typename(a->L, -1)));
	/* Strings are used as C strings: a NUL inside would cut them. */
	if (t == LUA_TSTRING && strlen(lua_tostring(a->L, -1)) != lua_rawlen(a->L, -1)) {
		const char *q = lnsl_quote(a->L, lua_tostring(a->L, -1), lua_rawlen(a->L, -1));
		lnsl_oa_error(a, field, lua_pushfstring(a->L, "%s contains a NUL byte", q));
	}
	return 1;
}

int lnsl_oa_int(const struct lnsl_optarg *a, const char *field, int min, int max, int *out)
{
	lua_Integer v;
	int isint;

	if (!lnsl_oa_get(a, field, LUA_TNUMBER, "integer"))
		return 0;
	v = lua_tointegerx(a->L, -1, &isint);
	if (!isint)
		lnsl_oa_error(a, field, "number has no integer representation");
	if (v < min || v > max)
		lnsl_oa_error(a, field, lua_pushfstring(a->L, "%I out of range (%d to %d)",
							(LUAI_UACINT)v, min, max));
	lua_pop(a->L, 1);
	*out = (int)v;
	return 1;
}

int lnsl_oa_num(const struct lnsl_optarg *a, const char *field, double min, double max, double *out)
{
	double v;

	if (!lnsl_oa_get(a, field, LUA_TNUMBER, "number"))
		return 0;
	v = (double)lua_tonumber(a->L, -1);
	if (!(v >= min && v <= max))
		lnsl_oa_error(a, field, lua_pushfstring(a->L, "%f out of range (%f to %f)",
							(LUAI_UACNUMBER)v, (LUAI_UACNUMBER)min,
							(LUAI_UACNUMBER)max));
	lua_pop(a->L, 1);
	*out = v;
	return 1;
}

int lnsl_oa_bool(const struct lnsl_optarg *a, const char *field, int *out)
{
	if (!lnsl_oa_get(a, field, LUA_TBOOLEAN, "boolean"))
		return 0;
	*out = lua_toboolean(a->L, -1);
	lua_pop(a->L, 1);
	return 1;
}

int lnsl_oa_ip(const struct lnsl_optarg *a, const char *field, struct nsl_ip *out)
{
	const char *s, *why;

	if (!lnsl_oa_get(a, field, LUA_TSTRING, "string"))
		return 0;
	s = lua_tostring(a->L, -1);
	if (nsl_parse_ip(s, 0, out, &why) < 0)
		lnsl_oa_error(a, field, lua_pushfstring(a->L, "%s: %s", lnsl_quotez(a->L, s), why));
	lua_pop(a->L, 1);
	return 1;
}

int lnsl_oa_ifname(const struct lnsl_optarg *a, const char *field, char out[NSL_IFNAMSIZ])
{
	const char *s, *why;

	if (!lnsl_oa_get(a, field, LUA_TSTRING, "string"))
		return 0;
	s = lua_tostring(a->L, -1);
	if (nsl_check_ifname(s, lua_rawlen(a->L, -1), &why) < 0)
		lnsl_oa_error(a, field, lua_pushfstring(a->L, "interface name %s %s", lnsl_quotez(a->L, s), why));
	memcpy(out, s, strlen(s) + 1);
	lua_pop(a->L, 1);
	return 1;
}

int lnsl_oa_item(lua_State *L, lua_Integer i, struct lnsl_optarg *a, const char *shape,
		 struct nsl_ns **ns)
{
	int item, t;

	a->L = L;
	a->arg = 1;
	a->idx = 0;
	a->prefix = lua_pushfstring(L, "item %I: ", (LUAI_UACINT)i);
	if ((t = lua_rawgeti(L, 1, i)) != LUA_TTABLE)
		lnsl_oa_error(a, NULL, lua_pushfstring(L, "%s expected, got %s", shape, lua_typename(L, t)));
	item = lua_gettop(L);
	lua_rawgeti(L, item, 1);
	*ns = luaL_testudata(L, -1, LNSL_NAMESPACE);
	if (!*ns)
		lnsl_oa_error(a, NULL, lua_pushfstring(L, "[1]: " LNSL_NAMESPACE " expected, got %s",
						       luaL_typename(L, -1)));
	if ((*ns)->fd < 0)
		lnsl_oa_error(a, NULL, "[1]: namespace is closed");
	lua_pop(L, 1);
	return item;
}

void lnsl_oa_item_ip(const struct lnsl_optarg *a, int item, int k, struct nsl_ip *ip)
{
	lua_State *L = a->L;
	const char *s, *why;

	if (lua_rawgeti(L, item, k) != LUA_TSTRING)
		lnsl_oa_error(a, NULL, lua_pushfstring(L, "[%d]: destination address (string) expected, got %s",
						       k, luaL_typename(L, -1)));
	s = lua_tostring(L, -1);
	if (strlen(s) != lua_rawlen(L, -1)) {
		const char *q = lnsl_quote(L, s, lua_rawlen(L, -1));
		lnsl_oa_error(a, NULL, lua_pushfstring(L, "[%d]: %s contains a NUL byte", k, q));
	}
	if (nsl_parse_ip(s, 0, ip, &why) < 0)
		lnsl_oa_error(a, NULL, lua_pushfstring(L, "[%d]: %s: %s", k, lnsl_quotez(L, s), why));
}
