-- firewall.lua: a firewall in a router, with nftables: accept, drop and
-- reject, per port and protocol, over IPv4 and IPv6, each asserted.
--
-- What it teaches: `wan` (203.0.113.1, 2001:db8:113::1) reaches `lan`
-- (192.0.2.1, 2001:db8:2::1) through `router`, whose forward chain decides:
--   TCP 80     accept   (a server in lan answers: connected)
--   TCP 22     drop     (nothing comes back: the client times out)
--   TCP 23     reject with tcp reset       (refused at once, by the router)
--   TCP 25     reject with icmpx admin-prohibited  (an ICMP error names the router)
--   TCP 54321  accept, but nobody listens in lan (refused by lan itself: a RST)
--   UDP 53     accept   (a server in lan answers the datagram)
--   UDP 161    drop     (no answer)
--   UDP 514    reject with icmpx port-unreachable (refused)
--   ICMP       accept
-- A drop and a reject look alike to someone who only asks "did it connect?";
-- the checks tell them apart, as `nc -z -w1` cannot (it exits 1 for all three).
-- Stands for:
--   ip netns exec router nft -f firewall.nft
--   ip netns exec lan nc -lk 80 &
--   ip netns exec wan nc -z -w1 192.0.2.1 80; echo $?
--   ip netns exec wan nc -u -w1 192.0.2.1 53
-- Run: nslab examples/firewall.lua   (needs nft)
local lab = require "netns.lab"
local tools = require "netns.tools"

local bin = tools.need { "nft" }

local l <close> = lab.new { name = "firewall" }
l:host("lan", { default = "router" })
l:host("wan", { default = "router" })
l:router("router")
l:link("lan:lan-veth0 192.0.2.1/24 2001:db8:2::1/64", "router:gw-veth0 192.0.2.254/24 2001:db8:2::254/64")
l:link("wan:wan-veth0 203.0.113.1/24 2001:db8:113::1/64",
  "router:gw-veth1 203.0.113.254/24 2001:db8:113::254/64")
l:up()

-- The services in lan: in-process listeners (no nc, no python).
local web <close> = l:listen("lan", { proto = "tcp", port = 80, reply = "HTTP/1.0 200 OK\r\n\r\nhello\n" })
local dns <close> = l:listen("lan", { proto = "udp", port = 53, reply = "answer\n" })
local snmp <close> = l:listen("lan", { proto = "udp", port = 161 })
local syslog <close> = l:listen("lan", { proto = "udp", port = 514 })

l:stage("1. no firewall: every open port answers")
l:port_matrix { from = { "wan" }, to = { "lan" }, tcp = { 22, 80 }, udp = { 53, 161 },
  expect = { ["tcp/22"] = "refused" } }   -- nothing listens on 22: lan's own RST

l:stage("2. the router filters what it forwards")
local r = l:node("router"):exec({ bin.nft, "-f", "-" }, { timeout = 10, stdin = [[
table inet filter {
  chain forward {
    type filter hook forward priority filter; policy accept;
    ct state established,related accept
    tcp dport 22 drop
    tcp dport 23 reject with tcp reset
    tcp dport 25 reject with icmpx type admin-prohibited
    udp dport 161 drop
    udp dport 514 reject with icmpx type port-unreachable
  }
}
]] })
if r.code ~= 0 then error("nft -f - in router: " .. r.stderr) end

for _, family in ipairs { "inet", "inet6" } do
  l:reachable("wan", "lan", { family = family, tcp = 80 })
  l:unreachable("wan", "lan", { family = family, tcp = 22, how = "timeout" })
  l:unreachable("wan", "lan", { family = family, tcp = 23, how = "refused" })
  l:unreachable("wan", "lan", { family = family, tcp = 25, how = "prohibited", from = "router" })
  l:unreachable("wan", "lan", { family = family, tcp = 54321, how = "refused" })
  l:reachable("wan", "lan", { family = family, udp = 53, reply = "answer\n" })
  l:unreachable("wan", "lan", { family = family, udp = 161, how = "timeout" })
  l:unreachable("wan", "lan", { family = family, udp = 514, how = "refused", from = "router" })
  l:reachable("wan", "lan", { family = family, hops = 1 })
end

l:stage("3. the whole picture, all at once")
l:port_matrix { from = { "wan" }, to = { "lan" }, tcp = { 22, 23, 25, 80 }, udp = { 53, 161, 514 },
  expect = { ["tcp/22"] = "timeout", ["tcp/23"] = "refused", ["tcp/25"] = "prohibited",
             ["udp/161"] = "timeout", ["udp/514"] = "refused" } }
local seen = snmp:stats().datagrams
tools.expect("the dropped datagrams never reached lan's UDP 161 (only stage 1's did)", seen == 1,
  "1 datagram", ("%d datagrams"):format(seen))
