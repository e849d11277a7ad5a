/*
 * Socket helpers shared by the engine's traffic areas (ping, port probes,
 * listeners, throughput): a socket made inside a namespace, addresses between
 * nsl_ip and sockaddr, binding to a device and a source as ping -I does, and
 * reading the ICMP error a socket's error queue holds (IP_RECVERR).
 */
#ifndef NSLAB_SOCK_H
#define NSLAB_SOCK_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "namespace.h"
#include "parse.h"

/* socket(family, type | SOCK_CLOEXEC, proto) inside ns. Returns the fd or -errno. */
int nsl_sock_open(const struct nsl_ns *ns, int family, int type, int proto);

/* ip:port as a sockaddr (scope ifindex for link-local IPv6); returns its length. */
socklen_t nsl_sockaddr(struct sockaddr_storage *ss, const struct nsl_ip *ip, int port, int ifindex);
/* The address (and port, when port is not NULL) of a sockaddr. */
void nsl_ip_from_sockaddr(struct nsl_ip *ip, int *port, const struct sockaddr_storage *ss);

/* SO_BINDTODEVICE to dev (when not "") and bind() to source:port (when
 * source->family, or port > 0). *ifindex gets dev's index (0 without dev).
 * On failure returns -errno and writes which step failed to what
 * ("bind to device eth9", "bind to source 192.0.2.9"). */
int nsl_sock_bind(int fd, const char *dev, const struct nsl_ip *source, int port,
		  int *ifindex, char *what, size_t wlen);

/* IP_RECVERR / IPV6_RECVERR on, so ICMP errors come with their details. */
int nsl_sock_recverr(int fd, int family);

/* The first error in the socket's error queue. */
struct nsl_sock_err {
	int origin;		/* SO_EE_ORIGIN_ICMP(6), SO_EE_ORIGIN_LOCAL; 0: none */
	int err;		/* the errno the kernel maps it to */
	int type, code;		/* ICMP */
	uint32_t info;		/* MTU for "fragmentation needed" / "packet too big" */
	struct nsl_ip offender;	/* who sent it; family 0: unknown */
};

/* Reads every queued error, keeping the first. Returns 1 if one was found, 0 if none. */
int nsl_sock_read_err(int fd, struct nsl_sock_err *e);

#endif
