/*
 * Listeners and their service thread (see listen.h).
 *
 * Object lifetime with one thread answering and another closing: only the
 * service thread closes sockets and frees connections, and it frees a
 * listener's connections only after it has handled the whole batch of
 * events epoll returned, so no event it is about to handle points at freed
 * memory. The caller of nsl_listen_close queues the listener, wakes the
 * thread (an eventfd) and waits on a condition variable until it is done;
 * with no thread running it closes the listener itself.
 */
#include <errno.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "listen.h"
#include "sock.h"

enum { ITEM_WAKE, ITEM_LISTENER, ITEM_CONN };

struct item {
	int kind;
	int fd;
};

struct conn {
	struct item it;			/* first: epoll's data.ptr */
	struct nsl_listener *l;
	struct conn *prev, *next;
	unsigned char *pend;		/* echo: what the peer has not taken yet */
	size_t plen, poff;
	const unsigned char *out;	/* reply: l->reply from offset outoff */
	size_t outoff;
};

struct nsl_listener {
	struct item it;
	int proto, mode, port;
	unsigned char *reply;
	size_t reply_len;
	struct nsl_listen_stats st;
	struct conn *conns;
	int closed;
	struct nsl_listener *next_close;
};

static struct {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	pthread_t th;
	int running;
	int epfd;
	struct item wake;
	int count;			/* listeners open */
	struct nsl_listener *close_q;
	unsigned char buf[65536];	/* the thread's receive buffer */
} svc = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0, -1, { ITEM_WAKE, -1 }, 0, NULL, { 0 } };

int nsl_listen_count(void)
{
	int n;

	pthread_mutex_lock(&svc.mu);
	n = svc.count;
	pthread_mutex_unlock(&svc.mu);
	return n;
}

/* ---- connections (service thread, lock held) ---- */

static void conn_free(struct conn *c)
{
	struct nsl_listener *l = c->l;

	epoll_ctl(svc.epfd, EPOLL_CTL_DEL, c->it.fd, NULL);
	close(c->it.fd);
	if (c->prev)
		c->prev->next = c->next;
	else
		l->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	l->st.open--;
	free(c->pend);
	free(c);
}

static int conn_want(struct conn *c, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.ptr = c };

	return epoll_ctl(svc.epfd, EPOLL_CTL_MOD, c->it.fd, &ev);
}

/* Writes what is pending; returns 1 when everything went, 0 when the peer
 * must take more first, -1 when the connection is gone. */
static int conn_flush(struct conn *c)
{
	for (;;) {
		const unsigned char *p;
		size_t len;
		ssize_t n;
		if (c->pend) {
			p = c->pend + c->poff;
			len = c->plen - c->poff;
		} else if (c->out) {
			p = c->out + c->outoff;
			len = c->l->reply_len - c->outoff;
		} else {
			return 1;
		}
		if (len == 0) {
			if (c->pend) {
				free(c->pend);
				c->pend = NULL;
			} else {
				c->out = NULL;
				shutdown(c->it.fd, SHUT_WR);	/* the reply is all we say */
			}
			continue;
		}
		n = send(c->it.fd, p, len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0)
			return errno == EAGAIN || errno == EINTR ? 0 : -1;
		c->l->st.bytes_out += (unsigned long long)n;
		if (c->pend)
			c->poff += (size_t)n;
		else
			c->outoff += (size_t)n;
	}
}

static void conn_event(struct conn *c, uint32_t events)
{
	struct nsl_listener *l = c->l;
	int r;

	if (events & EPOLLOUT) {
		if ((r = conn_flush(c)) < 0) {
			conn_free(c);
			return;
		}
		if (r == 1)
			conn_want(c, EPOLLIN);
	}
	if (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
		if (c->pend) {	/* echo: read on once the peer took the last part */
			if (events & (EPOLLHUP | EPOLLERR))
				conn_free(c);
			return;
		}
		ssize_t n = recv(c->it.fd, svc.buf, sizeof svc.buf, MSG_DONTWAIT);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n <= 0) {
			conn_free(c);
			return;
		}
		l->st.bytes_in += (unsigned long long)n;
		if (l->mode != NSL_LISTEN_ECHO)
			return;
		if (!(c->pend = malloc((size_t)n))) {
			conn_free(c);
			return;
		}
		memcpy(c->pend, svc.buf, (size_t)n);
		c->plen = (size_t)n;
		c->poff = 0;
		if ((r = conn_flush(c)) < 0)
			conn_free(c);
		else if (r == 0)
			conn_want(c, EPOLLOUT);
	}
}

