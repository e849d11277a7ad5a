/*
 * The port probe engine (see probe.h): one non-blocking socket per probe,
 * made inside its namespace, every connect() and send issued at once, then
 * one epoll loop until every probe has its outcome or its timeout.
 */
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>
#include <linux/errqueue.h>

#include "clock.h"
#include "fdlimit.h"
#include "icmp.h"
#include "interrupt.h"
#include "probe.h"
#include "sock.h"

static const char default_payload[] = "nslab probe\n";

static const char *const outcome_names[] = {
	[NSL_PROBE_CONNECTED] = "connected",
	[NSL_PROBE_ANSWERED] = "answered",
	[NSL_PROBE_REFUSED] = "refused",
	[NSL_PROBE_TIMEOUT] = "timeout",
	[NSL_PROBE_ICMP] = "icmp",
	[NSL_PROBE_LOCAL] = "local",
};

const char *nsl_probe_outcome_name(int outcome)
{
	if (outcome < 0 || (size_t)outcome >= sizeof outcome_names / sizeof outcome_names[0])
		return "unknown";
	return outcome_names[outcome];
}

void nsl_probe_opts_init(struct nsl_probe_opts *o)
{
	memset(o, 0, sizeof *o);
	o->timeout = 1.0;
}

struct probe {
	const struct nsl_probe_req *req;
	const struct nsl_probe_opts *o;
	struct nsl_probe_result *res;
	int fd;
	int done;
	double t0, t_end;
};

struct prun {
	struct probe *p;
	struct probe **order;
	size_t n, active;
	int epfd;
};

static void finish(struct prun *r, struct probe *p, int outcome, double now)
{
	if (p->done)
		return;
	p->done = 1;
	r->active--;
	p->res->outcome = outcome;
	p->res->time = (now - p->t0) * 1000.0;
	if (p->fd >= 0)
		close(p->fd);
	p->fd = -1;
}

static void set_local(struct nsl_probe_result *res, int err, const char *what)
{
	res->err = err;
	if (what && what[0])
		snprintf(res->message, sizeof res->message, "%s: %s", what, strerror(err));
	else
		snprintf(res->message, sizeof res->message, "%s", strerror(err));
}

/* An ICMP error from the error queue: a UDP port unreachable is "refused"
 * (the port is closed); everything else is the error itself. */
static int from_icmp(struct probe *p, const struct nsl_sock_err *e)
{
	struct nsl_probe_result *res = p->res;
	int family = p->req->dst.family;

	res->err = e->err;
	res->icmp_type = e->type;
	res->icmp_code = e->code;
	res->from = e->offender;
	res->kind = nsl_icmp_describe(family, e->type, e->code, e->info, res->message,
				      sizeof res->message);
	if (res->kind == NSL_PING_PACKET_TOO_BIG)
		res->mtu = e->info;
	if (p->req->proto == NSL_PROBE_UDP && res->kind == NSL_PING_PORT_UNREACHABLE)
		return NSL_PROBE_REFUSED;
	return NSL_PROBE_ICMP;
}

/* The socket reported an error (EPOLLERR): what the error queue says, else
 * the socket's errno (a RST: ECONNREFUSED). */
static int on_error(struct probe *p)
{
	struct nsl_probe_result *res = p->res;
	struct nsl_sock_err e;
	socklen_t len = sizeof res->err;
	int soerr = 0;

	if (nsl_sock_read_err(p->fd, &e) && e.origin != SO_EE_ORIGIN_LOCAL &&
	    e.origin != SO_EE_ORIGIN_NONE) {
		getsockopt(p->fd, SOL_SOCKET, SO_ERROR, &soerr, &len);	/* clears it */
		return from_icmp(p, &e);
	}
	if (getsockopt(p->fd, SOL_SOCKET, SO_ERROR, &soerr, &len) < 0)
		soerr = errno;
	if (!soerr)
		soerr = e.origin == SO_EE_ORIGIN_LOCAL ? e.err : EIO;
	set_local(res, soerr, NULL);
	if (soerr == ECONNREFUSED) {
		res->from = p->req->dst;
		return NSL_PROBE_REFUSED;
	}
	return NSL_PROBE_LOCAL;
}

