-- nat.lua: network address translation on a router, with the book's iptables rules.
--
-- What it teaches: `lan` (192.0.2.1, a private network) reaches the outside
-- world `wan` (203.0.113.1) through `router` (192.0.2.254 / 203.0.113.254).
--   1. without NAT, wan sees lan's pings come from 192.0.2.1: a private
--      address, to which, on the Internet, no route leads back (here wan's
--      default route, as in the book, happens to go to the router that
--      knows the lan, so the pings are answered);
--   2. with source NAT (masquerade) on the router's wan port, wan sees them
--      from 203.0.113.254 and answers it; the router translates the replies
--      back, and 192.0.2.1 never appears on the wan side;
--   3. the outside knows lan only by the router's address: wan's connection
--      to 203.0.113.254:54321 is refused by the router itself, until
--      destination NAT of that port to 192.0.2.1 takes it to a server in
--      lan; checked with nc (the data arrives) and in-process
--      (l:reachable{tcp=} through 203.0.113.254).
-- Stands for the book's (scripts/nat.sh and chapter 7):
--   ip netns exec wan ip route add default via 203.0.113.254
--   ip netns exec router iptables -t nat -A POSTROUTING -s 192.0.2.0/24 -o gw-veth1 -j MASQUERADE
--   ip netns exec wan tcpdump -tnl -i wan-veth0 icmp
--   ip netns exec router iptables -t nat -A PREROUTING -p tcp --dport 54321 -d 203.0.113.254 \
--       -j DNAT --to-destination 192.0.2.1
--   ip netns exec router iptables -t nat -L
--   ip netns exec lan nc -l 54321;  ip netns exec wan nc 203.0.113.254 54321
-- The rules are the book's, run with iptables itself. On Debian iptables is
-- iptables-nft: the rules live in the nftables table `ip nat` (chains
-- POSTROUTING and PREROUTING), so `nft list ruleset` shows them too, and the
-- book's own iptables commands on a lab kept with --keep add to those chains.
-- Run: nslab examples/nat.lua   (needs iptables, nc from netcat-openbsd, tcpdump)
local lab = require "netns.lab"
local tools = require "netns.tools"
local capture = require "netns.capture"

local bin = tools.need { "iptables", "nc", "tcpdump", "ss" }
local PORT = 54321

-- The MAC plan of the book's chapter 4 (first digit the segment): lan :11,
-- gw-veth0 :12, gw-veth1 :21, wan :22.
local l <close> = lab.new { name = "nat" }
l:host("lan", { default = "192.0.2.254" })
l:host("wan", { default = "203.0.113.254" })
l:router("router")
l:link("lan:lan-veth0 192.0.2.1/24 mac=00:00:5e:00:53:11", "router:gw-veth0 192.0.2.254/24 mac=00:00:5e:00:53:12")
l:link("wan:wan-veth0 203.0.113.1/24 mac=00:00:5e:00:53:22", "router:gw-veth1 203.0.113.254/24 mac=00:00:5e:00:53:21")
l:up()
local lan, wan, router = l:node("lan"), l:node("wan"), l:node("router")

-- iptables -t nat ... in the router, as the book runs it.
local function nat(...)
  local r = router:exec({ bin.iptables, "-t", "nat", ... }, { timeout = 10 })
  if r.code ~= 0 then error("iptables -t nat in router: " .. r.stderr, 2) end
  return r.stdout
end
local function show(pkts, where)
  for _, p in ipairs(pkts) do print(("  %s: %s"):format(where, capture.format(p))) end
end

l:stage("1. no NAT: wan sees the private address")
local cap = capture.start(wan, "wan-veth0", { filter = "icmp" })
l:reachable("lan", "wan", { ttl = 63 })
capture.expect(cap, { icmp = "echo request", src = "192.0.2.1", dst = "203.0.113.1" },
  "wan receives lan's ping from 192.0.2.1, a private address")
capture.expect(cap, { icmp = "echo reply", src = "203.0.113.1", dst = "192.0.2.1" },
  "and answers 192.0.2.1 (its default route leads to the router, which knows the lan)")
show(cap:stop(), "wan-veth0")

l:stage("2. source NAT: masquerade on gw-veth1")
nat("-A", "POSTROUTING", "-s", "192.0.2.0/24", "-o", "gw-veth1", "-j", "MASQUERADE")
cap = capture.start(wan, "wan-veth0", { filter = "icmp" })
l:reachable("lan", "wan", { ttl = 63, count = 2 })
capture.expect(cap, { icmp = "echo request", src = "203.0.113.254", dst = "203.0.113.1" },
  "wan now sees lan's ping from 203.0.113.254")
capture.expect(cap, { icmp = "echo reply", src = "203.0.113.1", dst = "203.0.113.254" },
  "and answers 203.0.113.254")
local pkts = cap:stop()
capture.expect(pkts, { src = "192.0.2.1" }, "192.0.2.1 never appears on the wan side", { none = true })
show(pkts, "wan-veth0")

l:stage("3. destination NAT: TCP 54321 on 203.0.113.254 to lan")
local function connect(payload)
  return wan:exec({ bin.nc, "-N", "-w", "3", "203.0.113.254", tostring(PORT) }, { stdin = payload, timeout = 10 })
end
local server = lan:spawn({ bin.nc, "-l", tostring(PORT) })
assert(tools.wait_port(lan, PORT, { process = server, name = "nc -l in lan" }))
local r = connect("too early\n")
tools.expect("before DNAT, wan's connection to 203.0.113.254:54321 is refused (the router itself)", r.code ~= 0,
  "nc exits 1", ("exit %s %s"):format(tostring(r.code), r.stderr:gsub("%s+$", "")))
-- nc's exit status cannot say why; the check can: a RST, from the router.
l:unreachable("wan", "203.0.113.254", { tcp = PORT, how = "refused", from = "router" })
nat("-A", "PREROUTING", "-p", "tcp", "--dport", tostring(PORT), "-d", "203.0.113.254",
  "-j", "DNAT", "--to-destination", "192.0.2.1")
-- The book's -L looks the addresses up by name; the router has no route to
-- a name server outside the lab, so the lookups fail at once.
io.write("iptables -t nat -L in router:\n", nat("-L"))
cap = capture.start(lan, "lan-veth0", { filter = "tcp port " .. PORT })
local msg = "hello through DNAT\n"
r = connect(msg)
tools.expect("wan's nc to 203.0.113.254:54321 exits 0", r.code == 0, "exit 0",
  ("exit %s %s"):format(tostring(r.code), r.stderr:gsub("%s+$", "")))
local done = server:wait(5)
tools.expect("the payload arrives at the server in lan", done and done.stdout == msg, ("%q"):format(msg),
  done and ("%q"):format(done.stdout) or "server still waiting")
capture.expect(cap, { flags = "S", src = "203.0.113.1", dst = "192.0.2.1", dport = PORT },
  "in lan the SYN arrives for 192.0.2.1:54321 (destination rewritten), from 203.0.113.1")
show(cap:stop(), "lan-veth0")
server:close()

-- With an in-process server in lan: the port is reachable through the
-- router's address.
local svc <close> = l:listen("lan", { proto = "tcp", port = PORT })
l:reachable("wan", "203.0.113.254", { tcp = PORT })
