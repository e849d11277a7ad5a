/*
 * star_raw: the raw-C reference of the benchmark. Builds and tears down the
 * star topology with libnl and nothing else: one namespace PREFIXbr holding
 * bridge br0, and N host namespaces PREFIXh1..N, each with eth0, a veth whose
 * other end (v<i>) is a port of br0, the address 10.200.(i>>8).(i&255)/16 on
 * eth0, every link and lo up.
 *
 *   star_raw [-s] N PREFIX      build, print "built", wait for a line on
 *                               stdin, tear down (the protocol bench/measure
 *                               speaks with every alternative)
 *   star_raw [-s] -b N PREFIX   build only;   star_raw -t N PREFIX  teardown only
 *   -6  IPv6 off in every namespace it makes (not part of the benchmark's
 *       topology: for finding where the kernel spends the time at N=1000)
 *   -s  also install permanent neighbour entries for every other host (the
 *       all-pairs ping setup: the kernel's shared neighbour table then cannot
 *       overflow)
 *
 * It does what a careful C programmer would: namespaces made the iproute2
 * way, each host's netlink socket created while inside its namespace (no
 * extra setns), the veth made from the bridge side with its peer placed
 * directly in the host namespace, already enslaved and up, one request per
 * object, sockets and namespace fds closed as soon as a host is done.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <linux/if_link.h>
#include <linux/neighbour.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <netlink/netlink.h>
#include <netlink/msg.h>
#include <netlink/attr.h>
#include <netlink/socket.h>

#define RUNDIR "/run/netns"

static int home, no_ipv6;
static int kerr;	/* the kernel's errno from the last NLMSG_ERROR */
static const char *prefix;

static void die(const char *what, int err)
{
	fprintf(stderr, "star_raw: %s: %s\n", what, strerror(err < 0 ? -err : err));
	exit(1);
}

static void go_home(void)
{
	if (setns(home, CLONE_NEWNET) < 0)
		die("setns home", errno);
}

static void mac_of(int i, unsigned char mac[6])
{
	unsigned char m[6] = { 0x02, 0x6e, 0x73, 0x6c, (unsigned char)(i >> 8), (unsigned char)i };
	memcpy(mac, m, 6);
}

static uint32_t addr_of(int i)
{
	return htonl((10u << 24) | (200u << 16) | (unsigned)i);
}

/* /run/netns as a shared mount point, as `ip netns add` leaves it. */
static void prepare_rundir(void)
{
	int fd, done = 0;

	mkdir(RUNDIR, 0755);
	fd = open(RUNDIR, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || flock(fd, LOCK_EX) < 0)
		die(RUNDIR, errno);
	while (mount("", RUNDIR, "none", MS_SHARED | MS_REC, NULL) < 0) {
		if (errno != EINVAL || done)
			die("mount " RUNDIR, errno);
		if (mount(RUNDIR, RUNDIR, "none", MS_BIND | MS_REC, NULL) < 0)
			die("bind " RUNDIR, errno);
		done = 1;
	}
	close(fd);
}

/* libnl maps the kernel's errno lossily; keep the real one for messages. */
static int on_error(struct sockaddr_nl *nla, struct nlmsgerr *e, void *arg)
{
	(void)nla;
	(void)arg;
	kerr = -e->error;
	return NL_STOP;
}

static struct nl_sock *nl_here(void)
{
	struct nl_sock *sk = nl_socket_alloc();
	int err;

	if (!sk)
		die("nl_socket_alloc", ENOMEM);
	if ((err = nl_connect(sk, NETLINK_ROUTE)) < 0) {
		fprintf(stderr, "star_raw: nl_connect: %s\n", nl_geterror(err));
		exit(1);
	}
	nl_socket_modify_err_cb(sk, NL_CB_CUSTOM, on_error, NULL);
	return sk;
}

/* -6: IPv6 off in the new namespace (/proc/sys/net is the opener's namespace's),
 * to show what the kernel's IPv6 chatter costs in a big star. */
static void disable_ipv6(void)
{
	static const char *const keys[] = { "/proc/sys/net/ipv6/conf/all/disable_ipv6",
					    "/proc/sys/net/ipv6/conf/default/disable_ipv6" };
	int fd;

	for (size_t k = 0; k < 2; k++) {
		fd = open(keys[k], O_WRONLY | O_CLOEXEC);
		if (fd < 0 || write(fd, "1", 1) != 1)
			die(keys[k], errno);
		close(fd);
	}
}

