/*
 * ns:qdisc_set / qdisc_get / qdisc_del / qdiscs: the Lua face of qdisc.h,
 * impairments and rate limits on a link as `tc qdisc replace dev IF root`.
 *
 * Values are written as tc users write them and come back the same way:
 * times "20ms", "500us", "1s"; rates "10mbit", "512kbit" (bits per second,
 * 1000-based); percentages "1%" or a plain number of percent; counts and
 * bytes as integers. Every field is checked here, and every combination the
 * kernel or libnl would refuse (a correlation without its value, reordering
 * without a delay), before anything is sent; the argument error names the
 * field. A kernel without the qdisc kind raises a netem.Error with code
 * EOPNOTSUPP reading "the kernel has no netem qdisc (sch_netem): ...".
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/pkt_sched.h>

#include "lua_util.h"
#include "qdisc.h"
#include "tc_units.h"

#define LIMIT_MAX 1000000	/* packets: far beyond any useful queue */
#define BYTES_MAX 0x7fffffff

/* The fields scripts may set: every one but limit_bytes, which tbf reports. */
static const char *const set_keys[] = {
	"limit", "delay", "jitter", "delay_correlation", "loss", "loss_correlation",
	"duplicate", "duplicate_correlation", "reorder", "reorder_correlation", "gap",
	"corrupt", "corrupt_correlation", "rate", "burst", NULL
};

/*
 * The checks return NULL, or the reason (a string pushed on the stack) and
 * the field it is about (NULL: the whole table): ns:qdisc_set raises it as an
 * argument error, netns.qdisc_check returns it, so the lab layer reports it
 * at the script's line without editing a message.
 */
static const char *check_time(lua_State *L, const char *s, uint64_t *us)
{
	const char *why;

	if (nsl_parse_time_us(s, us, &why) < 0)
		return lua_pushfstring(L, "'%s': %s", s, why);
	if (*us > NSL_QDISC_TIME_MAX_US)
		return lua_pushfstring(L, "'%s': more than 100s", s);
	return NULL;
}

static const char *check_rate(lua_State *L, const char *s, uint64_t *bits)
{
	const char *why;

	if (nsl_parse_rate_bit(s, bits, &why) < 0)
		return lua_pushfstring(L, "'%s': %s", s, why);
	if (*bits == 0)
		return lua_pushfstring(L, "'%s': must be more than 0 (at least 8kbit)", s);
	if (*bits < NSL_QDISC_RATE_MIN_BIT)
		return lua_pushfstring(L, "'%s': below 8kbit (1000 bytes per second)", s);
	if (*bits > NSL_QDISC_RATE_MAX_BIT)
		return lua_pushfstring(L, "'%s': above 17gbit", s);
	return NULL;
}

/* "1%", "0.5%", or a number of percent (the value on top of the stack). */
static const char *check_percent(lua_State *L, int t, uint64_t *prob)
{
	const char *why;
	double p;

	if (t == LUA_TNUMBER) {
		p = lua_tonumber(L, -1);
		if (!(p >= 0 && p <= 100))
			return lua_pushfstring(L, "%f out of range (0 to 100)", (LUAI_UACNUMBER)p);
	} else if (t != LUA_TSTRING) {
		return lua_pushfstring(L, "a percentage expected (\"1%%\" or a number), got %s",
				       luaL_typename(L, -1));
	} else if (nsl_parse_percent(lua_tostring(L, -1), &p, &why) < 0) {
		return lua_pushfstring(L, "'%s': %s", lua_tostring(L, -1), why);
	}
	*prob = nsl_percent_to_prob(p);
	return NULL;
}

/* An integer from 1 to max (the value on top of the stack). */
static const char *check_count(lua_State *L, int t, lua_Integer max, uint64_t *out)
{
	lua_Integer v;

	if (!lua_isinteger(L, -1))
		return t == LUA_TNUMBER ? "number has no integer representation"
			: lua_pushfstring(L, "integer expected, got %s", luaL_typename(L, -1));
	v = lua_tointeger(L, -1);
	if (v < 1 || v > max)
		return lua_pushfstring(L, "%I out of range (1 to %I)", (LUAI_UACINT)v, (LUAI_UACINT)max);
	*out = (uint64_t)v;
	return NULL;
}

