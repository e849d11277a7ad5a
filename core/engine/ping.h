/*
 * ICMP echo from inside namespaces, in-process: no /bin/ping, no fork.
 *
 * nsl_ping_run() pings a list of (namespace, destination) requests at once,
 * in one epoll loop. Raw ICMP and ICMPv6 sockets are opened inside each
 * source namespace (a socket belongs to the namespace it was made in), one
 * per (namespace, family, ttl, dev, source) rather than one per request:
 * a raw socket sees every echo reply that reaches its namespace, so each
 * request gets its own identifier (unique per namespace and family within a
 * run) and replies are matched by identifier, sequence and a per-run cookie
 * in the payload. ICMP errors quoting our requests (Destination Net
 * Unreachable, Time to live exceeded, ...) and local errors at send time
 * (Network is unreachable) are results, not failures of the run.
 *
 * Requests are run in waves of at most as many sockets as the fd limit
 * allows, so a matrix over a thousand namespaces does not hit EMFILE.
 *
 * nsl_ping_run() returns 0 or -errno for a failure of the run itself (no
 * memory, socket() refused, a closed namespace handle); per-request problems,
 * including a source address or device that does not exist, are in the
 * results. Free the results with nsl_ping_results_free() in every case.
 */
#ifndef NSLAB_PING_H
#define NSLAB_PING_H

#include <stddef.h>

#include "icmp.h"
#include "namespace.h"
#include "parse.h"

#define NSL_PING_MAX_COUNT 100000
#define NSL_PING_MAX_SIZE 65000
/* Requests from one namespace and family in one run: the identifier space. */
#define NSL_PING_MAX_PER_NS 65535

struct nsl_ping_opts {
	int count;		/* echo requests, 1 .. NSL_PING_MAX_COUNT */
	double interval;	/* seconds between them */
	double timeout;		/* seconds to wait for answers after the last send */
	double deadline;	/* seconds for the whole request; 0: none */
	int size;		/* payload bytes, 0 .. NSL_PING_MAX_SIZE */
	int ttl;		/* TTL / hop limit; 0: the namespace's default */
	int df;			/* don't fragment (IP_PMTUDISC_DO / IPV6_DONTFRAG): a
				 * request larger than the path MTU fails with the MTU */
	struct nsl_ip source;	/* family 0: let the route choose */
	char dev[NSL_IFNAMSIZ];	/* SO_BINDTODEVICE; "": any */
};

/* count 1, interval 1 s, timeout 1 s, no deadline, 56 bytes, defaults. */
void nsl_ping_opts_init(struct nsl_ping_opts *o);

struct nsl_ping_req {
	const struct nsl_ns *ns;		/* source namespace (open) */
	struct nsl_ip dst;
	const struct nsl_ping_opts *opts;	/* NULL: the run's */
};

struct nsl_ping_reply {
	unsigned seq;		/* 1-based, as ping's icmp_seq */
	int ttl;		/* of the reply; -1 if unknown */
	double rtt;		/* milliseconds */
	struct nsl_ip from;
};

struct nsl_ping_error {
	unsigned seq;		/* 0: not tied to one echo (setting up failed) */
	int kind;		/* enum nsl_ping_kind */
	int err;		/* NSL_PING_LOCAL: the errno */
	struct nsl_ip from;	/* who sent the ICMP error; family 0: nobody */
	int icmp_type, icmp_code;	/* of the ICMP error; -1 for local ones */
	double rtt;		/* ms from the echo to the ICMP error; -1 for local ones */
	unsigned mtu;		/* "fragmentation needed", "packet too big", and a
				 * local EMSGSIZE (df): the path MTU; 0: none */
	char message[80];	/* "Destination Net Unreachable", "Network is unreachable" */
};

struct nsl_ping_result {
	unsigned transmitted, received, duplicates;
	double rtt_min, rtt_avg, rtt_max, rtt_mdev;	/* ms; valid if received */
	struct nsl_ping_reply *replies;
	size_t nreplies;
	struct nsl_ping_error *errors;
	size_t nerrors;
};

int nsl_ping_run(const struct nsl_ping_req *reqs, size_t n,
		 const struct nsl_ping_opts *opts, struct nsl_ping_result *out);
void nsl_ping_results_free(struct nsl_ping_result *out, size_t n);

#endif
