/* Bridge FDB entries added with one RTM_NEWNEIGH each (fdb.h). */
#include <errno.h>
#include <string.h>
#include <linux/neighbour.h>
#include <linux/rtnetlink.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <sys/socket.h>

#include "errors.h"
#include "fdb.h"
#include "namespace.h"
#include "netlink.h"

/* libnl's rtnl_neigh wants a destination address, which an FDB entry has
 * not: the request is built by hand, as `bridge fdb` builds it. */
int nsl_fdb_add(struct nsl_ns *ns, const char *port, const unsigned char mac[6], int is_static)
{
	struct ndmsg nd;
	struct nl_sock *sk;
	struct nl_msg *msg;
	int err, index;

	if ((err = nsl_ns_sock(ns, &sk)) < 0 || (err = nsl_nl_ifindex(sk, port, &index)) < 0)
		return err;
	if (!(msg = nlmsg_alloc_simple(RTM_NEWNEIGH, NLM_F_CREATE | NLM_F_REPLACE)))
		return -ENOMEM;
	memset(&nd, 0, sizeof nd);
	nd.ndm_family = AF_BRIDGE;
	nd.ndm_ifindex = index;
	nd.ndm_state = is_static ? NUD_NOARP : NUD_REACHABLE;
	nd.ndm_flags = NTF_MASTER;
	if (nlmsg_append(msg, &nd, sizeof nd, NLMSG_ALIGNTO) < 0 || nla_put(msg, NDA_LLADDR, 6, mac) < 0) {
		nlmsg_free(msg);
		return -ENOMEM;
	}
	/* nl_send_sync frees msg and waits for the ack. */
	if ((err = nl_send_sync(sk, msg)) < 0)
		return nsl_nl_err(err);
	return 0;
}
