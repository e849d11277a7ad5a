/* See fdlimit.h. */
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