static void note_peer(struct nsl_listener *l, const struct sockaddr_storage *ss)
{
	nsl_ip_from_sockaddr(&l->st.last_peer, &l->st.last_peer_port, ss);
	/* ::ffff:192.0.2.1 on a dual-stack socket is an IPv4 peer. */
	if (l->st.last_peer.family == AF_INET6 && IN6_IS_ADDR_V4MAPPED(l->st.last_peer.addr)) {
		l->st.last_peer.family = AF_INET;
		memmove(l->st.last_peer.addr, l->st.last_peer.addr + 12, 4);
	}
}

static void accept_all(struct nsl_listener *l)
{
	for (;;) {
		struct sockaddr_storage ss;
		socklen_t len = sizeof ss;
		int fd = accept4(l->it.fd, (struct sockaddr *)&ss, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct conn *c;
		struct epoll_event ev;
		if (fd < 0)
			return;	/* EAGAIN, or out of fds: the backlog waits */
		if (!(c = calloc(1, sizeof *c))) {
			close(fd);
			return;
		}
		c->it.kind = ITEM_CONN;
		c->it.fd = fd;
		c->l = l;
		c->next = l->conns;
		if (l->conns)
			l->conns->prev = c;
		l->conns = c;
		l->st.connections++;
		l->st.open++;
		note_peer(l, &ss);
		ev.events = EPOLLIN;
		ev.data.ptr = c;
		if (epoll_ctl(svc.epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
			conn_free(c);
			continue;
		}
		if (l->mode == NSL_LISTEN_REPLY) {
			c->out = l->reply;
			int r = conn_flush(c);
			if (r < 0)
				conn_free(c);
			else if (r == 0)
				conn_want(c, EPOLLOUT);
		}
	}
}

/* UDP: answers from the address the datagram was sent to (IP_PKTINFO), so a
 * host with several addresses answers as the one the client asked. */
static void udp_event(struct nsl_listener *l)
{
	union { char buf[256]; struct cmsghdr align; } cbuf, obuf;

	for (int i = 0; i < 256; i++) {
		struct sockaddr_storage ss;
		struct iovec iov = { svc.buf, sizeof svc.buf };
		struct msghdr msg = { .msg_name = &ss, .msg_namelen = sizeof ss, .msg_iov = &iov,
				      .msg_iovlen = 1, .msg_control = cbuf.buf,
				      .msg_controllen = sizeof cbuf.buf };
		ssize_t n = recvmsg(l->it.fd, &msg, MSG_DONTWAIT);
		if (n < 0)
			return;
		l->st.datagrams++;
		l->st.bytes_in += (unsigned long long)n;
		note_peer(l, &ss);
		if (l->mode == NSL_LISTEN_DISCARD)
			continue;
		struct msghdr out = { .msg_name = &ss, .msg_namelen = msg.msg_namelen,
				      .msg_iov = &iov, .msg_iovlen = 1, .msg_control = obuf.buf };
		memset(&obuf, 0, sizeof obuf);	/* the cmsg's padding goes to the kernel too */
		iov.iov_len = (size_t)n;
		if (l->mode == NSL_LISTEN_REPLY) {
			iov.iov_base = l->reply;
			iov.iov_len = l->reply_len;
		}
		for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
			struct cmsghdr *o;
			if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
				struct in_pktinfo pi;
				memcpy(&pi, CMSG_DATA(c), sizeof pi);
				pi.ipi_spec_dst = pi.ipi_addr;
				pi.ipi_ifindex = 0;
				out.msg_controllen = CMSG_SPACE(sizeof pi);
				o = CMSG_FIRSTHDR(&out);
				o->cmsg_level = IPPROTO_IP;
				o->cmsg_type = IP_PKTINFO;
				o->cmsg_len = CMSG_LEN(sizeof pi);
				memcpy(CMSG_DATA(o), &pi, sizeof pi);
			} else if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO) {
				out.msg_controllen = CMSG_SPACE(sizeof(struct in6_pktinfo));
				o = CMSG_FIRSTHDR(&out);
				o->cmsg_level = IPPROTO_IPV6;
				o->cmsg_type = IPV6_PKTINFO;
				o->cmsg_len = CMSG_LEN(sizeof(struct in6_pktinfo));
				memcpy(CMSG_DATA(o), CMSG_DATA(c), sizeof(struct in6_pktinfo));
			}
		}
		if (!out.msg_controllen)
			out.msg_control = NULL;
		n = sendmsg(l->it.fd, &out, MSG_DONTWAIT);
		if (n > 0)
			l->st.bytes_out += (unsigned long long)n;
	}
}

