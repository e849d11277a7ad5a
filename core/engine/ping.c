/*
 * The ICMP echo engine (see ping.h): requests grouped onto sockets, the
 * schedule of sends, the epoll loop, the waves that keep fds bounded, and
 * the results. The sockets and what arrives on them are in ping_sock.c.
 */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "fdlimit.h"
#include "icmp.h"
#include "interrupt.h"
#include "ping_int.h"

void nsl_ping_opts_init(struct nsl_ping_opts *o)
{
	memset(o, 0, sizeof *o);
	o->count = 1;
	o->interval = 1.0;
	o->timeout = 1.0;
	o->size = 56;
}

int64_t nsl_ping_now_real(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Newton's square root for mdev, as iputils has its own llsqrt: keeps the
 * engine free of libm for C programs that link it. */
static double root(double x)
{
	double r = x > 1 ? x : 1;

	if (!(x > 0))
		return 0;
	for (int i = 0; i < 100; i++) {
		double next = (r + x / r) / 2;
		if (next >= r)
			break;
		r = next;
	}
	return r;
}

/* ---- results ---- */

int nsl_ping_add_reply(struct preq *q, unsigned seq, int ttl, double rtt, const struct nsl_ip *from)
{
	struct nsl_ping_result *res = q->res;

	if (res->nreplies == q->cap_replies) {
		size_t cap = q->cap_replies ? q->cap_replies * 2 : 4;
		void *p = realloc(res->replies, cap * sizeof *res->replies);
		if (!p)
			return -ENOMEM;
		res->replies = p;
		q->cap_replies = cap;
	}
	res->replies[res->nreplies++] = (struct nsl_ping_reply){ seq, ttl, rtt, *from };
	res->received++;
	q->sum += rtt;
	q->sum2 += rtt * rtt;
	if (res->received == 1 || rtt < res->rtt_min)
		res->rtt_min = rtt;
	if (rtt > res->rtt_max)
		res->rtt_max = rtt;
	return 0;
}

int nsl_ping_add_error(struct preq *q, unsigned seq, int kind, int err, int type, int code,
		       unsigned mtu, const struct nsl_ip *from, const char *msg)
{
	struct nsl_ping_result *res = q->res;
	struct nsl_ping_error *e;

	if (res->nerrors == q->cap_errors) {
		size_t cap = q->cap_errors ? q->cap_errors * 2 : 2;
		void *p = realloc(res->errors, cap * sizeof *res->errors);
		if (!p)
			return -ENOMEM;
		res->errors = p;
		q->cap_errors = cap;
	}
	e = &res->errors[res->nerrors++];
	memset(e, 0, sizeof *e);
	e->seq = seq;
	e->kind = kind;
	e->err = err;
	e->icmp_type = type;
	e->icmp_code = code;
	e->mtu = mtu;
	e->rtt = kind != NSL_PING_LOCAL && seq && q->sent
		 ? (double)(nsl_ping_now_real() - q->sent[seq - 1]) / 1e6 : -1;
	if (from)
		e->from = *from;
	snprintf(e->message, sizeof e->message, "%s", msg);
	return 0;
}

void nsl_ping_finish(struct run *r, struct preq *q)
{
	struct nsl_ping_result *res = q->res;

	if (q->done)
		return;
	q->done = 1;
	r->active--;
	if (res->received) {
		double n = res->received;
		res->rtt_avg = q->sum / n;
		res->rtt_mdev = root(q->sum2 / n - res->rtt_avg * res->rtt_avg);
	}
	free(q->sent);
	q->sent = NULL;
	q->state = NULL;
}


void nsl_ping_results_free(struct nsl_ping_result *out, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(out[i].replies);
		free(out[i].errors);
		out[i].replies = NULL;
		out[i].errors = NULL;
		out[i].nreplies = out[i].nerrors = 0;
	}
}

/* ---- grouping requests onto sockets ---- */

/* Requests share a socket when they share everything set on the socket
 * (ttl, df, dev, source). */