static void note_local_addr(struct probe *p)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof ss;

	memset(&ss, 0, sizeof ss);
	if (getsockname(p->fd, (struct sockaddr *)&ss, &len) == 0)
		nsl_ip_from_sockaddr(&p->res->local, &p->res->local_port, &ss);
}

static void on_event(struct prun *r, struct probe *p, uint32_t events, double now)
{
	struct nsl_probe_result *res = p->res;

	if (p->done)
		return;
	if (events & EPOLLERR) {
		finish(r, p, on_error(p), now);
		return;
	}
	if (p->req->proto == NSL_PROBE_TCP) {
		if (events & (EPOLLOUT | EPOLLHUP)) {
			int soerr = 0;
			socklen_t len = sizeof soerr;
			getsockopt(p->fd, SOL_SOCKET, SO_ERROR, &soerr, &len);
			if (soerr) {
				finish(r, p, on_error(p), now);
				return;
			}
			note_local_addr(p);
			snprintf(res->message, sizeof res->message, "Connected");
			finish(r, p, NSL_PROBE_CONNECTED, now);
		}
		return;
	}
	if (events & EPOLLIN) {
		struct sockaddr_storage ss;
		socklen_t sslen = sizeof ss;
		ssize_t got = recvfrom(p->fd, res->reply, sizeof res->reply, MSG_TRUNC | MSG_DONTWAIT,
				       (struct sockaddr *)&ss, &sslen);
		if (got < 0) {
			if (errno == EAGAIN || errno == EINTR)
				return;
			finish(r, p, on_error(p), now);
			return;
		}
		res->reply_len = (size_t)got;
		nsl_ip_from_sockaddr(&res->from, NULL, &ss);
		snprintf(res->message, sizeof res->message, "Answered (%zu bytes)", res->reply_len);
		finish(r, p, NSL_PROBE_ANSWERED, now);
	}
}

/* Creates p's socket inside its namespace, binds and connects it (and
 * sends the UDP datagram). A failure of the source's own (no route, no such
 * address or device) is p's outcome; -errno is a failure of the run. */
