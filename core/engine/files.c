/* See files.h. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "files.h"

static int write_all(int fd, const void *data, size_t len)
{
	const char *p = data;

	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Without O_TMPFILE (EOPNOTSUPP, or EISDIR/EINVAL from kernels or file
 * systems that do not know it): exclusive, but a reader may see it partly
 * written. */
static int publish_excl(const char *path, const void *data, size_t len, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
	int err;

	if (fd < 0)
		return -errno;
	err = write_all(fd, data, len);
	close(fd);
	if (err < 0)
		unlink(path);
	return err;
}

int nsl_file_publish(const char *path, const void *data, size_t len, mode_t mode)
{
	char dir[PATH_MAX], proc[64];
	const char *slash = strrchr(path, '/');
	int fd, err;

	if (!slash || (size_t)(slash - path) >= sizeof dir)
		return -EINVAL;
	if (slash == path)
		snprintf(dir, sizeof dir, "/");
	else
		snprintf(dir, sizeof dir, "%.*s", (int)(slash - path), path);
	fd = open(dir, O_TMPFILE | O_WRONLY | O_CLOEXEC, mode);
	if (fd < 0) {
		if (errno == EOPNOTSUPP || errno == EISDIR || errno == EINVAL)
			return publish_excl(path, data, len, mode);
		return -errno;
	}
	err = write_all(fd, data, len);
	snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
	if (err == 0 && linkat(AT_FDCWD, proc, AT_FDCWD, path, AT_SYMLINK_FOLLOW) < 0)
		err = -errno;
	close(fd);
	return err;
}