static int key_cmp(const void *pa, const void *pb)
{
	const struct preq *a = *(struct preq *const *)pa, *b = *(struct preq *const *)pb;
	const struct nsl_ping_opts *oa = a->o, *ob = b->o;
	int c;

	if (a->ino != b->ino)
		return a->ino < b->ino ? -1 : 1;
	if (a->req->dst.family != b->req->dst.family)
		return a->req->dst.family < b->req->dst.family ? -1 : 1;
	if (oa == ob)
		return a < b ? -1 : a > b;	/* stable: keeps the caller's order */
	if (oa->ttl != ob->ttl)
		return oa->ttl < ob->ttl ? -1 : 1;
	if (!oa->df != !ob->df)
		return !oa->df ? -1 : 1;
	if ((c = strcmp(oa->dev, ob->dev)) != 0)
		return c;
	if (oa->source.family != ob->source.family)
		return oa->source.family < ob->source.family ? -1 : 1;
	if ((c = memcmp(oa->source.addr, ob->source.addr, sizeof oa->source.addr)) != 0)
		return c;
	return a < b ? -1 : a > b;
}

static int same_sock(const struct preq *a, const struct preq *b)
{
	const struct nsl_ping_opts *oa = a->o, *ob = b->o;

	return a->ino == b->ino && a->req->dst.family == b->req->dst.family &&
	       (oa == ob || (oa->ttl == ob->ttl && !oa->df == !ob->df && strcmp(oa->dev, ob->dev) == 0 &&
			     oa->source.family == ob->source.family &&
			     memcmp(oa->source.addr, ob->source.addr, sizeof oa->source.addr) == 0));
}

static uint16_t random16(void)
{
	uint16_t v = 0;

	if (getrandom(&v, sizeof v, GRND_NONBLOCK) != sizeof v)
		v = (uint16_t)(nsl_ping_now_real() ^ (uint64_t)getpid());
	return v;
}

/*
 * Every raw socket of a namespace and family sees every echo reply there,
 * so identifiers are unique across all of them in a run: consecutive from
 * one random base per (namespace, family). Returns the socket count or
 * -E2BIG when one namespace has more requests than identifiers.
 */
static long make_socks(struct run *r)
{
	size_t nsock = 0, in_ns = 0;
	uint16_t next_id = 0;

	qsort(r->order, r->n, sizeof *r->order, key_cmp);
	for (size_t i = 0; i < r->n; i++) {
		struct preq *q = r->order[i], *prev = i ? r->order[i - 1] : NULL;
		struct psock *s;
		if (!prev || !same_sock(prev, q)) {
			if (!prev || prev->ino != q->ino || prev->req->dst.family != q->req->dst.family) {
				next_id = random16();
				in_ns = 0;
			}
			s = &r->socks[nsock++];
			s->fd = -1;
			s->family = q->req->dst.family;
			s->ns = q->req->ns;
			s->o = q->o;
			s->first = i;
			s->id_base = next_id;
		}
		if (++in_ns > NSL_PING_MAX_PER_NS)
			return -E2BIG;
		s = &r->socks[nsock - 1];
		s->n++;
		q->sock = s;
		q->id = next_id++;
	}
	return (long)nsock;
}

/* ---- sending and the loop ---- */

/* An IPv6 destination that means something only on one link: link-local
 * unicast (fe80::/10) and link- or interface-local multicast. */
static int needs_scope(const struct nsl_ip *dst)
{
	const unsigned char *a = dst->addr;

	if (dst->family != AF_INET6)
		return 0;
	if (a[0] == 0xfe && (a[1] & 0xc0) == 0x80)
		return 1;
	return a[0] == 0xff && ((a[1] & 0x0f) == 1 || (a[1] & 0x0f) == 2);
}

/* Sends q's next echo. A local failure (no route: ENETUNREACH) is recorded
 * against its seq; -EAGAIN means the socket's send buffer is full.
 *
 * Without a scope, the kernel sends a raw socket's echo to a link-local
 * address out of whichever interface's fe80::/64 route it finds first, so
 * with two links the ping silently goes nowhere. It is refused instead
 * with EINVAL, as the kernel refuses connect() to such an address on a
 * datagram socket bound to no device (ip6_datagram_connect) and as
 * iputils' ping says: give dev. */