/* ---- the thread ---- */

static void close_now(struct nsl_listener *l)
{
	while (l->conns)
		conn_free(l->conns);
	if (svc.epfd >= 0)
		epoll_ctl(svc.epfd, EPOLL_CTL_DEL, l->it.fd, NULL);
	close(l->it.fd);
	l->it.fd = -1;
	l->closed = 1;
	svc.count--;
}

static void *service(void *arg)
{
	struct epoll_event ev[64];
	int stop = 0;

	(void)arg;
	while (!stop) {
		int n = epoll_wait(svc.epfd, ev, 64, -1);
		pthread_mutex_lock(&svc.mu);
		for (int i = 0; i < n; i++) {
			struct item *it = ev[i].data.ptr;
			if (it->kind == ITEM_WAKE) {
				uint64_t v;
				if (read(it->fd, &v, sizeof v) < 0) {
					/* EAGAIN: already drained */
				}
			} else if (it->kind == ITEM_LISTENER) {
				struct nsl_listener *l = (struct nsl_listener *)it;
				if (l->proto == NSL_PROBE_TCP)
					accept_all(l);
				else
					udp_event(l);
			} else {
				conn_event((struct conn *)it, ev[i].events);
			}
		}
		/* After the batch: nothing in it can point at what is freed now. */
		while (svc.close_q) {
			struct nsl_listener *l = svc.close_q;
			svc.close_q = l->next_close;
			close_now(l);
		}
		if (svc.count == 0) {
			svc.running = 0;
			stop = 1;
		}
		pthread_cond_broadcast(&svc.cv);
		pthread_mutex_unlock(&svc.mu);
	}
	return NULL;
}

static void svc_cleanup(void)
{
	if (svc.wake.fd >= 0)
		close(svc.wake.fd);
	if (svc.epfd >= 0)
		close(svc.epfd);
	svc.wake.fd = svc.epfd = -1;
}

/* Lock held. The thread inherits a mask that blocks every signal. */
static int svc_start(void)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &svc.wake };
	sigset_t all, old;
	int err;

	if (svc.running)
		return 0;
	svc.epfd = epoll_create1(EPOLL_CLOEXEC);
	svc.wake.fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (svc.epfd < 0 || svc.wake.fd < 0 ||
	    epoll_ctl(svc.epfd, EPOLL_CTL_ADD, svc.wake.fd, &ev) < 0) {
		err = -errno;
		svc_cleanup();
		return err;
	}
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	err = -pthread_create(&svc.th, NULL, service, NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (err < 0) {
		svc_cleanup();
		return err;
	}
	svc.running = 1;
	return 0;
}

/* ---- the API ---- */

static int setopt(int fd, int level, int name, int val)
{
	return setsockopt(fd, level, name, &val, sizeof val) < 0 ? -errno : 0;
}

/* The socket, bound and listening, inside ns: the given address, or every
 * address of both families (a dual-stack "::"). */