/* Makes the named namespace and, while inside it, its fd and a socket. */
static int ns_create(const char *name, struct nl_sock **sk)
{
	char path[256];
	int fd;

	snprintf(path, sizeof path, RUNDIR "/%s%s", prefix, name);
	fd = open(path, O_RDONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0);
	if (fd < 0)
		die(path, errno);
	close(fd);
	if (unshare(CLONE_NEWNET) < 0)
		die("unshare", errno);
	if (mount("/proc/thread-self/ns/net", path, "none", MS_BIND, NULL) < 0)
		die("bind mount", errno);
	if (no_ipv6)
		disable_ipv6();
	fd = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		die("open ns", errno);
	*sk = nl_here();
	go_home();
	return fd;
}

static void ns_delete(const char *name)
{
	char path[256];

	snprintf(path, sizeof path, RUNDIR "/%s%s", prefix, name);
	if (umount2(path, MNT_DETACH) < 0 && errno != EINVAL && errno != ENOENT)
		die(path, errno);
	if (unlink(path) < 0 && errno != ENOENT)
		die(path, errno);
}

/* Sends one request and waits for the kernel's acknowledgement. */
static void request(struct nl_sock *sk, struct nl_msg *m, const char *what)
{
	int err = nl_send_auto(sk, m);

	nlmsg_free(m);
	if (err >= 0)
		err = nl_wait_for_ack(sk);
	if (err < 0) {
		fprintf(stderr, "star_raw: %s: %s\n", what, kerr ? strerror(kerr) : nl_geterror(err));
		exit(1);
	}
}

static struct nl_msg *link_msg(int flags, int index, unsigned up)
{
	struct ifinfomsg ifi = { .ifi_family = AF_UNSPEC, .ifi_index = index,
				 .ifi_flags = up, .ifi_change = up };
	struct nl_msg *m = nlmsg_alloc_simple(RTM_NEWLINK, flags | NLM_F_ACK);

	if (!m || nlmsg_append(m, &ifi, sizeof ifi, NLMSG_ALIGNTO) < 0)
		die("nlmsg", ENOMEM);
	return m;
}

/* if_nametoindex asks the current namespace: the caller enters it first. */
static int link_index(const char *name)
{
	unsigned idx = if_nametoindex(name);

	if (!idx)
		die(name, errno);
	return (int)idx;
}

static void set_up(struct nl_sock *sk, const char *ifname)
{
	struct nl_msg *m = link_msg(0, 0, IFF_UP);

	nla_put_string(m, IFLA_IFNAME, ifname);
	request(sk, m, ifname);
}

/* v<i> in br, enslaved and up; its peer eth0 directly in the host namespace. */
static void add_veth(struct nl_sock *br, int brindex, int i, int hostfd)
{
	/* Not IFF_UP: the kernel opens the peer before pairing it (ENOTCONN). */
	struct ifinfomsg peer_ifi = { .ifi_family = AF_UNSPEC };
	struct nl_msg *m = link_msg(NLM_F_CREATE | NLM_F_EXCL, 0, IFF_UP);
	struct nlattr *info, *data, *peer;
	unsigned char mac[6];
	char name[IFNAMSIZ];

	snprintf(name, sizeof name, "v%d", i);
	mac_of(i, mac);
	nla_put_string(m, IFLA_IFNAME, name);
	nla_put_u32(m, IFLA_MASTER, (uint32_t)brindex);
	info = nla_nest_start(m, IFLA_LINKINFO);
	nla_put_string(m, IFLA_INFO_KIND, "veth");
	data = nla_nest_start(m, IFLA_INFO_DATA);
	peer = nla_nest_start(m, VETH_INFO_PEER);
	nlmsg_append(m, &peer_ifi, sizeof peer_ifi, NLMSG_ALIGNTO);
	nla_put_string(m, IFLA_IFNAME, "eth0");
	nla_put_u32(m, IFLA_NET_NS_FD, (uint32_t)hostfd);
	nla_put(m, IFLA_ADDRESS, 6, mac);
	nla_nest_end(m, peer);
	nla_nest_end(m, data);
	nla_nest_end(m, info);
	request(br, m, name);
}

