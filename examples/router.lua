-- router.lua: two segments joined by a router, staged as the book does.
--
-- What it teaches: ns1 (192.0.2.1/24) and ns2 (198.51.100.1/24) are on
-- different networks; `router` has a leg on each (192.0.2.254 and
-- 198.51.100.254). Three things must all be there before ns1 reaches ns2:
--   1. a route: without one, ns1's ping fails at once, "Network is unreachable";
--   2. forwarding on the router: with default routes but ip_forward=0 the
--      router drops the packets, 100% loss;
--   3. with forwarding on, replies arrive with TTL 63 (one router passed).
-- Stands for the book's:
--   ip netns add ns1; ip netns add router; ip netns add ns2
--   ip link add ns1-veth0 type veth peer name gw-veth0   (and ns2-veth0/gw-veth1)
--   ip netns exec router ip address add 192.0.2.254/24 dev gw-veth0   (...)
--   ip netns exec ns1 ping -c 1 198.51.100.1        (connect: Network is unreachable)
--   ip netns exec ns1 ip route add default via 192.0.2.254
--   ip netns exec ns2 ip route add default via 198.51.100.254
--   ip netns exec router sysctl net.ipv4.ip_forward=1
--   ip netns exec ns1 ping -c 3 198.51.100.1        (ttl=63)
-- Run: nslab examples/router.lua
local lab = require "netns.lab"

local l <close> = lab.new { name = "router" }
l:host("ns1")
l:host("ns2")
l:router("router", { forwarding = false }) -- switched on in stage 3
-- The MACs are the book's (chapter 4): the first digit is the segment.
l:link("ns1:ns1-veth0 192.0.2.1/24 mac=00:00:5e:00:53:11", "router:gw-veth0 192.0.2.254/24 mac=00:00:5e:00:53:12")
l:link("ns2:ns2-veth0 198.51.100.1/24 mac=00:00:5e:00:53:22", "router:gw-veth1 198.51.100.254/24 mac=00:00:5e:00:53:21")
l:up()

l:stage("1. no route on ns1")
l:reachable("ns1", "192.0.2.254", { ttl = 64 })       -- its own segment works
l:unreachable("ns1", "ns2", { how = "network unreachable" })

l:stage("2. default routes, forwarding off")
l:default("ns1", "192.0.2.254")
l:default("ns2", "198.51.100.254")
l:expect_route("ns1", "default", { via = "192.0.2.254" })
l:expect_sysctl("router", "net.ipv4.ip_forward", 0)
l:reachable("ns1", "198.51.100.254", { ttl = 64 })    -- the router itself answers
l:unreachable("ns1", "ns2", { how = "timeout", count = 2, timeout = 1 })

l:stage("3. forwarding on")
l:forwarding("router", true)
l:expect_sysctl("router", "net.ipv4.ip_forward", 1)
l:reachable("ns1", "ns2", { ttl = 63, count = 3 })
l:reachable("ns2", "ns1", { ttl = 63 })
