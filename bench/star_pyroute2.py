#!/usr/bin/python3
# star_pyroute2.py N PREFIX: the star benchmark with pyroute2, used the fastest
# way it offers: one IPRoute socket per namespace, made inside it by
# pushns/popns (no NetNS proxy process per namespace), namespaces made with
# pyroute2's netns._create in-process (see create) and removed with
# pyroute2.netns.remove; the veth is made enslaved and up in one request. Same topology
# and protocol as bench/star_raw.c: build, print "built", read a line, tear down.
import os
import sys

from pyroute2 import IPRoute, netns


def addr(i):
    return "10.200.%d.%d" % (i >> 8, i & 255)


def create(name):
    """pyroute2's own namespace-creation routine, run in this process between
    pushns and popns instead of in a forked child as netns.create does (the
    fork of the interpreter costs more than everything else per host)."""
    netns.pushns()
    try:
        netns._create(name)
    finally:
        netns.popns()


def in_ns(name):
    """An IPRoute socket created inside the namespace `name`."""
    fd = os.open("/run/netns/" + name, os.O_RDONLY)
    netns.pushns(fd)
    try:
        return IPRoute()
    finally:
        netns.popns()
        os.close(fd)


def main():
    n, prefix = int(sys.argv[1]), sys.argv[2]
    brname = prefix + "br"
    create(brname)
    br = in_ns(brname)
    br.link("set", index=1, state="up")
    br.link("add", ifname="br0", kind="bridge")
    brindex = br.link_lookup(ifname="br0")[0]
    br.link("set", index=brindex, state="up")
    for i in range(1, n + 1):
        hname = "%sh%d" % (prefix, i)
        create(hname)
        br.link("add", ifname="v%d" % i, kind="veth", master=brindex,
                state="up", peer={"ifname": "eth0", "net_ns_fd": hname})
        h = in_ns(hname)
        h.link("set", index=1, state="up")
        eth0 = h.link_lookup(ifname="eth0")[0]
        h.addr("add", index=eth0, address=addr(i), prefixlen=16)
        h.link("set", index=eth0, state="up")
        h.close()
    br.close()
    print("built", flush=True)
    sys.stdin.readline()
    for i in range(1, n + 1):
        netns.remove("%sh%d" % (prefix, i))
    netns.remove(brname)


if __name__ == "__main__":
    main()
