/* See fdlimit.h. */
#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include "fdlimit.h"

static struct rlimit original;
static int raised;

void nsl_fdlimit_raise(void)
{
	struct rlimit r;

	if (getrlimit(RLIMIT_NOFILE, &r) < 0 || r.rlim_cur >= r.rlim_max)
		return;
	original = r;
	r.rlim_cur = r.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &r) == 0)
		raised = 1;
}

void nsl_fdlimit_restore(void)
{
	if (raised)
		setrlimit(RLIMIT_NOFILE, &original);
}

void nsl_fd_close(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* Counts /proc/self/fd; the limit is capped at 65536 so a huge hard limit
 * does not make one wave of a thousand-namespace run open everything. */
size_t nsl_fd_budget(void)
{
	struct rlimit rl;
	size_t open_fds = 0, limit = 1024;
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
		limit = (size_t)rl.rlim_cur;
	if (d) {
		while ((e = readdir(d)) != NULL)
			if (e->d_name[0] != '.')
				open_fds++;
		closedir(d);
	}
	if (limit > 65536)
		limit = 65536;
	return limit > open_fds + 8 ? limit - open_fds - 8 : 1;
}
