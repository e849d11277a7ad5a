/*
 * Bridge settings libnl-route-3 (3.7) has no setters for: multicast
 * snooping, STP and the FDB ageing time (IFLA_BR_* inside IFLA_INFO_DATA).
 */
#ifndef NSLAB_BRIDGE_H
#define NSLAB_BRIDGE_H

#include <stdint.h>

struct nsl_ns;

struct nsl_bridge_opts {
	int mcast_snooping;	/* -1 leave, 0 off, 1 on */
	int stp;		/* -1 leave, 0 off, 1 on */
	int64_t ageing_cs;	/* FDB ageing time in centiseconds, -1 leave */
};

/* Nothing to do when every field says "leave". */
int nsl_bridge_opts_empty(const struct nsl_bridge_opts *o);

/* Applies o to the bridge `name` in ns with one RTM_NEWLINK request. */
int nsl_bridge_set(struct nsl_ns *ns, const char *name, const struct nsl_bridge_opts *o);

#endif
