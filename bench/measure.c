/*
 * measure: times one build + teardown of one alternative, the same way for
 * every alternative, and prints one line of key=value results.
 *
 *   measure [-p PREFIX] [-k COUNT] [-v VERIFY] -- argv...
 *       runs argv with pipes on its stdin and stdout; the child builds the
 *       lab, prints "built", and tears it down when it reads a line.
 *       build    = start of the child .. "built"
 *       teardown = "go" .. the child has exited AND the kernel has unlisted
 *                  every namespace named PREFIX* (RTM_DELNSID, see below)
 *       Between the two (untimed) it counts the child's open fds, runs
 *       VERIFY with sh -c (non-zero exit: the run is reported as failed),
 *       and checks that COUNT namespaces PREFIX* exist.
 *   measure -x -- argv...      only times argv (wall clock) and its exit.
 *
 * Knowing when a namespace is really gone: deleting the name under
 * /run/netns only drops a reference; the kernel destroys the namespace
 * later from a work queue. We give every lab namespace an id (RTM_NEWNSID)
 * inside a private watcher namespace of our own (anonymous, held only by our
 * socket) and count the RTM_DELNSID notifications the kernel sends there
 * when it destroys them. Nothing in the host namespace changes. Afterwards
 * (untimed) a probe namespace, destroyed after the lab's on the kernel's
 * ordered netns work queue, tells when that destruction work has finished,
 * so the next run starts on a quiet kernel.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <linux/net_namespace.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>

#define MAXIDS 65536

static int home, wsk;
static unsigned char assigned[MAXIDS], deleted[MAXIDS];
static int n_assigned, n_deleted;

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void die(const char *what)
{
	fprintf(stderr, "measure: %s: %s\n", what, strerror(errno));
	exit(3);
}

/* The watcher: a socket made in a fresh anonymous namespace, which it keeps alive. */
static void open_watcher(void)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	int size = 32 << 20;

	home = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	if (home < 0 || unshare(CLONE_NEWNET) < 0)
		die("unshare");
	wsk = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (wsk < 0 || bind(wsk, (struct sockaddr *)&sa, sizeof sa) < 0)
		die("netlink socket");
	if (setns(home, CLONE_NEWNET) < 0)
		die("setns home");
	setsockopt(wsk, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size);
}

/* Reads what the watcher has: acks (returned), DELNSID notifications (counted). */
static int drain(int timeout_ms)
{
	char buf[65536];
	struct pollfd p = { .fd = wsk, .events = POLLIN };
	struct nlmsghdr *h;
	ssize_t len;
	int ack = 1;

	if (poll(&p, 1, timeout_ms) <= 0)
		return 1;
	len = recv(wsk, buf, sizeof buf, 0);
	if (len < 0)
		die("recv");
	for (h = (struct nlmsghdr *)buf; NLMSG_OK(h, (size_t)len); h = NLMSG_NEXT(h, len)) {
		if (h->nlmsg_type == NLMSG_ERROR) {
			ack = ((struct nlmsgerr *)NLMSG_DATA(h))->error;
		} else if (h->nlmsg_type == RTM_DELNSID) {
			struct rtgenmsg *g = NLMSG_DATA(h);
			struct rtattr *a = (struct rtattr *)((char *)g + NLMSG_ALIGN(sizeof *g));
			int alen = (int)h->nlmsg_len - NLMSG_LENGTH(NLMSG_ALIGN(sizeof *g));

			for (; RTA_OK(a, alen); a = RTA_NEXT(a, alen)) {
				int id = *(int *)RTA_DATA(a);

				if (a->rta_type == NETNSA_NSID && id >= 0 && id < MAXIDS &&
				    assigned[id] && !deleted[id]) {
					deleted[id] = 1;
					n_deleted++;
				}
			}
		}
	}
	return ack;
}

/* Gives the namespace behind fd an id in the watcher; returns the id. */
static int assign_id(int fd, int id)
{
	struct {
		struct nlmsghdr h;
		struct rtgenmsg g;
		char pad[3];
		struct rtattr a1; int fd;
		struct rtattr a2; int id;
	} req = {
		.h = { .nlmsg_len = sizeof req, .nlmsg_type = RTM_NEWNSID,
		       .nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK },
		.g = { .rtgen_family = AF_UNSPEC },
		.a1 = { .rta_len = RTA_LENGTH(4), .rta_type = NETNSA_FD }, .fd = fd,
		.a2 = { .rta_len = RTA_LENGTH(4), .rta_type = NETNSA_NSID }, .id = id,
	};
	int err;

	if (send(wsk, &req, sizeof req, 0) < 0)
		die("send RTM_NEWNSID");
	while ((err = drain(5000)) == 1)
		;
	if (err < 0) {
		errno = -err;
		die("RTM_NEWNSID");
	}
	assigned[id] = 1;
	n_assigned++;
	return id;
}

