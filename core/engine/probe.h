/*
 * TCP and UDP port probes from inside namespaces, in-process: no nc, no fork.
 *
 * nsl_probe_run() runs a list of (namespace, protocol, address, port)
 * probes at once in one epoll loop, one non-blocking socket per probe made
 * inside its source namespace, and says for each what came back, as data:
 *
 *   TCP  connected   the handshake completed (time: how long it took)
 *        refused     a RST answered the SYN (a closed port, `reject with tcp reset`)
 *        timeout     nothing came back before the timeout (a filter that drops)
 *        icmp        an ICMP error aborted the connect: its type, code, kind and
 *                    sender (`reject with icmp type admin-prohibited`, a router
 *                    without a route)
 *        local       the source refused at once: its errno (no route, a source
 *                    address it does not have, no such device)
 *   UDP  answered    a datagram came back (its first bytes are in reply)
 *        refused     ICMP port unreachable
 *        timeout     no answer (an open port that stays silent looks the same)
 *        icmp, local as for TCP
 *
 * ICMP errors reach a socket through its error queue (IP_RECVERR /
 * IPV6_RECVERR), which carries the type, code, MTU and the offender's
 * address; a RST leaves the queue empty, which is how "refused" is told from
 * an ICMP port unreachable sent by a TCP `reject`.
 *
 * Probes run in waves of at most as many sockets as the fd limit leaves
 * free. nsl_probe_run() returns 0 or -errno for a failure of the run itself
 * (no memory, epoll, a closed handle, socket() refused); everything about a
 * probe is in its result.
 */
#ifndef NSLAB_PROBE_H
#define NSLAB_PROBE_H

#include <stddef.h>
#include <stdint.h>

#include "namespace.h"
#include "parse.h"

#define NSL_PROBE_MAX_PAYLOAD 65000
#define NSL_PROBE_REPLY_MAX 512

enum nsl_probe_proto { NSL_PROBE_TCP, NSL_PROBE_UDP };

enum nsl_probe_outcome {
	NSL_PROBE_CONNECTED,
	NSL_PROBE_ANSWERED,
	NSL_PROBE_REFUSED,
	NSL_PROBE_TIMEOUT,
	NSL_PROBE_ICMP,
	NSL_PROBE_LOCAL
};

/* "connected", "answered", "refused", "timeout", "icmp", "local" */
const char *nsl_probe_outcome_name(int outcome);

struct nsl_probe_opts {
	double timeout;			/* seconds, > 0 */
	struct nsl_ip source;		/* family 0: let the route choose */
	char dev[NSL_IFNAMSIZ];		/* SO_BINDTODEVICE; "": any */
	const unsigned char *payload;	/* UDP: what to send (NULL: "nslab probe\n") */
	size_t payload_len;
};

/* timeout 1 s, no source, no device, the default payload. */
void nsl_probe_opts_init(struct nsl_probe_opts *o);

struct nsl_probe_req {
	const struct nsl_ns *ns;		/* source namespace (open) */
	int proto;				/* enum nsl_probe_proto */
	struct nsl_ip dst;
	int port;				/* 1 .. 65535 */
	const struct nsl_probe_opts *opts;	/* NULL: the run's */
};

struct nsl_probe_result {
	int outcome;			/* enum nsl_probe_outcome */
	double time;			/* ms from connect()/send() to the outcome */
	int err;			/* the socket's errno (ECONNREFUSED, EHOSTUNREACH, ...) */
	int kind;			/* icmp / UDP refused: enum nsl_ping_kind */
	int icmp_type, icmp_code;	/* -1 when no ICMP error came */
	uint32_t mtu;			/* "fragmentation needed" / "packet too big" */
	struct nsl_ip from;		/* who sent the ICMP error or the answer */
	struct nsl_ip local;		/* the source address the socket used */
	int local_port;
	size_t reply_len;		/* UDP: bytes of the answer (reply holds the first) */
	unsigned char reply[NSL_PROBE_REPLY_MAX];
	char message[96];		/* "Connection refused", "Destination Host Prohibited" */
};

int nsl_probe_run(const struct nsl_probe_req *reqs, size_t n,
		  const struct nsl_probe_opts *opts, struct nsl_probe_result *out);

#endif
