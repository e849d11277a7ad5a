-- one_segment.lua: two hosts on one Ethernet segment, and ARP.
--
-- What it teaches: ns1 (192.0.2.1/24) and ns2 (192.0.2.2/24) joined by a
-- veth pair reach each other directly: replies come back with TTL 64 (no
-- router on the way). To send the first packet, ns1 asks "who has
-- 192.0.2.2?" as a broadcast and ns2 answers with its MAC; ns1 keeps the
-- answer in its neighbour table. Flush the table and ping again: the entry
-- comes back, with ns2's MAC 00:00:5e:00:53:02.
-- Stands for the book's:
--   ip netns add ns1; ip netns add ns2
--   ip link add ns1-veth0 type veth peer name ns2-veth0
--   ip link set ns1-veth0 netns ns1; ip link set ns2-veth0 netns ns2
--   ip netns exec ns1 ip link set ns1-veth0 address 00:00:5e:00:53:01
--   ip netns exec ns1 ip address add 192.0.2.1/24 dev ns1-veth0 (and ns2)
--   ip netns exec ns1 ping -c 3 192.0.2.2
--   ip netns exec ns1 ip neigh flush all; ip netns exec ns1 ip neigh
--   ip netns exec ns1 tcpdump -tnel -i ns1-veth0 arp
-- Run: nslab examples/one_segment.lua   (the ARP capture needs tcpdump)
local lab = require "netns.lab"
local tools = require "netns.tools"
local capture = require "netns.capture"

tools.need { "tcpdump" }

local l <close> = lab.new { name = "one-segment" }
l:host("ns1")
l:host("ns2")
l:link("ns1:ns1-veth0 192.0.2.1/24 mac=00:00:5e:00:53:01", "ns2:ns2-veth0 192.0.2.2/24 mac=00:00:5e:00:53:02")
l:up()

l:stage("the segment")
l:expect_link_up("ns1", "ns1-veth0")
l:expect_addr("ns1", "ns1-veth0", "192.0.2.1/24")
l:expect_route("ns1", "192.0.2.0/24", { dev = "ns1-veth0" })
l:reachable("ns1", "ns2", { ttl = 64, count = 3 })
l:reachable("ns2", "ns1", { ttl = 64 })
l:expect_neigh("ns1", "192.0.2.2", "00:00:5e:00:53:02")

l:stage("flush the neighbour table, ping again")
local ns1 = l:node("ns1")
ns1:neigh_flush { dev = "ns1-veth0" }
local left = {}
for _, n in ipairs(ns1:neighs { dev = "ns1-veth0", family = "inet" }) do
  if n.address == "192.0.2.2" and n.state ~= "FAILED" and n.state ~= "INCOMPLETE" then left[#left + 1] = n.state end
end
tools.expect("ns1 has no entry for 192.0.2.2 after the flush", #left == 0, "no entry",
  #left == 0 and "no entry" or table.concat(left, ", "))
local cap <close> = capture.start(ns1, "ns1-veth0", { filter = "arp or icmp" })
l:reachable("ns1", "ns2", { ttl = 64 })
capture.expect(cap, { arp = "request", src = "192.0.2.1", dst = "192.0.2.2",
  src_mac = "00:00:5e:00:53:01", dst_mac = "ff:ff:ff:ff:ff:ff" },
  "ns1 broadcasts an ARP request: who-has 192.0.2.2 tell 192.0.2.1")
capture.expect(cap, { arp = "reply", src = "192.0.2.2", is_at = "00:00:5e:00:53:02",
  dst_mac = "00:00:5e:00:53:01" },
  "ns2 answers ns1 alone: 192.0.2.2 is-at 00:00:5e:00:53:02")
for _, p in ipairs(cap:stop()) do print("  ns1-veth0: " .. capture.format(p)) end
l:expect_neigh("ns1", "192.0.2.2", "00:00:5e:00:53:02")
l:expect_neigh("ns2", "192.0.2.1", "00:00:5e:00:53:01")