/* One field by its unit, from the table at arg, into q. */
static const char *check_field(lua_State *L, int arg, enum nsl_qf f, struct nsl_qdisc *q)
{
	enum nsl_qunit unit = nsl_qfields[f].unit;
	int t = lua_getfield(L, arg, nsl_qfields[f].name);
	const char *why = NULL;
	uint64_t v = 0;
	int top = lua_gettop(L);

	if (t == LUA_TNIL) {
		lua_pop(L, 1);
		return NULL;
	}
	switch (unit) {
	case NSL_QU_TIME:
	case NSL_QU_RATE:
		if (t != LUA_TSTRING)
			why = lua_pushfstring(L, "%s with its unit expected (as \"%s\"), got %s",
					      unit == NSL_QU_TIME ? "a time" : "a rate",
					      unit == NSL_QU_TIME ? "20ms" : "10mbit", luaL_typename(L, -1));
		else if (unit == NSL_QU_TIME)
			why = check_time(L, lua_tostring(L, -1), &v);
		else
			why = check_rate(L, lua_tostring(L, -1), &v);
		break;
	case NSL_QU_PERCENT:
		why = check_percent(L, t, &v);
		break;
	case NSL_QU_COUNT:
	case NSL_QU_BYTES:
		why = check_count(L, t, f == NSL_QF_LIMIT ? LIMIT_MAX : BYTES_MAX, &v);
		break;
	}
	if (why) {
		lua_replace(L, top);	/* the reason takes the value's place */
		lua_settop(L, top);
		return why;
	}
	lua_pop(L, 1);
	q->mask |= NSL_QF(f);
	q->v[f] = v;
	return NULL;
}

static int given(const struct nsl_qdisc *q, enum nsl_qf f)
{
	return (q->mask & NSL_QF(f)) != 0;
}

static int nonzero(const struct nsl_qdisc *q, enum nsl_qf f)
{
	return given(q, f) && q->v[f] != 0;
}

/* What libnl and the kernel refuse, said with the field's name first. */
static const char *check_combination(lua_State *L, const struct nsl_qdisc *q, const char **field)
{
	static const struct { enum nsl_qf corr, base; } corrs[] = {
		{ NSL_QF_LOSS_CORR, NSL_QF_LOSS },
		{ NSL_QF_DUPLICATE_CORR, NSL_QF_DUPLICATE },
		{ NSL_QF_REORDER_CORR, NSL_QF_REORDER },
		{ NSL_QF_CORRUPT_CORR, NSL_QF_CORRUPT },
	};

	*field = NULL;
	if (!q->mask)
		return "nothing to set (give delay, jitter, loss, duplicate, reorder, corrupt, rate "
		       "or limit; qdisc_del removes)";
	if (given(q, NSL_QF_JITTER) && !given(q, NSL_QF_DELAY))
		return *field = "jitter", "needs a delay (tc: delay TIME JITTER)";
	if (given(q, NSL_QF_DELAY_CORR) && !nonzero(q, NSL_QF_JITTER))
		return *field = "delay_correlation", "needs a jitter above 0 (it correlates the jitter)";
	for (size_t i = 0; i < sizeof corrs / sizeof corrs[0]; i++)
		if (given(q, corrs[i].corr) && !nonzero(q, corrs[i].base))
			return *field = nsl_qfields[corrs[i].corr].name,
			       lua_pushfstring(L, "needs a %s above 0", nsl_qfields[corrs[i].base].name);
	if (given(q, NSL_QF_REORDER) && !nonzero(q, NSL_QF_DELAY))
		return *field = "reorder", "needs a delay above 0 (reordered packets are the ones "
		       "sent without the delay)";
	if (given(q, NSL_QF_GAP) && !nonzero(q, NSL_QF_REORDER))
		return *field = "gap", "needs a reorder above 0";
	if (given(q, NSL_QF_BURST) &&
	    (!given(q, NSL_QF_RATE) || (q->mask & NSL_QF_NETEM_MASK & ~NSL_QF(NSL_QF_LIMIT))))
		return *field = "burst", "only with a rate alone (the bucket of tbf; netem's rate has none)";
	return NULL;
}