static int start(struct prun *r, struct probe *p, double now)
{
	const struct nsl_probe_req *q = p->req;
	const struct nsl_probe_opts *o = p->o;
	int udp = q->proto == NSL_PROBE_UDP;
	struct epoll_event ev = { .events = udp ? EPOLLIN : EPOLLOUT, .data.ptr = p };
	struct sockaddr_storage ss;
	socklen_t len;
	char what[64] = "";
	int ifindex = 0, err, fd;

	p->t0 = now;
	p->t_end = now + o->timeout;
	r->active++;
	fd = nsl_sock_open(q->ns, q->dst.family, (udp ? SOCK_DGRAM : SOCK_STREAM) | SOCK_NONBLOCK,
			   udp ? IPPROTO_UDP : IPPROTO_TCP);
	if (fd < 0)
		return fd;
	p->fd = fd;
	if ((err = nsl_sock_recverr(fd, q->dst.family)) < 0)
		return err;
	if ((err = nsl_sock_bind(fd, o->dev, &o->source, 0, &ifindex, what, sizeof what)) < 0) {
		set_local(p->res, -err, what);
		finish(r, p, NSL_PROBE_LOCAL, now);
		return 0;
	}
	len = nsl_sockaddr(&ss, &q->dst, q->port, ifindex);
	if (connect(fd, (struct sockaddr *)&ss, len) < 0 && errno != EINPROGRESS) {
		set_local(p->res, errno, "connect");
		finish(r, p, NSL_PROBE_LOCAL, now);
		return 0;
	}
	if (udp) {
		const void *data = o->payload ? (const void *)o->payload : default_payload;
		size_t dlen = o->payload ? o->payload_len : sizeof default_payload - 1;
		note_local_addr(p);
		if (send(fd, data, dlen, 0) < 0) {
			set_local(p->res, errno, "send");
			finish(r, p, NSL_PROBE_LOCAL, now);
			return 0;
		}
	}
	if (epoll_ctl(r->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
		return -errno;
	return 0;
}

static int run_wave(struct prun *r, struct probe **wave, size_t n)
{
	struct epoll_event ev[256];
	double now = nsl_now();
	int err = 0, got;

	r->active = 0;
	for (size_t i = 0; i < n && err == 0; i++)
		err = start(r, wave[i], now);
	while (err == 0 && r->active > 0) {
		double wake = HUGE_VAL;
		now = nsl_now();
		for (size_t i = 0; i < n; i++) {
			struct probe *p = wave[i];
			if (p->done)
				continue;
			if (now >= p->t_end) {
				snprintf(p->res->message, sizeof p->res->message, "No answer");
				finish(r, p, NSL_PROBE_TIMEOUT, p->t_end);
			} else if (p->t_end < wake) {
				wake = p->t_end;
			}
		}
		if (r->active == 0)
			break;
		if ((got = nsl_epoll_wait(r->epfd, ev, (int)(sizeof ev / sizeof ev[0]), wake - nsl_now())) < 0) {
			err = got;
			break;
		}
		for (int i = 0; i < got; i++)
			on_event(r, ev[i].data.ptr, ev[i].events, nsl_now());
	}
	for (size_t i = 0; i < n; i++)
		if (wave[i]->fd >= 0) {
			close(wave[i]->fd);
			wave[i]->fd = -1;
		}
	return err;
}

static int check_req(const struct nsl_probe_req *q, const struct nsl_probe_opts *o)
{
	if (!q->ns || q->ns->fd < 0)
		return -EBADF;
	if ((q->proto != NSL_PROBE_TCP && q->proto != NSL_PROBE_UDP) ||
	    (q->dst.family != AF_INET && q->dst.family != AF_INET6) ||
	    q->port < 1 || q->port > 65535 || !(o->timeout > 0) ||
	    (o->source.family && o->source.family != q->dst.family) ||
	    (o->payload && o->payload_len > NSL_PROBE_MAX_PAYLOAD))
		return -EINVAL;
	return 0;
}

int nsl_probe_run(const struct nsl_probe_req *reqs, size_t n,
		  const struct nsl_probe_opts *opts, struct nsl_probe_result *out)
{
	struct nsl_probe_opts defaults;
	struct prun r;
	size_t budget;
	int err = 0;

	memset(&r, 0, sizeof r);
	r.epfd = -1;
	if (n == 0)
		return 0;
	if (!opts) {
		nsl_probe_opts_init(&defaults);
		opts = &defaults;
	}
	r.p = calloc(n, sizeof *r.p);
	r.order = malloc(n * sizeof *r.order);
	if (!r.p || !r.order) {
		err = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		struct probe *p = &r.p[i];
		p->req = &reqs[i];
		p->o = reqs[i].opts ? reqs[i].opts : opts;
		p->res = &out[i];
		p->fd = -1;
		memset(p->res, 0, sizeof *p->res);
		p->res->outcome = NSL_PROBE_TIMEOUT;
		p->res->icmp_type = p->res->icmp_code = -1;
		p->res->kind = -1;
		r.order[i] = p;
		if ((err = check_req(p->req, p->o)) < 0)
			goto out;
	}
	if ((r.epfd = epoll_create1(EPOLL_CLOEXEC)) < 0) {
		err = -errno;
		goto out;
	}
	budget = nsl_fd_budget();
	for (size_t i = 0; i < n && err == 0; i += budget)
		err = run_wave(&r, &r.order[i], n - i < budget ? n - i : budget);
out:
	if (r.epfd >= 0)
		close(r.epfd);
	free(r.p);
	free(r.order);
	return err;
}
