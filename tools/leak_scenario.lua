-- A scenario that exercises every area (labs up and down three times, a
-- router, a switch, checks, a ping matrix, spawn, exec) for tools/leak-check.
local lab = require "netns.lab"
for i = 1, 3 do
  local l <close> = lab.new { name = "vg" }
  l:host("ns1"); l:host("ns2"); l:router("router")
  l:switch("sw")
  l:host("ns3")
  l:link("ns1 192.0.2.1/24", "router 192.0.2.254/24")
  l:link("ns2 198.51.100.1/24", "router 198.51.100.254/24")
  l:link("ns3 203.0.113.1/24", "sw")
  l:link("router 203.0.113.254/24", "sw")
  l:default("ns1", "router"); l:default("ns2", "router"); l:default("ns3", "router")
  l:up()
  l:reachable("ns1", "ns2", { ttl = 63 })
  l:reachable("ns3", "ns1")
  l:ping_all()
  local p = l.nodes.ns2:spawn({ "sleep", "30" })
  l.nodes.ns1:exec({ "ip", "addr" })
end
