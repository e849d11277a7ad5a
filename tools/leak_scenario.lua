-- A scenario that exercises every area (labs up and down three times, a
-- router, a switch, checks, a ping matrix, spawn, exec, impairments and
-- qdiscs, a cable cut, port probes, listeners, a throughput test, a
-- traceroute and a path MTU, typed IPv6 route deletes, a link-local ping
-- without dev) for tools/leak-check.
local lab = require "netns.lab"
for i = 1, 3 do
  local l <close> = lab.new { name = "vg" }
  l:host("ns1"); l:host("ns2"); l:router("router")
  l:switch("sw")
  l:host("ns3")
  l:link("ns1 192.0.2.1/24", "router 192.0.2.254/24")
  l:link("ns2 198.51.100.1/24", "router 198.51.100.254/24")
  l:link("ns3 203.0.113.1/24", "sw", { rate = "10mbit" })
  l:link("router 203.0.113.254/24", "sw")
  l:default("ns1", "router"); l:default("ns2", "router"); l:default("ns3", "router")
  l:up()
  l:reachable("ns1", "ns2", { ttl = 63 })
  l:reachable("ns3", "ns1")
  l:ping_all()
  local web = l:listen("ns2", { proto = "tcp", port = 80, reply = "hi" })
  -- Left to the lab's teardown, but held: a listener nobody references is
  -- the collector's to close (its __gc), at whatever allocation comes next.
  local dns = l:listen("ns2", { proto = "udp", port = 53 })
  l:reachable("ns1", "ns2", { tcp = 80 })
  l:reachable("ns1", "ns2", { udp = 53 })
  l:unreachable("ns1", "ns2", { tcp = 81, how = "refused" })
  l:port_matrix { from = { "ns1" }, to = { "ns2", "ns3" }, tcp = { 80, 81 }, out = false,
                  expect = { ns1 = { ns2 = { ["tcp/81"] = "refused" }, ns3 = false } } }
  web:close()
  l:throughput("ns1", "ns2", { bytes = 1000000 })
  l:path("ns1", "ns2", { "router" })
  l:path_mtu("ns1", "ns2", 1500)
  local p = l.nodes.ns2:spawn({ "sleep", "30" })
  l.nodes.ns1:exec({ "ip", "addr" })
  l:impair("ns1", "router", { rate = "1mbit", b = { rate = "2mbit" } })
  l.nodes.ns1:qdiscs()
  l.nodes.ns1:qdisc_get("ns1-eth0")
  pcall(l.impair, l, "ns2", "router", { delay = "1ms" })   -- where the kernel has no netem: the error path
  l:impair("ns1", "router", false)
  l:link_down("ns3", "sw")
  l:link_up("ns3", "sw")
  -- an IPv6 delete by type finds its route in a dump first (and ESRCH)
  local r = l.nodes.router
  r:route_add{ dst = "default", family = "inet6", type = "unreachable", metric = 5000 }
  pcall(r.route_del, r, { dst = "default", family = "inet6", type = "blackhole" })
  r:route_del{ dst = "default", family = "inet6", type = "unreachable" }
  l.nodes.ns1:ping("fe80::1", { timeout = 0.1 })   -- link-local without dev: EINVAL
end