static int make_socket(const struct nsl_ns *ns, const struct nsl_listen_opts *o, int *port,
		       char *what, size_t wlen)
{
	int udp = o->proto == NSL_PROBE_UDP;
	int family = o->addr.family ? o->addr.family : AF_INET6;
	struct nsl_ip any;
	struct sockaddr_storage ss;
	socklen_t len;
	char addr[INET6_ADDRSTRLEN];
	int fd, err, ifindex;

	snprintf(what, wlen, "socket");
	fd = nsl_sock_open(ns, family, (udp ? SOCK_DGRAM : SOCK_STREAM) | SOCK_NONBLOCK,
			   udp ? IPPROTO_UDP : IPPROTO_TCP);
	if (fd < 0)
		return fd;
	memset(&any, 0, sizeof any);
	any.family = family;
	if ((err = setopt(fd, SOL_SOCKET, SO_REUSEADDR, 1)) < 0 ||
	    (!o->addr.family && (err = setopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, 0)) < 0) ||
	    (udp && family == AF_INET && (err = setopt(fd, IPPROTO_IP, IP_PKTINFO, 1)) < 0) ||
	    (udp && family == AF_INET6 && (err = setopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, 1)) < 0))
		goto fail;
	if ((err = nsl_sock_bind(fd, o->dev, &(struct nsl_ip){ 0 }, 0, &ifindex, what, wlen)) < 0)
		goto fail;
	snprintf(what, wlen, "bind to %s port %d",
		 nsl_ip_ntop(o->addr.family ? &o->addr : &any, addr, sizeof addr), o->port);
	len = nsl_sockaddr(&ss, o->addr.family ? &o->addr : &any, o->port, ifindex);
	if (bind(fd, (struct sockaddr *)&ss, len) < 0) {
		err = -errno;
		goto fail;
	}
	snprintf(what, wlen, "listen");
	if (!udp && listen(fd, 1024) < 0) {
		err = -errno;
		goto fail;
	}
	len = sizeof ss;
	if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0) {
		err = -errno;
		goto fail;
	}
	nsl_ip_from_sockaddr(&any, port, &ss);
	return fd;
fail:
	close(fd);
	return err;
}

int nsl_listen_open(const struct nsl_ns *ns, const struct nsl_listen_opts *o,
		    struct nsl_listener **out, char *what, size_t wlen)
{
	struct nsl_listener *l;
	struct epoll_event ev = { .events = EPOLLIN };
	int err;

	*out = NULL;
	if (!ns || ns->fd < 0)
		return -EBADF;
	if ((o->proto != NSL_PROBE_TCP && o->proto != NSL_PROBE_UDP) || o->port < 0 ||
	    o->port > 65535 || o->mode < NSL_LISTEN_ECHO || o->mode > NSL_LISTEN_DISCARD ||
	    (o->mode == NSL_LISTEN_REPLY && o->reply_len > NSL_LISTEN_MAX_REPLY))
		return -EINVAL;
	if (!(l = calloc(1, sizeof *l)))
		return -ENOMEM;
	l->it.kind = ITEM_LISTENER;
	l->proto = o->proto;
	l->mode = o->mode;
	if (o->mode == NSL_LISTEN_REPLY) {
		if (!(l->reply = malloc(o->reply_len + 1))) {
			free(l);
			return -ENOMEM;
		}
		memcpy(l->reply, o->reply, o->reply_len);
		l->reply_len = o->reply_len;
	}
	if ((l->it.fd = make_socket(ns, o, &l->port, what, wlen)) < 0) {
		err = l->it.fd;
		free(l->reply);
		free(l);
		return err;
	}
	pthread_mutex_lock(&svc.mu);
	snprintf(what, wlen, "start the listeners' thread");
	ev.data.ptr = l;
	if ((err = svc_start()) == 0 && epoll_ctl(svc.epfd, EPOLL_CTL_ADD, l->it.fd, &ev) < 0)
		err = -errno;
	/* Counted either way: on failure, closing it counts it out again (and
	 * stops a thread started for it alone). */
	svc.count++;
	pthread_mutex_unlock(&svc.mu);
	if (err < 0) {
		nsl_listen_close(l);
		return err;
	}
	*out = l;
	return 0;
}

int nsl_listen_port(const struct nsl_listener *l)
{
	return l->port;
}

void nsl_listen_stats(struct nsl_listener *l, struct nsl_listen_stats *st)
{
	pthread_mutex_lock(&svc.mu);
	*st = l->st;
	pthread_mutex_unlock(&svc.mu);
}

void nsl_listen_close(struct nsl_listener *l)
{
	int joined = 0;

	if (!l)
		return;
	pthread_mutex_lock(&svc.mu);
	if (svc.running) {
		uint64_t one = 1;
		l->next_close = svc.close_q;
		svc.close_q = l;
		if (write(svc.wake.fd, &one, sizeof one) < 0) {
			/* EAGAIN: a wakeup is pending already */
		}
		while (!l->closed)
			pthread_cond_wait(&svc.cv, &svc.mu);
		joined = !svc.running;
	} else {
		close_now(l);
	}
	pthread_mutex_unlock(&svc.mu);
	if (joined) {
		pthread_join(svc.th, NULL);
		pthread_mutex_lock(&svc.mu);
		if (!svc.running)
			svc_cleanup();
		pthread_mutex_unlock(&svc.mu);
	}
	free(l->reply);
	free(l);
}
