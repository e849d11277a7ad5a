-- bridge.lua: three hosts on one Linux bridge, and how a bridge learns.
--
-- What it teaches: ns1, ns2, ns3 (192.0.2.1-.3/24) each plug a veth into
-- `br0`, a bridge in a namespace of its own called `bridge`; all of them are
-- then on one segment and reach each other with TTL 64. The bridge learns
-- which MAC sits behind which port (its FDB). After learning, a unicast
-- frame goes out of one port only: ns1's pings to ns2 never show on ns3's
-- link, while a broadcast (ns1's ARP request) is flooded to every port.
-- Stands for the book's:
--   ip netns add bridge
--   ip netns exec bridge ip link add dev br0 type bridge
--   ip link add ns1-veth0 type veth peer name ns1-br0   (and ns2, ns3)
--   ip netns exec bridge ip link set ns1-br0 master br0 (and ns2, ns3)
--   ip netns exec ns1 ping -c 3 192.0.2.2               (and every pair)
--   ip netns exec bridge bridge fdb show br br0
--   ip netns exec ns3 tcpdump -tnel -i ns3-veth0 arp or icmp
-- Run: nslab examples/bridge.lua   (the capture needs tcpdump)
local lab = require "netns.lab"
local tools = require "netns.tools"
local capture = require "netns.capture"

tools.need { "tcpdump" }

local MAC = { ns1 = "00:00:5e:00:53:01", ns2 = "00:00:5e:00:53:02", ns3 = "00:00:5e:00:53:03" }

local l <close> = lab.new { name = "bridge" }
l:switch("bridge", { bridge = "br0" })
for i = 1, 3 do
  local h = "ns" .. i
  l:host(h)
  l:link(("%s:%s-veth0 192.0.2.%d/24 mac=%s"):format(h, h, i, MAC[h]), ("bridge:%s-br0"):format(h))
end
l:up()

l:stage("three hosts on br0")
l:expect_link_up("bridge", "br0")
l:ping_all { nodes = { "ns1", "ns2", "ns3" } }
l:reachable("ns1", "ns3", { ttl = 64 })   -- no router between them

l:stage("the bridge learned where each MAC is")
for i = 1, 3 do
  local h = "ns" .. i
  l:expect_fdb("bridge", MAC[h], h .. "-br0")
end

l:stage("after learning, unicast frames stay off other ports")
local ns1 = l:node("ns1")
ns1:neigh_flush { dev = "ns1-veth0" }   -- so ns1 asks again, by broadcast
local cap <close> = capture.start(l:node("ns3"), "ns3-veth0", { filter = "arp or icmp" })
l:reachable("ns1", "ns2", { count = 3 })
-- A marker that must arrive on ns3's port: once it is seen, everything
-- ns1 sent ns2 before it would have been seen too.
l:reachable("ns1", "ns3")
cap:wait({ icmp = "echo request", src = "192.0.2.1", dst = "192.0.2.3" })
local pkts = cap:stop()
for _, p in ipairs(pkts) do print("  ns3-veth0: " .. capture.format(p)) end
capture.expect(pkts, { arp = "request", src = "192.0.2.1", dst = "192.0.2.2", dst_mac = "ff:ff:ff:ff:ff:ff" },
  "ns1's ARP broadcast for 192.0.2.2 is flooded to ns3's port too")
capture.expect(pkts, function(p) return p.proto == "icmp" and (p.dst == "192.0.2.2" or p.src == "192.0.2.2") end,
  "ns1 <-> ns2 pings (unicast) never reach ns3's port", { none = true })
capture.expect(pkts, { icmp = "echo request", src = "192.0.2.1", dst = "192.0.2.3", dst_mac = MAC.ns3 },
  "ns1's ping to ns3 does")
