/* Bridge options by a hand-built RTM_NEWLINK, where libnl has no setters. */
#include <errno.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <netlink/attr.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>

#include "bridge.h"
#include "namespace.h"
#include "netlink.h"

int nsl_bridge_opts_empty(const struct nsl_bridge_opts *o)
{
	return o->mcast_snooping < 0 && o->stp < 0 && o->ageing_cs < 0;
}

/* RTM_NEWLINK without NLM_F_CREATE on an existing bridge is a change: the
 * kernel's br_changelink() applies what IFLA_INFO_DATA carries. */
int nsl_bridge_set(struct nsl_ns *ns, const char *name, const struct nsl_bridge_opts *o)
{
	struct ifinfomsg ifi = { .ifi_family = AF_UNSPEC };
	struct nlattr *info, *data;
	struct nl_sock *sk;
	struct nl_msg *msg;
	int err, index;

	if (nsl_bridge_opts_empty(o))
		return 0;
	if ((err = nsl_ns_sock(ns, &sk)) < 0 || (err = nsl_nl_ifindex(sk, name, &index)) < 0)
		return err;
	ifi.ifi_index = index;
	if (!(msg = nlmsg_alloc_simple(RTM_NEWLINK, NLM_F_REQUEST | NLM_F_ACK)))
		return -ENOMEM;
	err = -EMSGSIZE;
	if (nlmsg_append(msg, &ifi, sizeof ifi, NLMSG_ALIGNTO) < 0 ||
	    !(info = nla_nest_start(msg, IFLA_LINKINFO)) ||
	    nla_put_string(msg, IFLA_INFO_KIND, "bridge") < 0 ||
	    !(data = nla_nest_start(msg, IFLA_INFO_DATA)))
		goto out;
	if (o->mcast_snooping >= 0 && nla_put_u8(msg, IFLA_BR_MCAST_SNOOPING, (uint8_t)o->mcast_snooping) < 0)
		goto out;
	if (o->stp >= 0 && nla_put_u32(msg, IFLA_BR_STP_STATE, (uint32_t)o->stp) < 0)
		goto out;
	if (o->ageing_cs >= 0 && nla_put_u32(msg, IFLA_BR_AGEING_TIME, (uint32_t)o->ageing_cs) < 0)
		goto out;
	nla_nest_end(msg, data);
	nla_nest_end(msg, info);
	err = nl_send_sync(sk, msg);	/* frees msg */
	return err < 0 ? nsl_nl_err(err) : 0;
out:
	nlmsg_free(msg);
	return err;
}
