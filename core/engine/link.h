/*
 * Network links (interfaces) inside a namespace, over libnl-route-3.
 *
 * A link is named by its interface name inside one namespace handle; every
 * request goes over that namespace's own netlink socket (netlink.h), so no
 * namespace switch is needed here. Names and values arrive validated (the
 * bindings check them with parse.h); the engine still refuses what libnl
 * would silently mangle.
 *
 * Adding: nsl_link_add() creates one link, or both ends of a veth pair, each
 * end placed directly in its own namespace by a namespace fd on the link and
 * on its peer, so no end ever passes through the caller's namespace. The
 * request carries NLM_F_CREATE|NLM_F_EXCL; the kernel creates a pair
 * atomically. The far end of a veth cannot be created up, so it is brought up
 * by a second request; if that fails the pair is deleted again, so a failed
 * add leaves nothing half-made.
 *
 * Reading: struct nsl_link_info is a plain copy of what the kernel reported
 * (link_info.c), so the bindings can build Lua tables without holding libnl
 * objects across calls that may raise.
 *
 * Errors: every function returns 0 or a negative errno, the kernel's own. When
 * a failure concerns another object than the link itself (the master, the
 * parent, the far end of a veth), `what` (if not NULL) receives a short text
 * naming it, such as `master "br9"`, else an empty string.
 */
#ifndef NSLAB_LINK_H
#define NSLAB_LINK_H

#include <stddef.h>
#include <stdint.h>

#include "parse.h"

struct nsl_ns;

enum nsl_link_kind {
	NSL_LINK_VETH,
	NSL_LINK_BRIDGE,
	NSL_LINK_DUMMY,
	NSL_LINK_VLAN,
	NSL_LINK_MACVLAN,
	NSL_LINK_VXLAN,
	NSL_LINK_NKINDS
};

/* The kernel's names of the kinds, indexed by enum nsl_link_kind. */
extern const char *const nsl_link_kinds[NSL_LINK_NKINDS + 1];
/* macvlan modes as `ip link` names them; NULL-terminated. */
extern const char *const nsl_macvlan_modes[];

#include "bridge.h"

#define NSL_WHAT_LEN 64		/* room for the `what` texts */

/* Settings shared by a link and a veth's far end; 0/-1 mean "leave". */
struct nsl_link_end {
	const char *name;
	struct nsl_ns *ns;	/* where this end lives (NULL: the calling one) */
	unsigned int mtu;	/* 0: the kernel's default */
	int has_mac;
	unsigned char mac[6];
	int up;			/* 1: bring it up */
};

struct nsl_link_spec {
	enum nsl_link_kind kind;
	struct nsl_link_end self;
	struct nsl_link_end peer;	/* veth only */
	unsigned int queues;	/* veth: tx and rx queues of each end; 0: 1 */
	const char *master;	/* bridge to enslave to, or NULL */
	const char *parent;	/* vlan/macvlan: the lower link; vxlan: dev */
	uint32_t id;		/* vlan id or vxlan vni */
	const char *mode;	/* macvlan mode (one of nsl_macvlan_modes) or NULL */
	/* vxlan; an address with family 0 is unset */
	struct nsl_ip group, remote, local;
	uint16_t port;		/* destination UDP port, 0: 4789 */
	struct nsl_bridge_opts bridge;	/* bridge only; see bridge.h */
};

/* Adds the link described by spec in ns (spec->self.ns is ignored). */
int nsl_link_add(struct nsl_ns *ns, const struct nsl_link_spec *spec,
		 char what[NSL_WHAT_LEN]);

struct nsl_link_change {
	int up;			/* -1 leave, 0 down, 1 up */
	unsigned int mtu;	/* 0 leave */
	int has_mac;
	unsigned char mac[6];
	const char *rename;	/* new name or NULL */
	const char *master;	/* NULL leave, "" release from its master */
	struct nsl_ns *move_to;	/* NULL: stay */
	const char *alias;	/* NULL leave, "" clear */
};

/* Changes the link `name` in ns with one request. With move_to, the link
 * arrives in that namespace (renamed if asked) and master is looked up there. */
int nsl_link_set(struct nsl_ns *ns, const char *name,
		 const struct nsl_link_change *c, char what[NSL_WHAT_LEN]);

int nsl_link_del(struct nsl_ns *ns, const char *name);

/* Counters, in the order of nsl_link_stat_names. */
enum {
	NSL_STAT_RX_PACKETS, NSL_STAT_TX_PACKETS, NSL_STAT_RX_BYTES,
	NSL_STAT_TX_BYTES, NSL_STAT_RX_ERRORS, NSL_STAT_TX_ERRORS,
	NSL_STAT_RX_DROPPED, NSL_STAT_TX_DROPPED, NSL_LINK_NSTATS
};
extern const char *const nsl_link_stat_names[NSL_LINK_NSTATS + 1];

struct nsl_link_info {
	int index;
	char name[NSL_IFNAMSIZ];
	char kind[32];		/* IFLA_INFO_KIND, "" if the kernel gave none */
	unsigned int flags;	/* IFF_* */
	int operstate;		/* IF_OPER_* */
	unsigned int mtu;
	char mac[3 * 32];	/* "aa:bb:..", "" if the link has no address */
	int master_index;	/* 0: none */
	char master[NSL_IFNAMSIZ];	/* "" if none (or not found) */
	int link_index;		/* IFLA_LINK: parent or veth peer, 0: none */
	int has_peer_netnsid;
	int peer_netnsid;	/* IFLA_LINK_NETNSID: where link_index lives */
	char alias[256];	/* IFLA_IFALIAS, "" if none */
	uint64_t stats[NSL_LINK_NSTATS];
};

/* IFF_* flag names, `ip link` style, in its order; {0, NULL}-terminated. */
struct nsl_flag_name {
	unsigned int flag;
	const char *name;
};
extern const struct nsl_flag_name nsl_link_flag_names[];
/* "UP", "DOWN", "LOWERLAYERDOWN", ... as `ip link` shows IF_OPER_*. */
const char *nsl_link_operstate_name(int operstate);

/* One link by name: 0, -ENODEV when there is none, or another -errno. */
int nsl_link_get(struct nsl_ns *ns, const char *name, struct nsl_link_info *out);

/* What a poll of many links needs: the flags (IFF_UP, IFF_RUNNING,
 * IFF_LOWER_UP, ...), the operstate, and the address as link_get has it. */
struct nsl_link_state {
	unsigned int flags;
	int operstate;
	char mac[3 * 32];	/* "aa:bb:..", "" if the link has no address */
};
/* One RTM_GETLINK as link_get's (so, since 6.7, the kernel brings the
 * link's operstate up to date first), without the statistics, and read by
 * hand: 0, -ENODEV, or another -errno. */
int nsl_link_state(struct nsl_ns *ns, const char *name, struct nsl_link_state *out);

/* All links, sorted by index, in a malloc'd array the caller frees (also
 * when 0 links). Returns the count or -errno. */
int nsl_link_list(struct nsl_ns *ns, struct nsl_link_info **out);

#endif
