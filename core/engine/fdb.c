/* Bridge FDB entries added with one RTM_NEWNEIGH each (fdb.h). */
#include <errno.h>
#include <stdlib.h>
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

#define FDB_BATCH 256

/* libnl's rtnl_neigh wants a destination address, which an FDB entry has
 * not: the request is built by hand, as `bridge fdb` builds it. */
static int send_add(struct nl_sock *sk, int index, const unsigned char mac[6], int is_static)
{
	struct ndmsg nd;
	struct nl_msg *msg;
	int err;

	if (!(msg = nlmsg_alloc_simple(RTM_NEWNEIGH, NLM_F_CREATE | NLM_F_REPLACE)))
		return -ENOMEM;
	memset(&nd, 0, sizeof nd);
	nd.ndm_family = AF_BRIDGE;
	nd.ndm_ifindex = index;
	nd.ndm_state = is_static ? NUD_NOARP : NUD_REACHABLE;
	nd.ndm_flags = NTF_MASTER;
	if (nlmsg_append(msg, &nd, sizeof nd, NLMSG_ALIGNTO) < 0 || nla_put(msg, NDA_LLADDR, 6, mac) < 0)
		err = -ENOMEM;
	else if ((err = nl_send_auto(sk, msg)) < 0)
		err = nsl_nl_err(err);
	else
		err = 0;
	nlmsg_free(msg);
	return err;
}

int nsl_fdb_add_many(struct nsl_ns *ns, const struct nsl_fdb_entry *v, int n, int *failed)
{
	struct nl_sock *sk;
	int *index, err, first_err = 0;

	*failed = -1;
	if ((err = nsl_ns_sock(ns, &sk)) < 0)
		return err;
	if (n <= 0)
		return 0;
	if (!(index = malloc((size_t)n * sizeof *index)))
		return -ENOMEM;
	/* Ports first, before any add is in flight (a lookup would otherwise
	 * read their acks); entries come grouped by port: one lookup each. */
	for (int j = 0; j < n; j++) {
		if (j > 0 && strcmp(v[j].port, v[j - 1].port) == 0) {
			index[j] = index[j - 1];
		} else if ((err = nsl_nl_ifindex(sk, v[j].port, &index[j])) < 0) {
			*failed = j;
			goto out;
		}
	}
	for (int i = 0; i < n && !first_err; i += FDB_BATCH) {
		int sent = 0;

		for (int j = i; j < n && j < i + FDB_BATCH; j++, sent++) {
			if ((err = send_add(sk, index[j], v[j].mac, v[j].is_static)) < 0) {
				first_err = err;
				*failed = j;
				break;
			}
		}
		/* Every ack of the batch is read, even after a failure, so none
		 * is left to answer the next request. */
		for (int k = 0; k < sent; k++) {
			if ((err = nl_wait_for_ack(sk)) < 0 && !first_err) {
				first_err = nsl_nl_err(err);
				*failed = i + k;
			}
		}
	}
	err = first_err;
out:
	free(index);
	return err;
}

int nsl_fdb_add(struct nsl_ns *ns, const char *port, const unsigned char mac[6], int is_static)
{
	struct nsl_fdb_entry e = { .port = port, .is_static = is_static };
	int failed;

	memcpy(e.mac, mac, 6);
	return nsl_fdb_add_many(ns, &e, 1, &failed);
}