static int watch_prefix(const char *prefix)
{
	DIR *d = opendir("/run/netns");
	struct dirent *e;
	char path[512];
	int fd, n = 0;

	if (!d)
		return 0;
	while ((e = readdir(d)) && n_assigned < MAXIDS - 1) {
		if (strncmp(e->d_name, prefix, strlen(prefix)) != 0)
			continue;
		snprintf(path, sizeof path, "/run/netns/%s", e->d_name);
		if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
			continue;
		assign_id(fd, n_assigned);
		close(fd);
		n++;
	}
	closedir(d);
	return n;
}

static int count_dir(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *e;
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

/* Waits until the namespace destruction work queued so far has finished. */
static double settle(void)
{
	double t0 = now(), deadline = t0 + 120;
	int fd, before = n_deleted;

	if (unshare(CLONE_NEWNET) < 0)
		die("unshare probe");
	fd = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	if (fd < 0 || setns(home, CLONE_NEWNET) < 0)
		die("probe");
	assign_id(fd, n_assigned);
	close(fd);
	while (n_deleted == before && now() < deadline)
		drain(1000);
	return now() - t0;
}

int main(int argc, char **argv)
{
	const char *prefix = NULL, *verify = NULL;
	int gone, opt, expect = -1, only_time = 0, in[2], out[2], status, fds, found = -1, vstatus = 0;
	double t0, t1, t2, t3, t4, deadline, settled = 0;
	struct rusage ru;
	char line[256];
	FILE *from;
	pid_t pid;
	int g = RTNLGRP_NSID;

	while ((opt = getopt(argc, argv, "p:k:v:x")) != -1) {
		if (opt == 'p') prefix = optarg;
		else if (opt == 'k') expect = atoi(optarg);
		else if (opt == 'v') verify = optarg;
		else if (opt == 'x') only_time = 1;
		else return 2;
	}
	if (optind >= argc || (!only_time && !prefix)) {
		fprintf(stderr, "usage: measure -p PREFIX [-k N] [-v CMD] -- argv... | measure -x -- argv...\n");
		return 2;
	}
	argv += optind;
	if (only_time) {
		t0 = now();
		if ((pid = fork()) == 0) {
			execvp(argv[0], argv);
			_exit(127);
		}
		wait4(pid, &status, 0, &ru);
		printf("time=%.6f status=%d maxrss_kb=%ld\n", now() - t0,
		       WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status), ru.ru_maxrss);
		return 0;
	}
	open_watcher();
	if (pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0)
		die("pipe");
	signal(SIGPIPE, SIG_IGN);
	t0 = now();
	if ((pid = fork()) == 0) {
		dup2(in[0], 0);
		dup2(out[1], 1);
		execvp(argv[0], argv);
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	from = fdopen(out[0], "r");
	while (fgets(line, sizeof line, from) && strcmp(line, "built\n") != 0)
		fputs(line, stderr);	/* whatever else the child says */
	t1 = now();
	snprintf(line, sizeof line, "/proc/%d/fd", (int)pid);
	fds = count_dir(line);
	if (verify)
		vstatus = system(verify);
	found = watch_prefix(prefix);
	if (setsockopt(wsk, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &g, sizeof g) < 0)
		die("join RTNLGRP_NSID");
	t2 = now();
	if (write(in[1], "go\n", 3) < 0) { /* the child died early: reported below */ }
	close(in[1]);
	while (fgets(line, sizeof line, from))
		fputs(line, stderr);
	wait4(pid, &status, 0, &ru);
	t3 = now();
	deadline = t3 + 300;
	while (n_deleted < found && now() < deadline)
		drain(1000);
	t4 = now();
	gone = n_deleted;
	settled = settle();
	printf("build=%.6f teardown=%.6f exit=%.6f gone=%d found=%d expect=%d fds=%d maxrss_kb=%ld "
	       "status=%d verify=%d settle=%.6f\n",
	       t1 - t0, t4 - t2, t3 - t2, gone, found, expect, fds, ru.ru_maxrss,
	       WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status),
	       vstatus == 0 ? 0 : (WIFEXITED(vstatus) ? WEXITSTATUS(vstatus) : 1), settled);
	return 0;
}
