/* Named network namespaces, made and removed the way iproute2's ipnetns.c does. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>
#include <linux/nsfs.h>

#include "files.h"
#include "namespace.h"
#include "netlink.h"
#include "nsenter.h"
#include "prefetch.h"

static void ns_init(struct nsl_ns *ns)
{
	memset(ns, 0, sizeof *ns);
	ns->fd = -1;
}

static int path_of(char *buf, size_t len, const char *name)
{
	if ((size_t)snprintf(buf, len, "%s/%s", NSL_NETNS_DIR, name) >= len)
		return -ENAMETOOLONG;
	return 0;
}

/*
 * /run/netns must be a shared mount point so that the bind mounts under it
 * propagate into mount namespaces made later (ip netns exec, containers).
 * Same dance as iproute2: try to make it shared; if it is not a mount point
 * yet, bind it onto itself first. The flock serialises with concurrent
 * `ip netns add` and other nslab runs.
 */
static int prepare_run_dir(void)
{
	static int done;	/* once shared, it stays so: no mount per create */
	int fd, err = 0, made_mount = 0;

	if (done)
		return 0;

	if (mkdir(NSL_NETNS_DIR, 0755) < 0 && errno != EEXIST)
		return -errno;
	fd = open(NSL_NETNS_DIR, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (flock(fd, LOCK_EX) < 0) {
		err = -errno;
		goto out;
	}
	while (mount("", NSL_NETNS_DIR, "none", MS_SHARED | MS_REC, NULL) < 0) {
		if (errno != EINVAL || made_mount) {
			err = -errno;
			goto out;
		}
		if (mount(NSL_NETNS_DIR, NSL_NETNS_DIR, "none", MS_BIND | MS_REC, NULL) < 0) {
			err = -errno;
			goto out;
		}
		made_mount = 1;
	}
out:
	close(fd);	/* releases the lock */
	done = err == 0;
	return err;
}

/*
 * Creating is split in two so that a new namespace can be marked (lab
 * ownership: an alias on its lo) before its name appears: begin makes the
 * namespace, held only by the handle's fd; commit gives it its name. The
 * name is a file that appears already holding the mark (nsl_file_publish:
 * written unnamed, then linked, never over an existing name) and the
 * namespace is then bind-mounted onto it. A process killed before the link
 * leaves nothing; killed between the link and the mount, it leaves a file
 * that is no namespace but says whose it was, which `nslab clean` removes
 * when it holds that run's mark (iproute2's own files are empty).
 */
int nsl_ns_create_begin(struct nsl_ns *ns, const char *name)
{
	char path[PATH_MAX];
	int err, nlfd;

	ns_init(ns);
	if ((err = path_of(path, sizeof path, name)) < 0)
		return err;
	if (nsl_home_fd() < 0)
		return -errno;
	if ((err = prepare_run_dir()) < 0)
		return err;
	/* Not the check that counts (commit's is): spares making a namespace
	 * only to find the name taken. */
	if (access(path, F_OK) == 0)
		return -EEXIST;
	/* One made ahead on the prefetch thread, with its socket, if any. */
	if ((err = nsl_prefetch_take(&ns->fd, &nlfd)) == 0) {
		nsl_nl_adopt(&ns->nl, nlfd);	/* not fatal: made on first use */
		goto named;
	}
	if (unshare(CLONE_NEWNET) < 0)
		return -errno;
	ns->fd = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	err = ns->fd < 0 ? -errno : 0;
	/* Its netlink socket too, while we are inside: the handle's first
	 * request (a mark, lo up) needs one anyway. Not fatal: it is made on
	 * first use otherwise. */
	if (!err)
		nsl_nl_sock_here(&ns->nl);
	nsl_leave();
	if (err)
		return err;
named:
	snprintf(ns->name, sizeof ns->name, "%s", name);
	snprintf(ns->label, sizeof ns->label, "%s", name);
	return 0;
}

int nsl_ns_create_commit(struct nsl_ns *ns, const char *mark)
{
	char path[PATH_MAX], src[64];
	int err;

	path_of(path, sizeof path, ns->name);
	err = nsl_file_publish(path, mark ? mark : "", mark ? strlen(mark) : 0, 0);
	if (err < 0) {
		nsl_ns_create_abort(ns);
		return err;
	}
	snprintf(src, sizeof src, "/proc/self/fd/%d", ns->fd);
	if (mount(src, path, "none", MS_BIND, NULL) < 0) {
		err = -errno;
		unlink(path);
		nsl_ns_create_abort(ns);
		return err;
	}
	return 0;
}

/* Before commit nothing has a name: dropping the handle ends the namespace. */
void nsl_ns_create_abort(struct nsl_ns *ns)
{
	nsl_ns_close(ns);
}

int nsl_ns_create(const char *name)
{
	struct nsl_ns ns;
	int err;

	if ((err = nsl_ns_create_begin(&ns, name)) < 0)
		return err;
	err = nsl_ns_create_commit(&ns, NULL);
	nsl_ns_close(&ns);
	return err;
}

int nsl_ns_delete(const char *name)
{
	char path[PATH_MAX];
	int err;

	if ((err = path_of(path, sizeof path, name)) < 0)
		return err;
	/* EINVAL: not a mount point (a stale file); still remove the file. */
	if (umount2(path, MNT_DETACH) < 0 && errno != EINVAL)
		return -errno;
	if (unlink(path) < 0)
		return -errno;
	return 0;
}

int nsl_ns_exists(const char *name)
{
	char path[PATH_MAX];
	struct nsl_ns ns;
	int err;

	if ((err = path_of(path, sizeof path, name)) < 0)
		return err;
	err = nsl_ns_open_path(&ns, path);
	if (err == -ENOENT || err == -EINVAL)
		return 0;
	if (err < 0)
		return err;
	nsl_ns_close(&ns);
	return 1;
}

int nsl_ns_list(int (*fn)(const char *name, void *arg), void *arg)
{
	DIR *dir = opendir(NSL_NETNS_DIR);
	struct dirent *e;
	int ret = 0;

	if (!dir)
		return errno == ENOENT ? 0 : -errno;
	while ((e = readdir(dir)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		if ((ret = fn(e->d_name, arg)) != 0)
			break;
	}
	closedir(dir);
	return ret;
}

/* An fd that is not a network namespace (a plain file, a stale name whose
 * mount is gone, another kind of namespace) is EINVAL. */
int nsl_ns_open_path(struct nsl_ns *ns, const char *path)
{
	int fd, type;

	ns_init(ns);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	type = ioctl(fd, NS_GET_NSTYPE);
	if (type != CLONE_NEWNET) {
		close(fd);
		return -EINVAL;
	}
	ns->fd = fd;
	snprintf(ns->label, sizeof ns->label, "%s", path);
	return 0;
}

int nsl_ns_open_name(struct nsl_ns *ns, const char *name)
{
	char path[PATH_MAX];
	int err;

	if ((err = path_of(path, sizeof path, name)) < 0)
		return err;
	if ((err = nsl_ns_open_path(ns, path)) < 0)
		return err;
	snprintf(ns->name, sizeof ns->name, "%s", name);
	snprintf(ns->label, sizeof ns->label, "%s", name);
	return 0;
}

int nsl_ns_open_pid(struct nsl_ns *ns, pid_t pid)
{
	char path[64];

	int err;

	snprintf(path, sizeof path, "/proc/%ld/ns/net", (long)pid);
	if ((err = nsl_ns_open_path(ns, path)) < 0)
		return err;
	snprintf(ns->label, sizeof ns->label, "pid %ld", (long)pid);
	return 0;
}

void nsl_ns_close(struct nsl_ns *ns)
{
	nsl_nl_close(&ns->nl);
	if (ns->fd >= 0)
		close(ns->fd);
	ns->fd = -1;
}

int nsl_ns_sock(struct nsl_ns *ns, struct nl_sock **sk)
{
	return nsl_nl_sock(&ns->nl, ns->fd, sk);
}

int nsl_ns_inode(const struct nsl_ns *ns, unsigned long long *ino)
{
	struct stat st;

	if (fstat(ns->fd, &st) < 0)
		return -errno;
	*ino = (unsigned long long)st.st_ino;
	return 0;
}
