/*
 * IP addresses on interfaces, over libnl-route's rtnl_addr.
 *
 * An address is named by the interface it sits on (a name inside the
 * namespace, resolved to its ifindex by asking the kernel, so a missing one is
 * ENODEV) and its local address with prefix length. Adding behaves like
 * `ip addr add`: IPv4 gets a broadcast address computed as `brd +` computes it
 * (the host bits set, only for prefixes up to /30), 127/8 gets host scope,
 * IPv6 can skip duplicate address detection (IFA_F_NODAD) so the address is
 * usable at once.
 *
 * Listing dumps the namespace's addresses and links once each and returns a
 * malloc'd array the caller frees; entries are sorted by ifindex, IPv4 before
 * IPv6, in the kernel's order otherwise (as `ip addr show` groups them).
 */
#ifndef NSLAB_ADDR_H
#define NSLAB_ADDR_H

#include "parse.h"

struct nsl_ns;

enum nsl_brd {
	NSL_BRD_NONE,		/* no broadcast address */
	NSL_BRD_AUTO,		/* as `brd +`: host bits set, prefixes <= 30 */
	NSL_BRD_ADDR		/* the given one */
};

struct nsl_addr_req {
	struct nsl_ip local;	/* the address with its prefix length */
	enum nsl_brd brd_mode;	/* IPv4 only; NSL_BRD_NONE for IPv6 */
	unsigned char brd[4];	/* for NSL_BRD_ADDR */
	int nodad;		/* IPv6: no duplicate address detection */
	const char *label;	/* IPv4 label ("eth0:1"), or NULL */
	int scope;		/* RT_SCOPE_*, or -1: as iproute2 picks */
};

struct nsl_addr_info {
	char dev[NSL_IFNAMSIZ];
	int index;
	struct nsl_ip local;	/* family, address and prefix length */
	int has_brd;
	unsigned char brd[4];
	char label[NSL_IFNAMSIZ];	/* IPv4 label, "" if none */
	int scope;		/* RT_SCOPE_* */
	unsigned flags;		/* IFA_F_* */
};

/* The broadcast address `brd +` sets for an IPv4 local/prefix; 0 when it sets
 * none (prefix /31 or /32, or not IPv4), 1 when brd was filled in. */
int nsl_addr_auto_brd(const struct nsl_ip *local, unsigned char brd[4]);

int nsl_addr_add(struct nsl_ns *ns, const char *dev, const struct nsl_addr_req *req);
/* local must carry its prefix length; EADDRNOTAVAIL if there is no such address. */
int nsl_addr_del(struct nsl_ns *ns, const char *dev, const struct nsl_ip *local);

/* All addresses (dev NULL: of every interface; family AF_UNSPEC: both) into a
 * malloc'd *out (NULL when none); returns the count or -errno. */
int nsl_addr_list(struct nsl_ns *ns, const char *dev, int family, struct nsl_addr_info **out);

/* "secondary", "nodad", ... for one IFA_F_* bit (IPv6 calls 0x01 "temporary"),
 * NULL for a bit with no name. */
const char *nsl_addr_flag_name(unsigned bit, int family);

#endif