/* The whole options table at arg: unknown keys, each field, then how they combine. */
static const char *check_opts(lua_State *L, int arg, struct nsl_qdisc *q, const char **field)
{
	const char *why;

	memset(q, 0, sizeof *q);
	*field = NULL;
	if (!lua_istable(L, arg))
		return lua_pushfstring(L, "table expected, got %s", luaL_typename(L, arg));
	lua_pushnil(L);
	while (lua_next(L, arg)) {
		int known = 0;
		lua_pop(L, 1);
		for (int i = 0; set_keys[i] && lua_type(L, -1) == LUA_TSTRING; i++)
			known |= strcmp(lua_tostring(L, -1), set_keys[i]) == 0;
		if (!known) {
			luaL_Buffer b;
			const char *key = luaL_tolstring(L, -1, NULL);
			luaL_buffinit(L, &b);
			for (int i = 0; set_keys[i]; i++) {
				if (i)
					luaL_addstring(&b, ", ");
				luaL_addstring(&b, set_keys[i]);
			}
			luaL_pushresult(&b);
			return lua_pushfstring(L, "unknown option '%s' (expected one of: %s)", key,
					       lua_tostring(L, -1));
		}
	}
	for (int f = 0; f < NSL_QF_N; f++) {
		if (f == NSL_QF_LIMIT_BYTES)
			continue;
		if ((why = check_field(L, arg, (enum nsl_qf)f, q))) {
			*field = nsl_qfields[f].name;
			return why;
		}
	}
	return check_combination(L, q, field);
}

static void raise_opts(lua_State *L, int arg, struct nsl_qdisc *q)
{
	const char *field, *why = check_opts(L, arg, q, &field);

	if (why && field)
		lnsl_fielderror(L, arg, field, why);
	else if (why)
		luaL_argerror(L, arg, why);
}

static void push_handle(lua_State *L, const char *k, uint32_t h)
{
	char buf[24];

	if (h == TC_H_ROOT)
		snprintf(buf, sizeof buf, "root");
	else if (TC_H_MIN(h))
		snprintf(buf, sizeof buf, "%x:%x", TC_H_MAJ(h) >> 16, TC_H_MIN(h));
	else
		snprintf(buf, sizeof buf, "%x:", TC_H_MAJ(h) >> 16);
	lnsl_setstring(L, k, buf);
}

/* A qdisc as a table with the fields qdisc_set takes, in the same units. */
static void push_qdisc(lua_State *L, const struct nsl_qdisc *q, int where)
{
	char buf[32];

	lua_createtable(L, 0, 8);
	lnsl_setstring(L, "kind", q->kind);
	if (where) {
		if (q->dev[0])
			lnsl_setstring(L, "dev", q->dev);
		push_handle(L, "handle", q->handle);
		push_handle(L, "parent", q->parent);
	}
	for (int f = 0; f < NSL_QF_N; f++) {
		if (!given(q, (enum nsl_qf)f))
			continue;
		switch (nsl_qfields[f].unit) {
		case NSL_QU_TIME:
			nsl_format_time_us(q->v[f], buf, sizeof buf);
			lnsl_setstring(L, nsl_qfields[f].name, buf);
			break;
		case NSL_QU_RATE:
			nsl_format_rate_bit(q->v[f], buf, sizeof buf);
			lnsl_setstring(L, nsl_qfields[f].name, buf);
			break;
		case NSL_QU_PERCENT:
			nsl_format_percent((uint32_t)q->v[f], buf, sizeof buf);
			lnsl_setstring(L, nsl_qfields[f].name, buf);
			break;
		default:
			lnsl_setinteger(L, nsl_qfields[f].name, (lua_Integer)q->v[f]);
		}
	}
}

/** ns:qdisc_set(dev, {delay=, jitter=, delay_correlation=, loss=, loss_correlation=,
 *  duplicate=, duplicate_correlation=, reorder=, reorder_correlation=, gap=, corrupt=,
 *  corrupt_correlation=, rate=, limit=, burst=}) -> table: installs exactly these settings
 *  as dev's root qdisc (netem, or tbf for a rate alone), as `tc qdisc replace dev DEV root`;
 *  returns them as qdisc_get would. */
static int m_qdisc_set(lua_State *L)
{
	struct nsl_ns *ns = lnsl_checkns(L, 1);
	const char *dev = lnsl_checkifname(L, 2);
	struct nsl_qdisc q;
	int err;

	raise_opts(L, 3, &q);
	if ((err = nsl_qdisc_set(ns, dev, &q)) == -EOPNOTSUPP)
		return lnsl_fail(L, err, "the kernel has no %s qdisc (sch_%s): qdisc %s on %s in %s",
				 q.kind, q.kind, q.kind, dev, ns->label);
	if (err == -ERANGE)
		return lnsl_fail(L, err, "replace root qdisc tbf on %s in %s: a bucket of %d bytes "
				 "takes more than 274s to fill at this rate", dev, ns->label,
				 (int)q.v[NSL_QF_BURST]);
	if (err < 0)
		return lnsl_fail(L, err, "replace root qdisc %s on %s in %s", q.kind, dev, ns->label);
	push_qdisc(L, &q, 0);
	return 1;
}

