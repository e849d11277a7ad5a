/* Building ICMP/ICMPv6 echo requests and reading replies and errors (see icmp.h). */
#include <arpa/inet.h>
#include <netinet/icmp6.h>
#include <netinet/ip.h>
#include <netinet/ip6.h>
#include <netinet/ip_icmp.h>
#include <stdio.h>
#include <string.h>

#include "icmp.h"

static const char *const kind_names[] = {
	[NSL_PING_LOCAL] = "local",
	[NSL_PING_NET_UNREACHABLE] = "net_unreachable",
	[NSL_PING_HOST_UNREACHABLE] = "host_unreachable",
	[NSL_PING_PROTOCOL_UNREACHABLE] = "protocol_unreachable",
	[NSL_PING_PORT_UNREACHABLE] = "port_unreachable",
	[NSL_PING_PACKET_TOO_BIG] = "packet_too_big",
	[NSL_PING_PROHIBITED] = "prohibited",
	[NSL_PING_UNREACHABLE] = "unreachable",
	[NSL_PING_TTL_EXCEEDED] = "ttl_exceeded",
	[NSL_PING_REASSEMBLY_TIMEOUT] = "reassembly_timeout",
	[NSL_PING_PARAMETER_PROBLEM] = "parameter_problem",
};

const char *nsl_ping_kind_name(int kind)
{
	if (kind < 0 || (size_t)kind >= sizeof kind_names / sizeof kind_names[0])
		return "unknown";
	return kind_names[kind];
}

