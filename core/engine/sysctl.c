/* Per-namespace sysctls: open under /proc/sys/net inside, read or write at home. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mount.h>

#include "namespace.h"
#include "nsenter.h"
#include "parse.h"
#include "sysctl.h"

#define PROC_SYS "/proc/sys/"

/* Is the third component "conf" or "neigh" (a per-device directory)? */
static int per_device(const char *key)
{
	const char *p = strchr(key + 4, '.');	/* after "net.<proto>" */

	if (!p)
		return 0;
	p++;
	return strncmp(p, "conf.", 5) == 0 || strncmp(p, "neigh.", 6) == 0;
}

int nsl_sysctl_path(const char *key, char *buf, size_t len)
{
	const char *why, *dev = NULL, *leaf = NULL;
	size_t klen = strlen(key), n;

	if (nsl_check_sysctl_key(key, klen, &why) < 0)
		return -EINVAL;
	n = sizeof PROC_SYS - 1;
	if (n + klen + 1 > len)
		return -ENAMETOOLONG;
	memcpy(buf, PROC_SYS, n);
	memcpy(buf + n, key, klen + 1);
	/* net.<proto>.conf.<dev...>.<leaf>: the device runs up to the last dot,
	 * and needs at least one component of its own. */
	if (per_device(key)) {
		dev = strchr(strchr(key + 4, '.') + 1, '.') + 1;
		leaf = strrchr(key, '.');
		if (leaf < dev)
			dev = leaf = NULL;
	}
	for (char *p = buf + n; *p; p++) {
		const char *k = key + (p - (buf + n));
		if (*p == '.' && (!dev || k < dev || k >= leaf))
			*p = '/';
	}
	return 0;
}

/*
 * Where /proc/sys/net is looked up. The kernel keeps one "net" dentry under
 * /proc/sys per namespace that has been looked at, all with the same parent
 * and name, so all in one dcache hash chain: each first lookup in a
 * namespace walks past every other namespace's (proc_sys_compare: 1 ms each
 * with 3000 namespaces, 40% of a 3000-host lab's up). A procfs instance of
 * our own (fsopen/fsmount, detached: no mount appears anywhere) has dentries
 * of its own, so its chain holds only the namespaces looked at through it;
 * a fresh instance every PRIVATE_USES lookups keeps that short (0.03 ms a
 * namespace, flat up to 6000, against 1.1 ms at 3000 through /proc). Where
 * the kernel refuses a new instance (before 5.2, or a container that may not
 * mount proc), /proc is used as before. Only the thread that runs Lua calls
 * this (the listener and throughput threads touch no sysctl).
 */
#define PRIVATE_USES 64

static int private_proc = -1;	/* the detached procfs mount, or -1 */
static int private_uses;
static int private_refused;	/* the kernel said no once: /proc from then on */

static int new_private_proc(void)
{
	int fs, mnt = -1;

	if ((fs = fsopen("proc", FSOPEN_CLOEXEC)) < 0)
		return -1;
	if (fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) == 0)
		mnt = fsmount(fs, FSMOUNT_CLOEXEC, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC);
	close(fs);
	return mnt;
}

void nsl_sysctl_forget(void)
{
	if (private_proc >= 0)
		close(private_proc);
	private_proc = -1;
	private_uses = 0;
}

const char *nsl_sysctl_procfs(void)
{
	return private_refused ? "/proc" : private_proc >= 0 ? "private" : NULL;
}

