/*
 * TCP bulk transfer between two namespaces, in-process, as `iperf3 -c`
 * measures it: a listening socket made in the receiving namespace, a client
 * socket made in the sending one, connected over the lab's links; a sender
 * thread writes 128 KiB blocks (as iperf3 does) for a duration or a byte
 * count while the calling thread reads them, on two CPUs as iperf3's client
 * and server processes are. Like the listeners' thread (listen.h), the
 * sender never switches namespace and blocks every signal.
 *
 * The rate is what the receiver got over the time from the first block sent
 * to the end of the stream (so what sat in queues when the sender stopped
 * counts, and the time to deliver it too); retransmissions, RTT, MSS and the
 * congestion window come from the sender's TCP_INFO at the end.
 */
#ifndef NSLAB_THROUGHPUT_H
#define NSLAB_THROUGHPUT_H

#include <stddef.h>

#include "namespace.h"
#include "parse.h"

#define NSL_TPUT_MAX_SECONDS 3600.0
#define NSL_TPUT_MAX_BLOCK (16 * 1024 * 1024)

struct nsl_tput_opts {
	double duration;		/* seconds of sending; 0: send bytes */
	unsigned long long bytes;	/* with duration 0: exactly this many */
	int port;			/* 0: one the kernel picks */
	size_t block;			/* bytes per write (128 KiB) */
	double timeout;			/* to connect, and for silence mid-stream */
	struct nsl_ip source;		/* family 0: the route chooses */
};

/* 10 s, port 0, 128 KiB blocks, 3 s timeout. */
void nsl_tput_opts_init(struct nsl_tput_opts *o);

struct nsl_tput_result {
	int ok;				/* 0: it did not connect or broke off */
	int err;			/* then: the errno */
	char message[96];		/* "connect to 192.0.2.2 port 5201: Connection refused" */
	unsigned long long bytes;	/* received */
	double seconds;			/* first block sent to end of stream */
	double bits_per_second;
	unsigned retransmits;		/* tcpi_total_retrans */
	double rtt_ms;			/* tcpi_rtt */
	unsigned mss, cwnd;		/* tcpi_snd_mss, tcpi_snd_cwnd (segments) */
	int port;
	struct nsl_ip local;		/* the sender's address */
};

/* Sends from src to addr (an address of dst's). Returns 0 with the result
 * (ok = 0 when the connection could not be made or broke: the network's
 * answer, as data), or -errno for a failure of the run (a listener could
 * not be made in dst: *what says which step; no memory; interrupted). */
int nsl_throughput_run(const struct nsl_ns *src, const struct nsl_ns *dst,
		       const struct nsl_ip *addr, const struct nsl_tput_opts *o,
		       struct nsl_tput_result *r, char *what, size_t wlen);

#endif