/* RFC 1071 checksum, as ping computes it. */
static uint16_t checksum(const unsigned char *p, size_t len)
{
	uint32_t sum = 0;

	for (; len > 1; p += 2, len -= 2)
		sum += (uint32_t)(p[0] << 8 | p[1]);
	if (len)
		sum += (uint32_t)(p[0] << 8);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

size_t nsl_icmp_build_echo(unsigned char *buf, int family, uint16_t id, uint16_t seq,
			   uint64_t cookie, size_t size)
{
	uint16_t ck;

	buf[0] = family == AF_INET ? ICMP_ECHO : ICMP6_ECHO_REQUEST;
	buf[1] = 0;
	buf[2] = buf[3] = 0;
	buf[4] = (unsigned char)(id >> 8);
	buf[5] = (unsigned char)id;
	buf[6] = (unsigned char)(seq >> 8);
	buf[7] = (unsigned char)seq;
	/* Payload as ping fills it (a running byte), with our cookie first. */
	for (size_t i = 0; i < size; i++)
		buf[NSL_ICMP_HDRLEN + i] = (unsigned char)i;
	if (size >= sizeof cookie)
		memcpy(buf + NSL_ICMP_HDRLEN, &cookie, sizeof cookie);
	if (family == AF_INET) {
		ck = checksum(buf, NSL_ICMP_HDRLEN + size);
		buf[2] = (unsigned char)(ck >> 8);
		buf[3] = (unsigned char)ck;
	}
	return NSL_ICMP_HDRLEN + size;
}

static void read_idseq(const unsigned char *h, uint16_t *id, uint16_t *seq)
{
	*id = (uint16_t)(h[4] << 8 | h[5]);
	*seq = (uint16_t)(h[6] << 8 | h[7]);
}

int nsl_icmp_parse_quoted(int family, const unsigned char *buf, size_t len,
			  uint16_t *id, uint16_t *seq)
{
	int echo = family == AF_INET ? ICMP_ECHO : ICMP6_ECHO_REQUEST;

	if (len < NSL_ICMP_HDRLEN || buf[0] != echo)
		return -1;
	read_idseq(buf, id, seq);
	return 0;
}

/* An IPv4 error quotes the request's IP header (options included), then our
 * ICMP header. */
static int parse4(const unsigned char *pkt, size_t len, struct nsl_icmp_msg *m)
{
	size_t hl, qhl;
	const unsigned char *icmp, *q;

	if (len < 20 || (pkt[0] >> 4) != 4)
		return -1;
	hl = (size_t)(pkt[0] & 0x0f) * 4;
	if (hl < 20 || len < hl + NSL_ICMP_HDRLEN)
		return -1;
	m->ttl = pkt[8];
	memcpy(m->src, pkt + 12, 4);
	icmp = pkt + hl;
	len -= hl;
	m->type = icmp[0];
	m->code = icmp[1];
	if (m->type == ICMP_ECHOREPLY) {
		m->what = NSL_ICMP_REPLY;
		read_idseq(icmp, &m->id, &m->seq);
		m->data = icmp + NSL_ICMP_HDRLEN;
		m->datalen = len - NSL_ICMP_HDRLEN;
		return 0;
	}
	if (m->type != ICMP_DEST_UNREACH && m->type != ICMP_TIME_EXCEEDED &&
	    m->type != ICMP_PARAMETERPROB)
		return -1;
	q = icmp + NSL_ICMP_HDRLEN;
	len -= NSL_ICMP_HDRLEN;
	if (len < 20 || (q[0] >> 4) != 4 || q[9] != IPPROTO_ICMP)
		return -1;
	qhl = (size_t)(q[0] & 0x0f) * 4;
	if (qhl < 20 || len < qhl + NSL_ICMP_HDRLEN)
		return -1;
	memcpy(m->quoted_dst, q + 16, 4);
	m->info = (uint32_t)(icmp[6] << 8 | icmp[7]);	/* next-hop MTU */
	m->what = NSL_ICMP_ERROR;
	return nsl_icmp_parse_quoted(AF_INET, q + qhl, len - qhl, &m->id, &m->seq);
}

/* An ICMPv6 error quotes the request's IPv6 header; we send no extension
 * headers, so our ICMPv6 header follows it directly. */
static int parse6(const unsigned char *pkt, size_t len, struct nsl_icmp_msg *m)
{
	const unsigned char *q;

	if (len < NSL_ICMP_HDRLEN)
		return -1;
	m->ttl = -1;
	m->type = pkt[0];
	m->code = pkt[1];
	if (m->type == ICMP6_ECHO_REPLY) {
		m->what = NSL_ICMP_REPLY;
		read_idseq(pkt, &m->id, &m->seq);
		m->data = pkt + NSL_ICMP_HDRLEN;
		m->datalen = len - NSL_ICMP_HDRLEN;
		return 0;
	}
	if (m->type != ICMP6_DST_UNREACH && m->type != ICMP6_PACKET_TOO_BIG &&
	    m->type != ICMP6_TIME_EXCEEDED && m->type != ICMP6_PARAM_PROB)
		return -1;
	q = pkt + NSL_ICMP_HDRLEN;
	len -= NSL_ICMP_HDRLEN;
	if (len < 40 + NSL_ICMP_HDRLEN || (q[0] >> 4) != 6 || q[6] != IPPROTO_ICMPV6)
		return -1;
	memcpy(m->quoted_dst, q + 24, 16);
	m->info = (uint32_t)pkt[4] << 24 | (uint32_t)pkt[5] << 16 | (uint32_t)pkt[6] << 8 | pkt[7];
	m->what = NSL_ICMP_ERROR;
	return nsl_icmp_parse_quoted(AF_INET6, q + 40, len - 40, &m->id, &m->seq);
}

int nsl_icmp_parse(int family, const unsigned char *pkt, size_t len, struct nsl_icmp_msg *m)
{
	memset(m, 0, sizeof *m);
	m->what = NSL_ICMP_OTHER;
	return family == AF_INET ? parse4(pkt, len, m) : parse6(pkt, len, m);
}

/* The texts of iputils' ping (pr_icmph) for ICMP destination unreachable. */
static int describe_unreach4(int code, uint32_t info, char *msg, size_t len)
{
	static const struct { int kind; const char *text; } u[] = {
		{ NSL_PING_NET_UNREACHABLE, "Destination Net Unreachable" },
		{ NSL_PING_HOST_UNREACHABLE, "Destination Host Unreachable" },
		{ NSL_PING_PROTOCOL_UNREACHABLE, "Destination Protocol Unreachable" },
		{ NSL_PING_PORT_UNREACHABLE, "Destination Port Unreachable" },
		{ NSL_PING_PACKET_TOO_BIG, NULL },
		{ NSL_PING_UNREACHABLE, "Source Route Failed" },
		{ NSL_PING_NET_UNREACHABLE, "Destination Net Unknown" },
		{ NSL_PING_HOST_UNREACHABLE, "Destination Host Unknown" },
		{ NSL_PING_UNREACHABLE, "Source Host Isolated" },
		{ NSL_PING_PROHIBITED, "Destination Net Prohibited" },
		{ NSL_PING_PROHIBITED, "Destination Host Prohibited" },
		{ NSL_PING_NET_UNREACHABLE, "Destination Net Unreachable for Type of Service" },
		{ NSL_PING_HOST_UNREACHABLE, "Destination Host Unreachable for Type of Service" },
		{ NSL_PING_PROHIBITED, "Packet filtered" },
		{ NSL_PING_PROHIBITED, "Precedence Violation" },
		{ NSL_PING_PROHIBITED, "Precedence Cutoff" },
	};

	if (code == ICMP_FRAG_NEEDED) {
		snprintf(msg, len, "Frag needed and DF set (mtu = %u)", (unsigned)info);
		return NSL_PING_PACKET_TOO_BIG;
	}
	if (code < 0 || (size_t)code >= sizeof u / sizeof u[0]) {
		snprintf(msg, len, "Dest Unreachable, Bad Code: %d", code);
		return NSL_PING_UNREACHABLE;
	}
	snprintf(msg, len, "%s", u[code].text);
	return u[code].kind;
}

static int describe4(int type, int code, uint32_t info, char *msg, size_t len)
{
	switch (type) {
	case ICMP_DEST_UNREACH:
		return describe_unreach4(code, info, msg, len);
	case ICMP_TIME_EXCEEDED:
		if (code == ICMP_EXC_FRAGTIME) {
			snprintf(msg, len, "Frag reassembly time exceeded");
			return NSL_PING_REASSEMBLY_TIMEOUT;
		}
		snprintf(msg, len, "Time to live exceeded");
		return NSL_PING_TTL_EXCEEDED;
	default:
		snprintf(msg, len, "Parameter problem");
		return NSL_PING_PARAMETER_PROBLEM;
	}
}

/* The texts of iputils' ping for ICMPv6 (print_icmp in ping6_common.c). */
static int describe6(int type, int code, uint32_t info, char *msg, size_t len)
{
	static const struct { int kind; const char *text; } u[] = {
		{ NSL_PING_NET_UNREACHABLE, "No route" },
		{ NSL_PING_PROHIBITED, "Administratively prohibited" },
		{ NSL_PING_UNREACHABLE, "Beyond scope of source address" },
		{ NSL_PING_HOST_UNREACHABLE, "Address unreachable" },
		{ NSL_PING_PORT_UNREACHABLE, "Port unreachable" },
		{ NSL_PING_PROHIBITED, "Source address failed ingress/egress policy" },
		{ NSL_PING_PROHIBITED, "Reject route to destination" },
	};

	switch (type) {
	case ICMP6_DST_UNREACH:
		if (code < 0 || (size_t)code >= sizeof u / sizeof u[0]) {
			snprintf(msg, len, "Destination unreachable: Unknown code %d", code);
			return NSL_PING_UNREACHABLE;
		}
		snprintf(msg, len, "Destination unreachable: %s", u[code].text);
		return u[code].kind;
	case ICMP6_PACKET_TOO_BIG:
		snprintf(msg, len, "Packet too big: mtu=%u", (unsigned)info);
		return NSL_PING_PACKET_TOO_BIG;
	case ICMP6_TIME_EXCEEDED:
		if (code == ICMP6_TIME_EXCEED_REASSEMBLY) {
			snprintf(msg, len, "Time exceeded: Defragmentation failure");
			return NSL_PING_REASSEMBLY_TIMEOUT;
		}
		snprintf(msg, len, "Time exceeded: Hop limit");
		return NSL_PING_TTL_EXCEEDED;
	default:
		snprintf(msg, len, "Parameter problem");
		return NSL_PING_PARAMETER_PROBLEM;
	}
}

int nsl_icmp_describe(int family, int type, int code, uint32_t info, char *msg, size_t len)
{
	return family == AF_INET ? describe4(type, code, info, msg, len)
				 : describe6(type, code, info, msg, len);
}
