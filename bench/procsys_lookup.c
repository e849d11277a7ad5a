/*
 * procsys_lookup N: the cost of the first /proc/sys/net lookup in each of N
 * new network namespaces, through the host's /proc and through a procfs
 * instance of one's own replaced every 64 lookups (what core/engine/sysctl.c
 * does). Each namespace gets one write of net.ipv4.icmp_ratemask (a lab's
 * own sysctl). Prints, for each way, the mean per namespace over each
 * thousand, and the total: "proc 1000 0.203" ... "proc total 3.26".
 *
 * The kernel keeps one "net" dentry under /proc/sys per namespace looked at,
 * all with the same parent and name, so one hash chain: through /proc each
 * first lookup walks past every other namespace's.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int private_proc(void)
{
	int fs = fsopen("proc", FSOPEN_CLOEXEC), mnt = -1;

	if (fs < 0)
		return -1;
	if (fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) == 0)
		mnt = fsmount(fs, FSMOUNT_CLOEXEC, 0);
	close(fs);
	return mnt;
}

/* way 0: /proc; way 1: a private instance, new every 64 lookups. */
static int run(int n, int way)
{
	int home = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	int *keep = calloc((size_t)n, sizeof *keep), mnt = -1;
	double sum = 0, t0 = now();

	if (home < 0 || !keep)
		return -1;
	for (int i = 0; i < n; i++) {
		double a;
		int fd;

		if (unshare(CLONE_NEWNET) < 0) {
			perror("unshare");
			return -1;
		}
		keep[i] = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
		a = now();
		if (way == 1 && i % 64 == 0) {
			if (mnt >= 0)
				close(mnt);
			if ((mnt = private_proc()) < 0) {
				perror("fsopen/fsmount proc");
				return -1;
			}
		}
		fd = way == 0 ? open("/proc/sys/net/ipv4/icmp_ratemask", O_WRONLY | O_CLOEXEC)
			      : openat(mnt, "sys/net/ipv4/icmp_ratemask", O_WRONLY | O_CLOEXEC);
		if (fd < 0 || write(fd, "0", 1) != 1) {
			perror("icmp_ratemask");
			return -1;
		}
		close(fd);
		sum += now() - a;
		if (setns(home, CLONE_NEWNET) < 0)
			return -1;
		if ((i + 1) % 1000 == 0) {
			printf("%s %d %.3f\n", way ? "private" : "proc", i + 1, sum / 1000 * 1e3);
			sum = 0;
		}
	}
	printf("%s total %.2f\n", way ? "private" : "proc", now() - t0);
	if (mnt >= 0)
		close(mnt);
	for (int i = 0; i < n; i++)
		close(keep[i]);
	free(keep);
	close(home);
	return 0;
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 3000;

	if (n <= 0 || run(n, 0) < 0)
		return 1;
	/* The first run's namespaces die meanwhile: let the kernel catch up. */
	sleep(5);
	return run(n, 1) < 0 ? 1 : 0;
}
