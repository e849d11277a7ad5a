/*
 * ns:sysctl_get and ns:sysctl_set: a namespace's sysctls by dotted key.
 *
 * The key is checked before anything is opened (nsl_check_sysctl_key: under
 * net., no '/', no empty component, no spaces), so no key can name a file
 * outside /proc/sys/net. Failures name the key and the namespace:
 * `sysctl net.ipv4.nope in ns1: No such file or directory (ENOENT)`.
 */
#include <errno.h>
#include <string.h>

#include "lua_util.h"
#include "sysctl.h"

/* /proc/sys/net values are a line or a few: a stack buffer nearly always
 * does; a longer value is read again into a Lua buffer of VALUE_MAX. */
#define VALUE_SMALL 4096
#define VALUE_MAX 65536

static const char *checkkey(lua_State *L, int arg)
{
	size_t len;
	const char *key = lnsl_checkstring(L, arg, &len), *why;

	if (nsl_check_sysctl_key(key, len, &why) < 0)
		luaL_argerror(L, arg, lua_pushfstring(L, "sysctl key %s %s", lnsl_quote(L, key, len), why));
	return key;
}

/** ns:sysctl_get(key) -> string: the value, as `ip netns exec NS sysctl -n key` prints it. */
static int m_sysctl_get(lua_State *L)
{
	struct nsl_ns *ns = lnsl_checkns(L, 1);
	const char *key = checkkey(L, 2);
	char small[VALUE_SMALL], *p;
	luaL_Buffer b;
	int n;

	if ((n = nsl_sysctl_get(ns, key, small, sizeof small)) >= 0) {
		lua_pushlstring(L, small, (size_t)n);
		return 1;
	}
	if (n == -EFBIG) {
		p = luaL_buffinitsize(L, &b, VALUE_MAX);
		if ((n = nsl_sysctl_get(ns, key, p, VALUE_MAX)) >= 0) {
			luaL_pushresultsize(&b, (size_t)n);
			return 1;
		}
	}
	return lnsl_fail(L, n, "sysctl %s in %s", key, ns->label);
}

/*
 * The value at idx as the text written: strings as they are (not empty, no
 * NUL), integers in decimal, true as "1" and false as "0". NULL and *why
 * when it cannot be one (an integer's text is pushed on the stack).
 */
static const char *value_text(lua_State *L, int idx, size_t *len, const char **why)
{
	const char *s;
	lua_Integer i;
	int isint;

	switch (lua_type(L, idx)) {
	case LUA_TBOOLEAN:
		*len = 1;
		return lua_toboolean(L, idx) ? "1" : "0";
	case LUA_TNUMBER:
		i = lua_tointegerx(L, idx, &isint);
		if (!isint) {
			*why = "number has no integer representation";
			return NULL;
		}
		s = lua_pushfstring(L, "%I", (LUAI_UACINT)i);
		*len = strlen(s);
		return s;
	case LUA_TSTRING:
		s = lua_tolstring(L, idx, len);
		*why = *len == 0 ? "empty value" : memchr(s, '\0', *len) ? "value contains a NUL byte" : NULL;
		return *why ? NULL : s;
	default:
		*why = lua_pushfstring(L, "string, integer or boolean expected, got %s", luaL_typename(L, idx));
		return NULL;
	}
}

/* ns:sysctl_set{[key] = value, ...}: every key and value checked, then all
 * written in one visit of the namespace, in the order of the keys. */
static int set_many(lua_State *L, struct nsl_ns *ns)
{
	struct nsl_sysctl_kv *v;
	int n = 0, failed, err, keys;

	lua_newtable(L);	/* the keys, sorted */
	keys = lua_gettop(L);
	lua_pushnil(L);
	while (lua_next(L, 2)) {
		lua_pop(L, 1);
		if (lua_type(L, -1) != LUA_TSTRING)
			luaL_argerror(L, 2, lua_pushfstring(L, "sysctl key: string expected, got %s",
							    luaL_typename(L, -1)));
		lua_pushvalue(L, -1);
		lua_rawseti(L, keys, ++n);
	}
	lnsl_sort_strings(L, keys);
	v = (struct nsl_sysctl_kv *)lua_newuserdatauv(L, (size_t)(n > 0 ? n : 1) * sizeof *v, 0);
	for (int i = 0; i < n; i++) {
		const char *why;
		size_t klen;

		lua_rawgeti(L, keys, i + 1);
		v[i].key = lua_tolstring(L, -1, &klen);
		if (nsl_check_sysctl_key(v[i].key, klen, &why) < 0)
			luaL_argerror(L, 2, lua_pushfstring(L, "sysctl key '%s' %s", v[i].key, why));
		lua_gettable(L, 2);
		if (!(v[i].value = value_text(L, -1, &v[i].len, &why)))
			luaL_argerror(L, 2, lua_pushfstring(L, "sysctl '%s': %s", v[i].key, why));
		/* The texts stay referenced: keys by the sorted list, values by the
		 * argument table or, for integers, by the stack below. */
	}
	if ((err = nsl_sysctl_set_many(ns, v, n, &failed)) < 0) {
		if (failed < 0)
			return lnsl_fail(L, err, "sysctls in %s", ns->label);
		return lnsl_fail(L, err, "sysctl %s=%s in %s", v[failed].key, v[failed].value, ns->label);
	}
	return 0;
}

/** ns:sysctl_set(key, value): value a string, an integer or a boolean (true is "1"); as `sysctl -w`.
 * ns:sysctl_set{[key] = value, ...}: several at once, in key order, in one visit of the namespace. */
static int m_sysctl_set(lua_State *L)
{
	struct nsl_ns *ns = lnsl_checkns(L, 1);
	const char *key, *value, *why;
	size_t len;
	int err;

	if (lua_type(L, 2) == LUA_TTABLE && lua_isnone(L, 3))
		return set_many(L, ns);
	key = checkkey(L, 2);
	if (!(value = value_text(L, 3, &len, &why)))
		luaL_argerror(L, 3, why);
	if ((err = nsl_sysctl_set(ns, key, value, len)) < 0)
		return lnsl_fail(L, err, "sysctl %s=%s in %s", key, value, ns->label);
	return 0;
}

static const luaL_Reg methods[] = {
	{ "sysctl_get", m_sysctl_get },
	{ "sysctl_set", m_sysctl_set },
	{ NULL, NULL }
};

/* The sentinel's __gc: runs when the state that loaded the module closes. */
static int forget(lua_State *L)
{
	(void)L;
	nsl_sysctl_forget();
	return 0;
}

void lnsl_open_sysctl(lua_State *L, int module, int methodtab)
{
	(void)module;
	lnsl_setfuncs(L, methodtab, methods);
	/* The engine keeps an fd for its sysctl lookups: a registry value whose
	 * finalizer closes it, so a closed Lua state leaves no fd open. */
	lnsl_on_close(L, "netns.sysctl.forget", forget);
}