static int send_echo(struct run *r, struct preq *q)
{
	struct psock *s = q->sock;
	unsigned seq = q->next_seq;
	struct sockaddr_storage ss;
	socklen_t sslen = nsl_ping_sockaddr(&ss, &q->req->dst, s->ifindex);
	size_t len = nsl_icmp_build_echo(r->buf, s->family, q->id, (uint16_t)seq, r->cookie,
					 (size_t)q->o->size);
	ssize_t sent = -1;
	int err = 0;

	q->sent[seq - 1] = nsl_ping_now_real();
	if (!s->ifindex && needs_scope(&q->req->dst)) {
		err = EINVAL;
	} else {
		do
			sent = sendto(s->fd, r->buf, len, 0, (struct sockaddr *)&ss, sslen);
		while (sent < 0 && errno == EINTR);
		if (sent < 0)
			err = errno;
	}
	if (err == EAGAIN || err == EWOULDBLOCK)
		return -EAGAIN;
	q->next_seq++;
	if (err) {
		q->state[seq - 1] = NSL_SEQ_FAILED;
		q->answered++;
		int e2 = nsl_ping_add_error(q, seq, NSL_PING_LOCAL, err, -1, -1, 0, NULL, strerror(err));
		/* df: the error queue has the MTU the kernel knows; read it now,
		 * before a finished request stops listening. */
		return e2 < 0 || err != EMSGSIZE ? e2 : nsl_ping_drain(r, s);
	}
	q->state[seq - 1] = NSL_SEQ_SENT;
	q->res->transmitted++;
	return 0;
}

static int block_sock(struct run *r, struct psock *s, int blocked)
{
	struct epoll_event ev = { .events = EPOLLIN | (blocked ? EPOLLOUT : 0), .data.ptr = s };

	s->blocked = blocked;
	return epoll_ctl(r->epfd, EPOLL_CTL_MOD, s->fd, &ev) < 0 ? -errno : 0;
}

/* Sends what is due, finishes q when every echo is answered or its time is
 * up, and lowers *wake to when q next needs attention. */
static int step(struct run *r, struct preq *q, double now, double *wake)
{
	unsigned count = (unsigned)q->o->count;
	double w;
	int err;

	if (now >= q->t_end) {
		nsl_ping_finish(r, q);
		return 0;
	}
	while (q->next_seq <= count && q->t_next <= now && !q->sock->blocked) {
		if ((err = send_echo(r, q)) == -EAGAIN)
			return block_sock(r, q->sock, 1);
		if (err < 0)
			return err;
		q->t_last = now;
		q->t_next = now + q->o->interval;
	}
	if (q->next_seq > count) {
		if (q->answered == count || now >= q->t_last + q->o->timeout) {
			nsl_ping_finish(r, q);
			return 0;
		}
		w = q->t_last + q->o->timeout;
	} else {
		/* Blocked: EPOLLOUT wakes us; look again soon in any case. */
		w = q->sock->blocked ? now + 0.01 : q->t_next;
	}
	if (w > q->t_end)
		w = q->t_end;
	if (w < *wake)
		*wake = w;
	return 0;
}

static int start_wave(struct run *r, struct psock *socks, size_t nsock, double now)
{
	int err;

	for (size_t i = 0; i < nsock; i++) {
		struct psock *s = &socks[i];
		for (size_t k = 0; k < s->n; k++) {
			struct preq *q = r->order[s->first + k];
			size_t count = (size_t)q->o->count;
			q->sent = malloc(count * (sizeof *q->sent + 1));
			if (!q->sent)
				return -ENOMEM;
			q->state = (unsigned char *)(q->sent + count);
			memset(q->state, NSL_SEQ_UNSENT, count);
			q->next_seq = 1;
			q->t_next = now;
			q->t_end = q->o->deadline > 0 ? now + q->o->deadline : HUGE_VAL;
			r->active++;
		}
		if ((err = nsl_ping_open_sock(r, s)) < 0)
			return err;
	}
	return 0;
}