static void add_addr(struct nl_sock *sk, int index, int i)
{
	struct ifaddrmsg ifa = { .ifa_family = AF_INET, .ifa_prefixlen = 16,
				 .ifa_index = (unsigned)index };
	struct nl_msg *m = nlmsg_alloc_simple(RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL | NLM_F_ACK);
	uint32_t a = addr_of(i), brd = a | htonl(0xffff);

	nlmsg_append(m, &ifa, sizeof ifa, NLMSG_ALIGNTO);
	nla_put(m, IFA_LOCAL, 4, &a);
	nla_put(m, IFA_ADDRESS, 4, &a);
	nla_put(m, IFA_BROADCAST, 4, &brd);
	request(sk, m, "addr");
}

static void add_neigh(struct nl_sock *sk, int index, int j)
{
	struct ndmsg nd = { .ndm_family = AF_INET, .ndm_ifindex = index,
			    .ndm_state = NUD_PERMANENT };
	struct nl_msg *m = nlmsg_alloc_simple(RTM_NEWNEIGH, NLM_F_CREATE | NLM_F_REPLACE | NLM_F_ACK);
	uint32_t a = addr_of(j);
	unsigned char mac[6];

	mac_of(j, mac);
	nlmsg_append(m, &nd, sizeof nd, NLMSG_ALIGNTO);
	nla_put(m, NDA_DST, 4, &a);
	nla_put(m, NDA_LLADDR, 6, mac);
	request(sk, m, "neigh");
}

static void build(int n, int static_arp)
{
	struct nl_sock *br, *h;
	int brfd, brindex, i, j, fd, eth0;
	char name[32];

	prepare_rundir();
	brfd = ns_create("br", &br);
	{
		struct nl_msg *m = link_msg(NLM_F_CREATE | NLM_F_EXCL, 0, IFF_UP);
		struct nlattr *info;

		nla_put_string(m, IFLA_IFNAME, "br0");
		info = nla_nest_start(m, IFLA_LINKINFO);
		nla_put_string(m, IFLA_INFO_KIND, "bridge");
		nla_nest_end(m, info);
		request(br, m, "br0");
	}
	set_up(br, "lo");
	if (setns(brfd, CLONE_NEWNET) < 0)
		die("setns br", errno);
	brindex = link_index("br0");
	go_home();
	for (i = 1; i <= n; i++) {
		snprintf(name, sizeof name, "h%d", i);
		fd = ns_create(name, &h);
		add_veth(br, brindex, i, fd);
		set_up(h, "lo");
		set_up(h, "eth0");	/* the far end is not created up */
		if (setns(fd, CLONE_NEWNET) < 0)
			die("setns host", errno);
		eth0 = link_index("eth0");
		go_home();
		add_addr(h, eth0, i);
		if (static_arp)
			for (j = 1; j <= n; j++)
				if (j != i)
					add_neigh(h, eth0, j);
		nl_socket_free(h);
		close(fd);
	}
	nl_socket_free(br);
	close(brfd);
}

static void teardown(int n)
{
	char name[32];
	int i;

	for (i = 1; i <= n; i++) {
		snprintf(name, sizeof name, "h%d", i);
		ns_delete(name);
	}
	ns_delete("br");
}

int main(int argc, char **argv)
{
	int opt, n, static_arp = 0, mode = 0;
	char line[64];

	while ((opt = getopt(argc, argv, "sbt6")) != -1) {
		if (opt == 's')
			static_arp = 1;
		else if (opt == '6')
			no_ipv6 = 1;
		else if (opt == 'b' || opt == 't')
			mode = opt;
		else
			return 2;
	}
	if (argc - optind != 2 || (n = atoi(argv[optind])) < 1 || n > 65000) {
		fprintf(stderr, "usage: star_raw [-s] [-6] [-b|-t] N PREFIX\n");
		return 2;
	}
	prefix = argv[optind + 1];
	home = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	if (home < 0)
		die("open home ns", errno);
	if (mode != 't')
		build(n, static_arp);
	if (mode == 'b')
		return 0;
	if (mode == 0) {
		printf("built\n");
		fflush(stdout);
		if (!fgets(line, sizeof line, stdin))
			return 1;
	}
	teardown(n);
	return 0;
}
