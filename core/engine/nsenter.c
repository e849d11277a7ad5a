/* See nsenter.h. */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>

#include "nsenter.h"

static int home_fd = -1;

int nsl_home_fd(void)
{
	if (home_fd < 0)
		home_fd = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	return home_fd;
}

int nsl_enter(int nsfd)
{
	if (nsl_home_fd() < 0)
		return -errno;
	if (setns(nsfd, CLONE_NEWNET) < 0)
		return -errno;
	return 0;
}

/* Not being able to return home would leave every later operation acting in
 * the wrong namespace: there is no safe way to go on. */
void nsl_leave(void)
{
	if (setns(home_fd, CLONE_NEWNET) < 0) {
		perror("nslab: cannot return to the original network namespace");
		abort();
	}
}
