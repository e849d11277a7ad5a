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
		luaL_argerror(L, arg, lua_pushfstring(L, "sysctl key '%s' %s", key, why));
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
 * The value as the text written: strings as they are (not empty, no NUL),
 * integers in decimal, true as "1" and false as "0".
 */
static const char *checkvalue(lua_State *L, int arg, size_t *len)
{
	const char *s;
	lua_Integer i;
	int isint;

	switch (lua_type(L, arg)) {
	case LUA_TBOOLEAN:
		s = lua_toboolean(L, arg) ? "1" : "0";
		*len = 1;
		return s;
	case LUA_TNUMBER:
		i = lua_tointegerx(L, arg, &isint);
		if (!isint)
			luaL_argerror(L, arg, "number has no integer representation");
		s = lua_pushfstring(L, "%I", (LUAI_UACINT)i);
		*len = strlen(s);
		return s;
	case LUA_TSTRING:
		s = lua_tolstring(L, arg, len);
		if (*len == 0)
			luaL_argerror(L, arg, "empty value");
		if (memchr(s, '\0', *len))
			luaL_argerror(L, arg, "value contains a NUL byte");
		return s;
	default:
		luaL_typeerror(L, arg, "string, integer or boolean");
		return NULL;
	}
}

/** ns:sysctl_set(key, value): value a string, an integer or a boolean (true is "1"); as `sysctl -w`. */
static int m_sysctl_set(lua_State *L)
{
	struct nsl_ns *ns = lnsl_checkns(L, 1);
	const char *key = checkkey(L, 2);
	size_t len;
	const char *value = checkvalue(L, 3, &len);
	int err;

	if ((err = nsl_sysctl_set(ns, key, value, len)) < 0)
		return lnsl_fail(L, err, "sysctl %s=%s in %s", key, value, ns->label);
	return 0;
}

static const luaL_Reg methods[] = {
	{ "sysctl_get", m_sysctl_get },
	{ "sysctl_set", m_sysctl_set },
	{ NULL, NULL }
};

void lnsl_open_sysctl(lua_State *L, int module, int methodtab)
{
	(void)module;
	lnsl_setfuncs(L, methodtab, methods);
}
