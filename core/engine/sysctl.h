/*
 * Sysctls of one network namespace: the files under /proc/sys/net.
 *
 * Which namespace a /proc/sys/net file belongs to is decided when it is
 * opened (the kernel looks the entry up in the opener's current namespace), so
 * the file is opened between nsl_enter() and nsl_leave() and then read
 * or written from home. Nothing else happens inside the namespace.
 *
 * Keys are dotted, as sysctl(8) takes them: net.ipv4.ip_forward is
 * /proc/sys/net/ipv4/ip_forward. Interface names may contain dots (eth0.100),
 * so in keys of the per-device directories, net.<proto>.conf.<dev>.<leaf> and
 * net.<proto>.neigh.<dev>.<leaf>, everything between "conf"/"neigh" and the
 * last component is the device: net.ipv4.conf.eth0.100.rp_filter is
 * /proc/sys/net/ipv4/conf/eth0.100/rp_filter. Those directories have no
 * subdirectories, so this is the only reading that can name a file.
 */
#ifndef NSLAB_SYSCTL_H
#define NSLAB_SYSCTL_H

#include <stddef.h>

struct nsl_ns;

/* The /proc/sys path of a key (checked with nsl_check_sysctl_key: -EINVAL if bad). */
int nsl_sysctl_path(const char *key, char *buf, size_t len);

/* Reads the value into buf (not NUL-terminated), one trailing newline
 * dropped; returns its length, or -EFBIG if it is longer than len. */
int nsl_sysctl_get(struct nsl_ns *ns, const char *key, char *buf, size_t len);

/* Writes value (len bytes) in one write(), as sysctl -w does. */
int nsl_sysctl_set(struct nsl_ns *ns, const char *key, const char *value, size_t len);

/*
 * Several values in one namespace: every file opened in one visit, relative
 * to the namespace's /proc/sys/net (the lookup of which sysctl.c keeps cheap
 * at any number of namespaces, through a procfs instance of its own).
 * All keys are checked before anything is opened; on failure nothing is
 * written if an open failed, and *failed is the index of the key concerned.
 */
struct nsl_sysctl_kv {
	const char *key;
	const char *value;
	size_t len;
};

int nsl_sysctl_set_many(struct nsl_ns *ns, const struct nsl_sysctl_kv *v, int n, int *failed);

/* Closes the procfs instance kept for the lookups (the next one makes a new
 * one): for a module being unloaded, so it leaves no fd behind. */
void nsl_sysctl_forget(void);

/* Where the lookups go: "private" (a procfs instance of the module's own),
 * "/proc" (the kernel refused one: the fallback), or NULL before the first. */
const char *nsl_sysctl_procfs(void);

#endif
