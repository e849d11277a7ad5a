-- mac_rewrite.lua: what a router changes in a packet it forwards, and what it
-- leaves alone.
--
-- What it teaches: ns1 and ns2 sit on two segments joined by `router`.
-- Capturing on both router ports while ns1 pings ns2 shows the same IP
-- source and destination (192.0.2.1 > 198.51.100.1) on both segments, but
-- different MAC addresses per hop: ns1 -> gw-veth0 on the first segment,
-- gw-veth1 -> ns2 on the second. The router also lowers the TTL by one.
-- Stands for the book's:
--   ip netns exec router tcpdump -tnel -i gw-veth0 icmp
--   ip netns exec router tcpdump -tnel -i gw-veth1 icmp
--   ip netns exec ns1 ping -c 3 198.51.100.1
-- Run: nslab examples/mac_rewrite.lua   (needs tcpdump)
local lab = require "netns.lab"
local tools = require "netns.tools"
local capture = require "netns.capture"

tools.need { "tcpdump" }

-- The book's plan (chapter 4, scripts/double-segment.sh): the first digit is
-- the segment, so gw-veth1 -> ns2-veth0 reads :21 > :22, as in its tcpdump.
local MAC = {
  ns1 = "00:00:5e:00:53:11", gw0 = "00:00:5e:00:53:12",
  gw1 = "00:00:5e:00:53:21", ns2 = "00:00:5e:00:53:22",
}

local l <close> = lab.new { name = "mac-rewrite" }
l:host("ns1", { default = "192.0.2.254" })
l:host("ns2", { default = "198.51.100.254" })
l:router("router")
l:link("ns1:ns1-veth0 192.0.2.1/24 mac=" .. MAC.ns1, "router:gw-veth0 192.0.2.254/24 mac=" .. MAC.gw0)
l:link("ns2:ns2-veth0 198.51.100.1/24 mac=" .. MAC.ns2, "router:gw-veth1 198.51.100.254/24 mac=" .. MAC.gw1)
l:up()

l:stage("capture on both router ports while ns1 pings ns2")
local left <close> = capture.start(l:node("router"), "gw-veth0", { filter = "icmp" })
local right <close> = capture.start(l:node("router"), "gw-veth1", { filter = "icmp" })
l:reachable("ns1", "ns2", { ttl = 63, count = 3 })
local want = { proto = "icmp", icmp = "echo request", src = "192.0.2.1", dst = "198.51.100.1" }
left:wait(want, { count = 3 })
right:wait(want, { count = 3 })
local p0, p1 = left:stop(), right:stop()
print("gw-veth0 (192.0.2.0/24):")
for _, p in ipairs(p0) do print("  " .. capture.format(p)) end
print("gw-veth1 (198.51.100.0/24):")
for _, p in ipairs(p1) do print("  " .. capture.format(p)) end

l:stage("the same IP packet, different frames per hop")
capture.expect(p0, { icmp = "echo request", src = "192.0.2.1", dst = "198.51.100.1",
  src_mac = MAC.ns1, dst_mac = MAC.gw0, ttl = 64 },
  "on gw-veth0 the request goes ns1-veth0 -> gw-veth0 (MAC), 192.0.2.1 -> 198.51.100.1 (IP), TTL 64")
capture.expect(p1, { icmp = "echo request", src = "192.0.2.1", dst = "198.51.100.1",
  src_mac = MAC.gw1, dst_mac = MAC.ns2, ttl = 63 },
  "on gw-veth1 the same request goes gw-veth1 -> ns2-veth0 (MAC), same IPs, TTL 63")
capture.expect(p1, { icmp = "echo reply", src = "198.51.100.1", dst = "192.0.2.1",
  src_mac = MAC.ns2, dst_mac = MAC.gw1, ttl = 64 },
  "on gw-veth1 the reply goes ns2-veth0 -> gw-veth1, 198.51.100.1 -> 192.0.2.1")
capture.expect(p0, { icmp = "echo reply", src = "198.51.100.1", dst = "192.0.2.1",
  src_mac = MAC.gw0, dst_mac = MAC.ns1, ttl = 63 },
  "on gw-veth0 the reply goes gw-veth0 -> ns1-veth0, same IPs, TTL 63")
capture.expect(p1, { src_mac = MAC.ns1 }, "ns1's MAC never appears on the far segment", { none = true })
l:expect_neigh("ns1", "192.0.2.254", MAC.gw0)
l:expect_neigh("router", "198.51.100.1", MAC.ns2)
