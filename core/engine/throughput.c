/* The bulk transfer (see throughput.h). */
#include <errno.h>
#include <fcntl.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "clock.h"
#include "interrupt.h"
#include "sock.h"
#include "throughput.h"

void nsl_tput_opts_init(struct nsl_tput_opts *o)
{
	memset(o, 0, sizeof *o);
	o->duration = 10;
	o->block = 128 * 1024;
	o->timeout = 3;
}

struct sender {
	int fd;
	const struct nsl_tput_opts *o;
	unsigned char *buf;
	volatile int stop;		/* the receiver gave up */
	unsigned long long sent;
	int err;
	double t0;
};

/* Blocking sends with a 100 ms send timeout, so the sender notices the
 * stop flag and its deadline even when a slow link keeps its buffer full. */
static void *send_loop(void *arg)
{
	struct sender *s = arg;
	const struct nsl_tput_opts *o = s->o;
	double end = o->duration > 0 ? s->t0 + o->duration : 0;

	while (!s->stop) {
		size_t len = o->block;
		ssize_t n;
		if (end ? nsl_now() >= end : s->sent >= o->bytes)
			break;
		if (!end && o->bytes - s->sent < len)
			len = (size_t)(o->bytes - s->sent);
		n = send(s->fd, s->buf, len, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
				continue;
			s->err = errno;
			break;
		}
		s->sent += (unsigned long long)n;
	}
	shutdown(s->fd, SHUT_WR);
	return NULL;
}

static int wait_fd(int fd, short events, double deadline)
{
	struct pollfd p = { fd, events, 0 };

	for (;;) {
		int n = poll(&p, 1, nsl_ms_until(deadline));
		if (n > 0)
			return 0;
		if (n == 0)
			return -ETIMEDOUT;
		if (errno == EINTR && nsl_interrupted())
			return -EINTR;
		if (errno != EINTR)
			return -errno;
	}
}

static void fail(struct nsl_tput_result *r, int err, const char *fmt, const struct nsl_ip *addr, int port)
{
	char buf[INET6_ADDRSTRLEN];
	char head[64];

	r->ok = 0;
	r->err = err;
	snprintf(head, sizeof head, fmt, nsl_ip_ntop(addr, buf, sizeof buf), port);
	snprintf(r->message, sizeof r->message, "%s: %s", head, strerror(err));
}

/* The listening socket in dst: -errno, with *what set. */
static int make_listener(const struct nsl_ns *dst, const struct nsl_ip *addr, int port, int *got,
			 char *what, size_t wlen)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd, on = 1;
	char buf[INET6_ADDRSTRLEN];

	snprintf(what, wlen, "listen on %s port %d", nsl_ip_ntop(addr, buf, sizeof buf), port);
	if ((fd = nsl_sock_open(dst, addr->family, SOCK_STREAM, IPPROTO_TCP)) < 0)
		return fd;
	len = nsl_sockaddr(&ss, addr, port, 0);
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on) < 0 ||
	    bind(fd, (struct sockaddr *)&ss, len) < 0 || listen(fd, 1) < 0) {
		int err = -errno;
		close(fd);
		return err;
	}
	len = sizeof ss;
	getsockname(fd, (struct sockaddr *)&ss, &len);
	nsl_ip_from_sockaddr(&(struct nsl_ip){ 0 }, got, &ss);
	return fd;
}

/* The client socket in src, connected (non-blocking connect, then blocking
 * again): the fd, or -errno (the network's answer: refused, unreachable, a
 * timeout) with r filled in. */
static int connect_client(const struct nsl_ns *src, const struct nsl_ip *addr, int port,
			  const struct nsl_tput_opts *o, struct nsl_tput_result *r)
{
	struct sockaddr_storage ss;
	socklen_t len;
	char what[64];
	int fd, err, ifindex, soerr = 0;

	if ((fd = nsl_sock_open(src, addr->family, SOCK_STREAM | SOCK_NONBLOCK, IPPROTO_TCP)) < 0)
		return fd;
	if ((err = nsl_sock_bind(fd, "", &o->source, 0, &ifindex, what, sizeof what)) < 0) {
		fail(r, -err, "bind to source %s", &o->source, 0);
		goto out;
	}
	len = nsl_sockaddr(&ss, addr, port, 0);
	if (connect(fd, (struct sockaddr *)&ss, len) < 0 && errno != EINPROGRESS) {
		err = -errno;
		fail(r, -err, "connect to %s port %d", addr, port);
		goto out;
	}
	if ((err = wait_fd(fd, POLLOUT, nsl_now() + o->timeout)) == -EINTR)
		goto out;
	len = sizeof soerr;
	if (err == 0 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) == 0 && soerr)
		err = -soerr;
	if (err < 0) {
		fail(r, -err, "connect to %s port %d", addr, port);
		goto out;
	}
	len = sizeof ss;
	getsockname(fd, (struct sockaddr *)&ss, &len);
	nsl_ip_from_sockaddr(&r->local, NULL, &ss);
	return fd;