static int run_wave(struct run *r, struct psock *socks, size_t nsock)
{
	struct epoll_event ev[256];
	int err = 0, n;

	r->active = 0;
	if ((err = start_wave(r, socks, nsock, nsl_now())) < 0)
		goto out;
	while (r->active > 0) {
		double now = nsl_now(), wake = HUGE_VAL;
		for (size_t i = 0; i < nsock && err == 0; i++)
			for (size_t k = 0; k < socks[i].n && err == 0; k++) {
				struct preq *q = r->order[socks[i].first + k];
				if (!q->done)
					err = step(r, q, now, &wake);
			}
		if (err < 0 || r->active == 0)
			break;
		if ((n = nsl_epoll_wait(r->epfd, ev, (int)(sizeof ev / sizeof ev[0]), wake - nsl_now())) < 0) {
			err = n;
			break;
		}
		for (int i = 0; i < n && err == 0; i++) {
			struct psock *s = ev[i].data.ptr;
			if ((ev[i].events & EPOLLOUT) && (err = block_sock(r, s, 0)) < 0)
				break;
			err = nsl_ping_drain(r, s);
		}
		if (err < 0)
			break;
	}
out:
	for (size_t i = 0; i < nsock; i++) {
		for (size_t k = 0; k < socks[i].n; k++) {
			struct preq *q = r->order[socks[i].first + k];
			nsl_ping_finish(r, q);
			free(q->sent);	/* after a failure: not done yet */
			q->sent = NULL;
		}
		if (socks[i].fd >= 0)
			close(socks[i].fd);
		socks[i].fd = -1;
	}
	return err;
}

/* Checks what the bindings check, for C callers; the namespace's inode is
 * the socket key (two handles on one namespace share a socket), looked up
 * once per run of requests from the same handle. */
static int check_req(struct preq *q, const struct preq *prev)
{
	const struct nsl_ping_opts *o = q->o;
	const struct nsl_ip *dst = &q->req->dst;

	if (!q->req->ns || q->req->ns->fd < 0)
		return -EBADF;
	if ((dst->family != AF_INET && dst->family != AF_INET6) ||
	    o->count < 1 || o->count > NSL_PING_MAX_COUNT ||
	    o->size < 0 || o->size > NSL_PING_MAX_SIZE || o->ttl < 0 || o->ttl > 255 ||
	    !(o->interval >= 0) || !(o->timeout >= 0) || !(o->deadline >= 0) ||
	    (o->source.family && o->source.family != dst->family))
		return -EINVAL;
	if (prev && prev->req->ns == q->req->ns) {
		q->ino = prev->ino;
		return 0;
	}
	return nsl_ns_inode(q->req->ns, &q->ino);
}

int nsl_ping_run(const struct nsl_ping_req *reqs, size_t n,
		 const struct nsl_ping_opts *opts, struct nsl_ping_result *out)
{
	struct run r;
	struct nsl_ping_opts defaults;
	size_t budget;
	long nsock;
	int err = 0;

	memset(out, 0, n * sizeof *out);
	memset(&r, 0, sizeof r);
	r.epfd = -1;
	if (n == 0)
		return 0;
	if (!opts) {
		nsl_ping_opts_init(&defaults);
		opts = &defaults;
	}
	r.n = n;
	r.q = calloc(n, sizeof *r.q);
	r.order = malloc(n * sizeof *r.order);
	r.socks = calloc(n, sizeof *r.socks);
	r.buf = malloc(NSL_PING_BUFLEN);
	if (!r.q || !r.order || !r.socks || !r.buf) {
		err = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		struct preq *q = &r.q[i];
		q->req = &reqs[i];
		q->o = reqs[i].opts ? reqs[i].opts : opts;
		q->res = &out[i];
		r.order[i] = q;
		if ((err = check_req(q, i ? &r.q[i - 1] : NULL)) < 0)
			goto out;
	}
	if ((nsock = make_socks(&r)) < 0) {
		err = (int)nsock;
		goto out;
	}
	r.nsock = (size_t)nsock;
	if (getrandom(&r.cookie, sizeof r.cookie, GRND_NONBLOCK) != sizeof r.cookie)
		r.cookie = (uint64_t)nsl_ping_now_real() ^ ((uint64_t)getpid() << 32);
	r.epfd = epoll_create1(EPOLL_CLOEXEC);
	if (r.epfd < 0) {
		err = -errno;
		goto out;
	}
	budget = nsl_fd_budget();
	for (size_t i = 0; i < r.nsock && err == 0; i += budget)
		err = run_wave(&r, &r.socks[i], r.nsock - i < budget ? r.nsock - i : budget);
out:
	if (r.epfd >= 0)
		close(r.epfd);
	free(r.q);
	free(r.order);
	free(r.socks);
	free(r.buf);
	return err;
}
