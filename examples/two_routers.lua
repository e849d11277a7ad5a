-- two_routers.lua: a path over two routers, and static routing.
--
-- What it teaches: ns1 - router1 - router2 - ns2, with a transit network
-- 203.0.113.0/24 between the routers (router1 .1, router2 .2). Each host's
-- default route points at its own router, but a router knows only the
-- networks it is attached to: router1 answers ns1's ping to ns2 with
-- "Destination Net Unreachable" (from 192.0.2.254). Once each router has a
-- static route to the far network via the other, replies arrive with TTL 62
-- (two routers passed). A route is needed both ways: router2 gets ns1's
-- ping to 203.0.113.2 but cannot send the reply back.
-- Stands for the book's:
--   ip link add ns1-veth0 type veth peer name gw1-veth0
--   ip link add gw1-veth1 type veth peer name gw2-veth0
--   ip link add gw2-veth1 type veth peer name ns2-veth0
--   ip netns exec router1 ip address add 203.0.113.1/24 dev gw1-veth1   (...)
--   ip netns exec ns1 ping -c 1 198.51.100.1   (From 192.0.2.254 icmp_seq=1 Destination Net Unreachable)
--   ip netns exec router1 ip route add 198.51.100.0/24 via 203.0.113.2
--   ip netns exec router2 ip route add 192.0.2.0/24 via 203.0.113.1
--   ip netns exec ns1 ping -c 3 198.51.100.1   (ttl=62)
-- Run: nslab examples/two_routers.lua
local lab = require "netns.lab"

local l <close> = lab.new { name = "two-routers" }
l:host("ns1", { default = "192.0.2.254" })
l:host("ns2", { default = "198.51.100.254" })
l:router("router1")
l:router("router2")
-- MACs as in the book's chapter 4 plan, one segment more: the first digit is the segment.
l:link("ns1:ns1-veth0 192.0.2.1/24 mac=00:00:5e:00:53:11", "router1:gw1-veth0 192.0.2.254/24 mac=00:00:5e:00:53:12")
l:link("router1:gw1-veth1 203.0.113.1/24 mac=00:00:5e:00:53:21", "router2:gw2-veth0 203.0.113.2/24 mac=00:00:5e:00:53:22")
l:link("router2:gw2-veth1 198.51.100.254/24 mac=00:00:5e:00:53:31", "ns2:ns2-veth0 198.51.100.1/24 mac=00:00:5e:00:53:32")
l:up()

l:stage("1. the routers know only their own networks")
l:expect_sysctl("router1", "net.ipv4.ip_forward", 1)
l:reachable("ns1", "203.0.113.1", { ttl = 64 })   -- router1's far leg: still router1
l:unreachable("ns1", "ns2", { how = "net unreachable", from = "192.0.2.254" })
l:unreachable("ns2", "ns1", { how = "net unreachable", from = "198.51.100.254" })
-- router2 gets ns1's ping but has no route back to 192.0.2.0/24: silence.
l:unreachable("ns1", "203.0.113.2", { how = "timeout", timeout = 1 })

l:stage("2. static routes on both routers")
l:route("router1", "198.51.100.0/24 via 203.0.113.2")
l:route("router2", "192.0.2.0/24 via 203.0.113.1")
l:expect_route("router1", "198.51.100.0/24", { via = "203.0.113.2", dev = "gw1-veth1" })
l:reachable("ns1", "203.0.113.2", { ttl = 63 })
l:reachable("ns1", "ns2", { ttl = 62, count = 3 })
l:reachable("ns2", "ns1", { ttl = 62 })
