/*
 * Adding bridge forwarding database entries (listing them is nsl_fdb_list in
 * neigh.h).
 *
 * An entry says on which port of a bridge a MAC lives. A "dynamic" one is
 * what the bridge would have learnt from a frame of that MAC (it ages out
 * after ageing_time like a learnt one); a "static" one never ages. The lab
 * uses dynamic entries to tell its switches where its silent hosts are (see
 * lab_updown.lua: with IPv6 off a host sends nothing when its link comes up,
 * and a switch floods every frame for a MAC it has not learnt to all ports).
 */
#ifndef NSLAB_FDB_H
#define NSLAB_FDB_H

struct nsl_ns;

/* `bridge fdb replace MAC dev PORT master dynamic|static`: 0 or -errno
 * (-ENODEV: no such port; -EINVAL from the kernel: PORT is not a bridge port). */
int nsl_fdb_add(struct nsl_ns *ns, const char *port, const unsigned char mac[6], int is_static);

struct nsl_fdb_entry {
	const char *port;
	unsigned char mac[6];
	int is_static;
};

/* The same for n entries, sent in batches with their acks read afterwards
 * (a lab tells a core switch where 10,000 hosts are: one round trip per
 * batch, not per entry). 0 or the first -errno; *failed is then its index. */
int nsl_fdb_add_many(struct nsl_ns *ns, const struct nsl_fdb_entry *v, int n, int *failed);

#endif
