/*
 * ICMP and ICMPv6 echo packets: building requests, reading replies and the
 * errors that quote our requests, and naming those errors the way iputils'
 * `ping` prints them. Pure functions over buffers, no sockets (see ping.c).
 *
 * An IPv4 raw socket hands us the IP header before the ICMP message; an IPv6
 * raw socket starts at the ICMPv6 header (the hop limit comes in a cmsg).
 * Error messages quote the offending packet's IP header and at least the
 * first 8 bytes of its ICMP header: our identifier and sequence.
 */
#ifndef NSLAB_ICMP_H
#define NSLAB_ICMP_H

#include <stddef.h>
#include <stdint.h>

#define NSL_ICMP_HDRLEN 8

/* What became of an echo request that got no reply: the ICMP error that
 * came back, or a local error (ping.h reports these per request). */
enum nsl_ping_kind {
	NSL_PING_LOCAL,			/* at send time or setting up: errno */
	NSL_PING_NET_UNREACHABLE,
	NSL_PING_HOST_UNREACHABLE,
	NSL_PING_PROTOCOL_UNREACHABLE,
	NSL_PING_PORT_UNREACHABLE,
	NSL_PING_PACKET_TOO_BIG,
	NSL_PING_PROHIBITED,
	NSL_PING_UNREACHABLE,		/* any other destination unreachable */
	NSL_PING_TTL_EXCEEDED,
	NSL_PING_REASSEMBLY_TIMEOUT,
	NSL_PING_PARAMETER_PROBLEM
};

/* "local", "net_unreachable", ... */
const char *nsl_ping_kind_name(int kind);

/* Writes an echo request (header + size bytes of payload) to buf; the
 * payload starts with the 8-byte cookie when size allows. The IPv4 checksum
 * is filled in; the kernel fills in the ICMPv6 one. Returns the length. */
size_t nsl_icmp_build_echo(unsigned char *buf, int family, uint16_t id, uint16_t seq,
			   uint64_t cookie, size_t size);

/* What a received message is, for the matcher in ping.c. */
struct nsl_icmp_msg {
	enum { NSL_ICMP_OTHER, NSL_ICMP_REPLY, NSL_ICMP_ERROR } what;
	uint16_t id, seq;		/* of the reply, or of our quoted request */
	int ttl;			/* IPv4: from the header; IPv6: -1 (cmsg) */
	const unsigned char *data;	/* reply payload */
	size_t datalen;
	int type, code;			/* error: ICMP type and code */
	uint32_t info;			/* error: MTU for "too big" */
	unsigned char quoted_dst[16];	/* error: destination of our request */
	unsigned char src[16];		/* IPv4: source from the header */
};

/* Parses one packet as the raw socket delivered it. Returns 0, or -1 when
 * it is too short or not an echo reply or an error quoting an echo request. */
int nsl_icmp_parse(int family, const unsigned char *pkt, size_t len, struct nsl_icmp_msg *m);

/* Reads the id and sequence of the echo request at the start of buf (the
 * quoted request an error-queue message carries). Returns 0 or -1. */
int nsl_icmp_parse_quoted(int family, const unsigned char *buf, size_t len,
			  uint16_t *id, uint16_t *seq);

/* Kind (enum nsl_ping_kind) and ping's text for an ICMP error. */
int nsl_icmp_describe(int family, int type, int code, uint32_t info, char *msg, size_t len);

#endif