out:
	close(fd);
	return err;
}

static void read_info(int fd, struct nsl_tput_result *r)
{
	struct tcp_info ti;
	socklen_t len = sizeof ti;

	memset(&ti, 0, sizeof ti);
	if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) < 0)
		return;
	r->retransmits = ti.tcpi_total_retrans;
	r->rtt_ms = ti.tcpi_rtt / 1000.0;
	r->mss = ti.tcpi_snd_mss;
	r->cwnd = ti.tcpi_snd_cwnd;
}

/* Reads until the end of the stream; -EINTR if nslab was interrupted,
 * -ETIMEDOUT after o->timeout of silence. */
static int receive(int fd, unsigned char *buf, size_t len, const struct nsl_tput_opts *o,
		   unsigned long long *bytes)
{
	for (;;) {
		ssize_t n = recv(fd, buf, len, MSG_DONTWAIT);
		int err;
		if (n > 0) {
			*bytes += (unsigned long long)n;
			continue;
		}
		if (n == 0)
			return 0;
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			return -errno;
		if ((err = wait_fd(fd, POLLIN, nsl_now() + o->timeout)) < 0)
			return err;
	}
}

static int start_sender(pthread_t *th, struct sender *s)
{
	sigset_t all, old;
	int err;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	err = pthread_create(th, NULL, send_loop, s);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return -err;
}

int nsl_throughput_run(const struct nsl_ns *src, const struct nsl_ns *dst,
		       const struct nsl_ip *addr, const struct nsl_tput_opts *o,
		       struct nsl_tput_result *r, char *what, size_t wlen)
{
	struct timeval tv = { 0, 100000 };
	struct sender s;
	pthread_t th;
	int lfd = -1, cfd = -1, afd = -1, err;
	unsigned char *rbuf = NULL;

	memset(r, 0, sizeof *r);
	memset(&s, 0, sizeof s);
	snprintf(what, wlen, "throughput");
	if (!src || src->fd < 0 || !dst || dst->fd < 0)
		return -EBADF;
	if ((addr->family != AF_INET && addr->family != AF_INET6) || o->port < 0 ||
	    o->port > 65535 || o->block < 1 || o->block > NSL_TPUT_MAX_BLOCK ||
	    !(o->duration >= 0 && o->duration <= NSL_TPUT_MAX_SECONDS) ||
	    (o->duration == 0 && o->bytes == 0) || !(o->timeout > 0) ||
	    (o->source.family && o->source.family != addr->family))
		return -EINVAL;
	s.buf = calloc(1, o->block);
	rbuf = malloc(o->block);
	if (!s.buf || !rbuf) {
		err = -ENOMEM;
		goto out;
	}
	if ((lfd = make_listener(dst, addr, o->port, &r->port, what, wlen)) < 0) {
		err = lfd;
		goto out;
	}
	if ((cfd = connect_client(src, addr, r->port, o, r)) < 0) {
		err = cfd == -EINTR ? cfd : 0;	/* not connecting is a result */
		goto out;
	}
	if ((err = wait_fd(lfd, POLLIN, nsl_now() + o->timeout)) < 0 ||
	    (afd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC)) < 0) {
		err = err < 0 ? err : -errno;
		snprintf(what, wlen, "accept on port %d", r->port);
		goto out;
	}
	/* The sender blocks, with a timeout (see send_loop). */
	if (fcntl(cfd, F_SETFL, fcntl(cfd, F_GETFL) & ~O_NONBLOCK) < 0 ||
	    setsockopt(cfd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) < 0) {
		err = -errno;
		snprintf(what, wlen, "set up the sender");
		goto out;
	}
	s.fd = cfd;
	s.o = o;
	s.t0 = nsl_now();
	if ((err = start_sender(&th, &s)) < 0) {
		snprintf(what, wlen, "start the sender thread");
		goto out;
	}
	err = receive(afd, rbuf, o->block, o, &r->bytes);
	r->seconds = nsl_now() - s.t0;
	if (err < 0) {
		s.stop = 1;
		shutdown(cfd, SHUT_RDWR);
	}
	pthread_join(th, NULL);
	read_info(cfd, r);
	if (err == -EINTR)
		goto out;
	if (err < 0 || s.err) {
		fail(r, err < 0 ? -err : s.err, "transfer to %s port %d", addr, r->port);
		err = 0;
		goto out;
	}
	r->ok = 1;
	r->bits_per_second = r->seconds > 0 ? (double)r->bytes * 8 / r->seconds : 0;
	snprintf(r->message, sizeof r->message, "%llu bytes in %.3f s", r->bytes, r->seconds);
out:
	if (afd >= 0)
		close(afd);
	if (cfd >= 0)
		close(cfd);
	if (lfd >= 0)
		close(lfd);
	free(s.buf);
	free(rbuf);
	return err;
}
