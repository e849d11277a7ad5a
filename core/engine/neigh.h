/*
 * Neighbours (the ARP and NDP tables) and the bridge forwarding database.
 *
 * Both are RTM_*NEIGH objects in the kernel: ARP entries have family AF_INET,
 * NDP entries AF_INET6, and a bridge's FDB entries AF_BRIDGE (no IP address,
 * a MAC, the port as the device and the bridge as the master). Lists are one
 * dump each, returned as a malloc'd array of nsl_neigh that the caller frees;
 * device names are filled in from one link dump, done only when there is an
 * entry to name.
 *
 * Adds are permanent entries (NUD_PERMANENT), which never expire and, unlike
 * learned entries, do not count against the host-wide gc_thresh3 cap that all
 * namespaces share (Mininet's autoStaticArp uses them for the same reason).
 * Flushes dump first and then send all deletes back to back, reading the acks
 * afterwards, rather than one request and one wait per entry.
 */
#ifndef NSLAB_NEIGH_H
#define NSLAB_NEIGH_H

#include "parse.h"

struct nsl_ns;

#define NSL_LLADDR_MAX 32	/* link-layer addresses: 6 for Ethernet, 4 for ipip, ... */

struct nsl_neigh {
	int family;			/* AF_INET, AF_INET6 or AF_BRIDGE */
	int ifindex;			/* the device (for FDB entries: the port) */
	int master_index;		/* the bridge of an FDB entry, 0 if none */
	char dev[NSL_IFNAMSIZ];		/* "" if the name could not be found */
	char master[NSL_IFNAMSIZ];
	struct nsl_ip dst;		/* family 0 when the entry has none (FDB) */
	unsigned char lladdr[NSL_LLADDR_MAX];
	int lladdr_len;			/* 0 when the entry has none (INCOMPLETE, FAILED) */
	int state;			/* NUD_* */
	unsigned int flags;		/* NTF_* */
	int vlan;			/* FDB: the VLAN id, -1 when none */
};

/* Options of nsl_neigh_list and nsl_neigh_flush. */
struct nsl_neigh_sel {
	int family;		/* AF_INET, AF_INET6, or 0 for both */
	const char *dev;	/* only this device, or NULL */
	int all;		/* list: include NOARP entries; flush: PERMANENT ones too */
};

/* ARP/NDP entries (the count, or -errno); *out is malloc'd, free() it. */
int nsl_neigh_list(struct nsl_ns *ns, const struct nsl_neigh_sel *sel, struct nsl_neigh **out);

/* A permanent entry dev/ip -> mac; replace: overwrite an existing entry
 * (as `ip neigh replace`) instead of failing with EEXIST. */
int nsl_neigh_add(struct nsl_ns *ns, const char *dev, const struct nsl_ip *ip,
		  const unsigned char mac[6], int replace);
int nsl_neigh_del(struct nsl_ns *ns, const char *dev, const struct nsl_ip *ip);

/* Deletes the selected entries but PERMANENT and NOARP ones (all of them with
 * sel->all); returns how many were removed. Entries that vanish meanwhile are
 * not errors. */
int nsl_neigh_flush(struct nsl_ns *ns, const struct nsl_neigh_sel *sel);

/* Bridge FDB entries; dev: a bridge (its entries and its own) or a port (the
 * entries on it), NULL for all. */
int nsl_fdb_list(struct nsl_ns *ns, const char *dev, struct nsl_neigh **out);

#endif