/* /proc/sys/net of the namespace the thread is in now, as a directory fd. */
static int open_sys_net(void)
{
	if (!private_refused && (private_proc < 0 || private_uses >= PRIVATE_USES)) {
		nsl_sysctl_forget();
		/* Out of fds or memory is this moment's; anything else, the kernel's answer. */
		if ((private_proc = new_private_proc()) < 0 && errno != EMFILE && errno != ENFILE && errno != ENOMEM)
			private_refused = 1;
	}
	if (private_proc >= 0) {
		private_uses++;
		return openat(private_proc, "sys/net", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	}
	return open(PROC_SYS "net", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

#define NET_PREFIX (sizeof PROC_SYS "net/" - 1)	/* of a path from nsl_sysctl_path */

/* The file opened inside the namespace; the fd keeps referring to it. */
static int open_in(struct nsl_ns *ns, const char *key, int flags)
{
	char path[512];
	int dir, fd, err;

	if ((err = nsl_sysctl_path(key, path, sizeof path)) < 0)
		return err;
	if ((err = nsl_enter(ns->fd)) < 0)
		return err;
	if ((dir = open_sys_net()) < 0) {
		err = -errno;
	} else {
		fd = openat(dir, path + NET_PREFIX, flags | O_CLOEXEC | O_NOFOLLOW);
		err = fd < 0 ? -errno : fd;
		close(dir);
	}
	nsl_leave();
	return err;
}

int nsl_sysctl_get(struct nsl_ns *ns, const char *key, char *buf, size_t len)
{
	size_t have = 0;
	ssize_t r;
	char extra;
	int fd;

	if ((fd = open_in(ns, key, O_RDONLY)) < 0)
		return fd;
	while (have < len && (r = read(fd, buf + have, len - have)) != 0) {
		if (r < 0) {
			if (errno == EINTR)
				continue;
			r = -errno;
			close(fd);
			return (int)r;
		}
		have += (size_t)r;
	}
	/* A full buffer is only a problem if more is left to read. */
	if (have == len && read(fd, &extra, 1) > 0) {
		close(fd);
		return -EFBIG;
	}
	close(fd);
	if (have > 0 && buf[have - 1] == '\n')
		have--;
	return (int)have;
}

int nsl_sysctl_set(struct nsl_ns *ns, const char *key, const char *value, size_t len)
{
	ssize_t w;
	int fd, err = 0;

	if ((fd = open_in(ns, key, O_WRONLY)) < 0)
		return fd;
	do
		w = write(fd, value, len);
	while (w < 0 && errno == EINTR);
	if (w < 0)
		err = -errno;
	else if ((size_t)w != len)
		err = -EIO;	/* the kernel takes a value in one write or not at all */
	close(fd);
	return err;
}

#define PATH_MAX_LEN 512

int nsl_sysctl_set_many(struct nsl_ns *ns, const struct nsl_sysctl_kv *v, int n, int *failed)
{
	char (*path)[PATH_MAX_LEN] = NULL;
	int *fd = NULL, dir = -1, err = 0, opened = 0;

	*failed = -1;
	if (n <= 0)
		return 0;
	if (!(path = malloc((size_t)n * sizeof *path)) || !(fd = malloc((size_t)n * sizeof *fd))) {
		err = -ENOMEM;
		goto out;
	}
	for (int i = 0; i < n; i++) {
		if ((err = nsl_sysctl_path(v[i].key, path[i], sizeof path[i])) < 0) {
			*failed = i;
			goto out;
		}
	}
	if ((err = nsl_enter(ns->fd)) < 0)
		goto out;
	if ((dir = open_sys_net()) < 0)
		err = -errno;
	for (; dir >= 0 && opened < n; opened++) {
		fd[opened] = openat(dir, path[opened] + NET_PREFIX, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
		if (fd[opened] < 0) {
			err = -errno;
			*failed = opened;
			break;
		}
	}
	nsl_leave();
	for (int i = 0; !err && i < n; i++) {
		ssize_t w;

		do
			w = write(fd[i], v[i].value, v[i].len);
		while (w < 0 && errno == EINTR);
		if (w < 0 || (size_t)w != v[i].len) {
			err = w < 0 ? -errno : -EIO;
			*failed = i;
		}
	}
	for (int i = 0; i < opened; i++)
		close(fd[i]);
out:
	if (dir >= 0)
		close(dir);
	free(fd);
	free(path);
	return err;
}
