/*
 * src:throughput(dst, addr [, opts]): a TCP bulk transfer from one namespace
 * to another over throughput.h. Not getting through (refused, unreachable,
 * broken off) is data (ok = false, error, code); a listener that cannot be
 * made in dst (the port in use, an address dst does not have) raises a
 * netns.Error, as does an interruption.
 */
#include <string.h>
#include <arpa/inet.h>

#include "errors.h"
#include "lua_util.h"
#include "throughput.h"

static const char *const keys[] = { "duration", "bytes", "port", "block", "timeout", "source", NULL };

/**
 * src:throughput(dst, addr [, {duration=, bytes=, port=, block=, timeout=, source=}])
 *   -> {ok, bytes, seconds, bits_per_second, retransmits, rtt, mss, cwnd, port,
 *       source, message, error, code}
 * As `iperf3 -c ADDR -t DURATION` (or `-n BYTES`) from src to a server in dst.
 */
static int m_throughput(lua_State *L)
{
	struct nsl_ns *src = lnsl_checkns(L, 1), *dst = lnsl_checkns(L, 2);
	struct nsl_tput_opts o;
	struct nsl_tput_result r;
	struct nsl_ip addr;
	lua_Integer port = 0, block, bytes = 0;
	char what[96], buf[INET6_ADDRSTRLEN];
	int err;

	lnsl_checkip(L, 3, 0, &addr);
	nsl_tput_opts_init(&o);
	if (!lua_isnoneornil(L, 4)) {
		lnsl_checkopts(L, 4, keys);
		lnsl_optnumber(L, 4, "duration", 0.01, NSL_TPUT_MAX_SECONDS, &o.duration);
		if (lnsl_optinteger(L, 4, "bytes", 1, (lua_Integer)1 << 50, &bytes)) {
			if (!lua_isnil(L, (lua_getfield(L, 4, "duration"), -1)))
				lnsl_fielderror(L, 4, "bytes", "give duration or bytes, not both");
			lua_pop(L, 1);
			o.bytes = (unsigned long long)bytes;
			o.duration = 0;
		}
		lnsl_optinteger(L, 4, "port", 0, 65535, &port);
		o.port = (int)port;
		block = (lua_Integer)o.block;
		lnsl_optinteger(L, 4, "block", 1, NSL_TPUT_MAX_BLOCK, &block);
		o.block = (size_t)block;
		lnsl_optnumber(L, 4, "timeout", 0.01, 3600, &o.timeout);
		if (lnsl_optip(L, 4, "source", 0, &o.source) && o.source.family != addr.family)
			lnsl_fielderror(L, 4, "source", "not the family of the address");
	}
	if ((err = nsl_throughput_run(src, dst, &addr, &o, &r, what, sizeof what)) < 0)
		return lnsl_fail(L, err, "throughput %s -> %s: %s", src->label, dst->label, what);
	lua_createtable(L, 0, 14);
	lnsl_setboolean(L, "ok", r.ok);
	lnsl_setinteger(L, "bytes", (lua_Integer)r.bytes);
	lnsl_setnumber(L, "seconds", r.seconds);
	lnsl_setnumber(L, "bits_per_second", r.bits_per_second);
	lnsl_setinteger(L, "retransmits", r.retransmits);
	lnsl_setnumber(L, "rtt", r.rtt_ms);
	lnsl_setinteger(L, "mss", r.mss);
	lnsl_setinteger(L, "cwnd", r.cwnd);
	lnsl_setinteger(L, "port", r.port);
	lnsl_setstring(L, "dst", nsl_ip_ntop(&addr, buf, sizeof buf));
	if (r.local.family)
		lnsl_setstring(L, "source", nsl_ip_ntop(&r.local, buf, sizeof buf));
	lnsl_setstring(L, "message", r.message);
	if (!r.ok) {
		lnsl_setstring(L, "error", r.message);
		lnsl_setstring(L, "code", nsl_errname(r.err));
	}
	return 1;
}

void lnsl_open_throughput(lua_State *L, int module, int methods)
{
	(void)module;
	lua_pushcfunction(L, m_throughput);
	lua_setfield(L, methods, "throughput");
}
