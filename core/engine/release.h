/*
 * Releasing namespaces and waiting until the kernel has destroyed them.
 *
 * The kernel destroys a network namespace asynchronously, from a work queue,
 * once the last reference (a process, an open fd, a bind mount under
 * /run/netns) is gone. To know when that has happened without polling, a
 * private, unnamed watcher namespace gives each namespace an id
 * (RTM_NEWNSID with its fd) and listens for RTM_DELNSID, which the kernel
 * sends to it when it unhashes a dying namespace: from then on the namespace
 * cannot be entered or found again and its devices are being unregistered.
 */
#ifndef NSLAB_RELEASE_H
#define NSLAB_RELEASE_H

#include <stddef.h>

struct nsl_ns;

/*
 * Closes every handle in v and waits, up to timeout seconds, until the kernel
 * has destroyed each of their namespaces. The caller has deleted the names
 * first; whatever else holds a namespace (a process inside, another fd)
 * keeps it alive and it counts in *alive at the deadline. Handles already
 * closed and handles of the same namespace are fine. The handles are closed
 * whatever happens.
 */
int nsl_ns_release(struct nsl_ns **v, size_t n, double timeout, size_t *alive);

#endif
