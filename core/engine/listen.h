/*
 * In-process listeners: a TCP or UDP port open inside a namespace that
 * answers (echo, a fixed reply, or nothing) and counts what it got, so a
 * check needs no nc or python server, and ordinary tools (nc, curl, a
 * spawned client) get answers from it too.
 *
 * The sockets are made inside their namespace by the calling thread; one
 * service thread, started with the first listener and joined when the last
 * one closes, answers on all of them with epoll. It never switches
 * namespace (a socket works in the namespace it was made in wherever it is
 * used), blocks every signal (they stay with the main thread, where nslab
 * turns them into Lua errors), and shares one mutex with the callers.
 *
 * A listener holds its namespace alive (a socket keeps a reference), so
 * whoever deletes the namespace closes its listeners first.
 */
#ifndef NSLAB_LISTEN_H
#define NSLAB_LISTEN_H

#include <stddef.h>
#include <stdint.h>

#include "namespace.h"
#include "parse.h"
#include "probe.h"

#define NSL_LISTEN_MAX_REPLY 65000

enum nsl_listen_mode {
	NSL_LISTEN_ECHO,	/* send back what arrives */
	NSL_LISTEN_REPLY,	/* TCP: send reply on accept, then end our side;
				 * UDP: answer each datagram with reply */
	NSL_LISTEN_DISCARD	/* accept and count, answer nothing */
};

struct nsl_listen_opts {
	int proto;			/* NSL_PROBE_TCP or NSL_PROBE_UDP */
	struct nsl_ip addr;		/* family 0: every address, IPv4 and IPv6 */
	int port;			/* 0: one the kernel picks */
	int mode;			/* enum nsl_listen_mode */
	const void *reply;		/* NSL_LISTEN_REPLY: copied at open */
	size_t reply_len;
	char dev[NSL_IFNAMSIZ];		/* SO_BINDTODEVICE; "": any */
};

struct nsl_listen_stats {
	unsigned long long connections;	/* TCP: accepted */
	unsigned long long open;	/* TCP: connections open now */
	unsigned long long datagrams;	/* UDP: received */
	unsigned long long bytes_in, bytes_out;
	struct nsl_ip last_peer;	/* family 0: nobody yet */
	int last_peer_port;
};

struct nsl_listener;

/* Opens a listener inside ns. Returns 0 or -errno (the port in use:
 * -EADDRINUSE; an address ns does not have: -EADDRNOTAVAIL); *what says
 * which step failed ("bind to 192.0.2.9 port 80"). */
int nsl_listen_open(const struct nsl_ns *ns, const struct nsl_listen_opts *o,
		    struct nsl_listener **out, char *what, size_t wlen);
/* The port it listens on (the kernel's pick when asked for 0). */
int nsl_listen_port(const struct nsl_listener *l);
void nsl_listen_stats(struct nsl_listener *l, struct nsl_listen_stats *st);
/* Closes its socket and every connection and frees it. */
void nsl_listen_close(struct nsl_listener *l);
/* Listeners open in this process (for specs: flat over cycles). */
int nsl_listen_count(void);

#endif