/** ns:qdisc_get(dev) -> table|nil: dev's root qdisc with its settings (as qdisc_set takes
 *  them), nil when dev has only its default qdisc, as `tc qdisc show dev DEV root`. */
static int m_qdisc_get(lua_State *L)
{
	struct nsl_ns *ns = lnsl_checkns(L, 1);
	const char *dev = lnsl_checkifname(L, 2);
	struct nsl_qdisc q;
	int r;

	if ((r = nsl_qdisc_get(ns, dev, &q)) < 0)
		return lnsl_fail(L, r, "get root qdisc of %s in %s", dev, ns->label);
	if (r == 0) {
		lua_pushnil(L);
		return 1;
	}
	push_qdisc(L, &q, 0);
	return 1;
}

/** ns:qdisc_del(dev) -> boolean: removes dev's root qdisc (the default comes back), as
 *  `tc qdisc del dev DEV root`; false when there was none to remove. */
static int m_qdisc_del(lua_State *L)
{
	struct nsl_ns *ns = lnsl_checkns(L, 1);
	const char *dev = lnsl_checkifname(L, 2);
	int r;

	if ((r = nsl_qdisc_del(ns, dev)) < 0)
		return lnsl_fail(L, r, "delete root qdisc of %s in %s", dev, ns->label);
	lua_pushboolean(L, r);
	return 1;
}

/** ns:qdiscs([dev]) -> { table, ... }: every qdisc (of dev, or of every link) with dev,
 *  handle and parent, as `tc qdisc show [dev DEV]`. */
static int m_qdiscs(lua_State *L)
{
	struct nsl_ns *ns = lnsl_checkns(L, 1);
	const char *dev = lua_isnoneornil(L, 2) ? NULL : lnsl_checkifname(L, 2);
	struct nsl_qdisc *v;
	void **box;
	int n;

	box = lnsl_pushbox(L);
	if ((n = nsl_qdisc_list(ns, dev, &v)) < 0) {
		if (dev)
			return lnsl_fail(L, n, "list qdiscs of %s in %s", dev, ns->label);
		return lnsl_fail(L, n, "list qdiscs in %s", ns->label);
	}
	*box = v;
	lua_createtable(L, n, 0);
	for (int i = 0; i < n; i++) {
		push_qdisc(L, &v[i], 1);
		lua_rawseti(L, -2, i + 1);
	}
	lnsl_box_free(box);
	return 1;
}

/** netns.qdisc_check(opts [, mtu]) -> settings | nil, reason, field: checks opts as
 *  ns:qdisc_set would, without a link: the settings it would install (kind and fields;
 *  for a tbf with mtu given, also burst, limit_bytes and limit), or why not. */
static int l_qdisc_check(lua_State *L)
{
	struct nsl_qdisc q;
	lua_Integer mtu = luaL_optinteger(L, 2, 0);
	const char *field, *why;

	luaL_argcheck(L, mtu >= 0 && mtu <= 0xffffff, 2, "mtu out of range (0 to 16777215)");
	if ((why = check_opts(L, 1, &q, &field))) {
		lua_pushnil(L);
		lua_pushstring(L, why);
		if (field)
			lua_pushstring(L, field);
		else
			lua_pushnil(L);
		return 3;
	}
	strcpy(q.kind, nsl_qdisc_kind(&q) ? "netem" : "tbf");
	if (!nsl_qdisc_kind(&q) && mtu && nsl_qdisc_tbf_size(&q, (unsigned int)mtu) < 0) {
		lua_pushnil(L);
		lua_pushstring(L, "the bucket takes more than 274s to fill at this rate");
		lua_pushstring(L, "burst");
		return 3;
	}
	push_qdisc(L, &q, 0);
	return 1;
}

static const luaL_Reg functions[] = {
	{ "qdisc_check", l_qdisc_check },
	{ NULL, NULL }
};

static const luaL_Reg methods[] = {
	{ "qdisc_set", m_qdisc_set },
	{ "qdisc_get", m_qdisc_get },
	{ "qdisc_del", m_qdisc_del },
	{ "qdiscs", m_qdiscs },
	{ NULL, NULL }
};

void lnsl_open_qdisc(lua_State *L, int module, int methodtab)
{
	lnsl_setfuncs(L, module, functions);
	lnsl_setfuncs(L, methodtab, methods);
}
