/* See sock.h. */
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <linux/errqueue.h>

#include "nsenter.h"
#include "sock.h"

int nsl_sock_open(const struct nsl_ns *ns, int family, int type, int proto)
{
	int fd, err;

	if ((err = nsl_enter(ns->fd)) < 0)
		return err;
	fd = socket(family, type | SOCK_CLOEXEC, proto);
	err = fd < 0 ? -errno : fd;
	nsl_leave();
	return err;
}

socklen_t nsl_sockaddr(struct sockaddr_storage *ss, const struct nsl_ip *ip, int port, int ifindex)
{
	memset(ss, 0, sizeof *ss);
	if (ip->family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)ss;
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)port);
		memcpy(&sin->sin_addr, ip->addr, 4);
		return sizeof *sin;
	}
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
	sin6->sin6_family = AF_INET6;
	sin6->sin6_port = htons((uint16_t)port);
	memcpy(&sin6->sin6_addr, ip->addr, 16);
	sin6->sin6_scope_id = (uint32_t)ifindex;	/* used for link-local only */
	return sizeof *sin6;
}

void nsl_ip_from_sockaddr(struct nsl_ip *ip, int *port, const struct sockaddr_storage *ss)
{
	memset(ip, 0, sizeof *ip);
	ip->prefixlen = -1;
	if (port)
		*port = 0;
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)ss;
		ip->family = AF_INET;
		memcpy(ip->addr, &sin->sin_addr, 4);
		if (port)
			*port = ntohs(sin->sin_port);
	} else if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)ss;
		ip->family = AF_INET6;
		memcpy(ip->addr, &sin6->sin6_addr, 16);
		if (port)
			*port = ntohs(sin6->sin6_port);
	}
}

int nsl_sock_bind(int fd, const char *dev, const struct nsl_ip *source, int port,
		  int *ifindex, char *what, size_t wlen)
{
	struct sockaddr_storage ss;
	char addr[INET6_ADDRSTRLEN];

	*ifindex = 0;
	if (dev && dev[0]) {
		struct ifreq ifr;
		memset(&ifr, 0, sizeof ifr);
		snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "%s", dev);
		snprintf(what, wlen, "bind to device %s", dev);
		if (ioctl(fd, SIOCGIFINDEX, &ifr) < 0)
			return -errno;
		*ifindex = ifr.ifr_ifindex;
		if (setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, dev, (socklen_t)strlen(dev)) < 0)
			return -errno;
	}
	if (source->family || port > 0) {
		socklen_t len = nsl_sockaddr(&ss, source, port, *ifindex);
		if (source->family)
			snprintf(what, wlen, "bind to source %s", nsl_ip_ntop(source, addr, sizeof addr));
		else
			snprintf(what, wlen, "bind to port %d", port);
		if (bind(fd, (struct sockaddr *)&ss, len) < 0)
			return -errno;
	}
	return 0;
}

int nsl_sock_recverr(int fd, int family)
{
	int on = 1;

	if (family == AF_INET)
		return setsockopt(fd, SOL_IP, IP_RECVERR, &on, sizeof on) < 0 ? -errno : 0;
	return setsockopt(fd, SOL_IPV6, IPV6_RECVERR, &on, sizeof on) < 0 ? -errno : 0;
}

int nsl_sock_read_err(int fd, struct nsl_sock_err *e)
{
	union { char buf[512]; struct cmsghdr align; } cbuf;
	unsigned char data[256];
	struct iovec iov = { data, sizeof data };
	struct msghdr msg;
	int found = 0;

	memset(e, 0, sizeof *e);
	for (;;) {
		struct sock_extended_err *ee = NULL;
		memset(&msg, 0, sizeof msg);
		msg.msg_iov = &iov;
		msg.msg_iovlen = 1;
		msg.msg_control = cbuf.buf;
		msg.msg_controllen = sizeof cbuf.buf;
		if (recvmsg(fd, &msg, MSG_ERRQUEUE | MSG_DONTWAIT) < 0)
			return found;	/* EAGAIN: drained */
		for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c))
			if ((c->cmsg_level == SOL_IP && c->cmsg_type == IP_RECVERR) ||
			    (c->cmsg_level == SOL_IPV6 && c->cmsg_type == IPV6_RECVERR))
				ee = (struct sock_extended_err *)(void *)CMSG_DATA(c);
		if (!ee || found)
			continue;
		found = 1;
		e->origin = ee->ee_origin;
		e->err = (int)ee->ee_errno;
		e->type = ee->ee_type;
		e->code = ee->ee_code;
		e->info = ee->ee_info;
		if (ee->ee_origin == SO_EE_ORIGIN_ICMP || ee->ee_origin == SO_EE_ORIGIN_ICMP6) {
			struct sockaddr_storage off;
			memset(&off, 0, sizeof off);
			memcpy(&off, SO_EE_OFFENDER(ee), sizeof(struct sockaddr_in6));
			nsl_ip_from_sockaddr(&e->offender, NULL, &off);
		}
	}
}
