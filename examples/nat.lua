-- nat.lua: network address translation on a router, with nftables.
--
-- What it teaches: `lan` (192.0.2.1, a private network) reaches the outside
-- world `wan` (203.0.113.1) through `router` (192.0.2.254 / 203.0.113.254).
-- wan has no route back to 192.0.2.0/24, as the Internet has none to private
-- networks, so:
--   1. without NAT, lan's pings arrive at wan from 192.0.2.1 and go unanswered;
--   2. with source NAT (masquerade) on the router's wan port, wan sees them
--      from 203.0.113.254 and answers; the router translates the replies back;
--   3. from wan, nothing in lan is reachable; destination NAT of TCP port
--      54321 on 203.0.113.254 to 192.0.2.1 lets a client in wan reach a
--      server in lan; checked with nc (the data arrives) and in-process
--      (l:reachable{tcp=} through 203.0.113.254, lan's own address unroutable).
-- Stands for the book's (there with iptables; here nftables):
--   ip netns exec router iptables -t nat -A POSTROUTING -s 192.0.2.0/24 -o gw-veth1 -j MASQUERADE
--   ip netns exec wan tcpdump -tnl -i wan-veth0 icmp
--   ip netns exec router iptables -t nat -A PREROUTING -p tcp --dport 54321 -d 203.0.113.254 \
--       -j DNAT --to-destination 192.0.2.1
--   ip netns exec lan nc -l 54321;  ip netns exec wan nc 203.0.113.254 54321
-- Run: nslab examples/nat.lua   (needs nft, nc from netcat-openbsd, tcpdump)
local lab = require "netns.lab"
local tools = require "netns.tools"
local capture = require "netns.capture"

local bin = tools.need { "nft", "nc", "tcpdump", "ss" }
local PORT = 54321

local l <close> = lab.new { name = "nat" }
l:host("lan", { default = "192.0.2.254" })
l:host("wan")   -- no route to 192.0.2.0/24: private addresses are not routed outside
l:router("router")
l:link("lan:lan-veth0 192.0.2.1/24 mac=00:00:5e:00:53:01", "router:gw-veth0 192.0.2.254/24 mac=00:00:5e:00:53:12")
l:link("wan:wan-veth0 203.0.113.1/24 mac=00:00:5e:00:53:02", "router:gw-veth1 203.0.113.254/24 mac=00:00:5e:00:53:22")
l:up()
local lan, wan, router = l:node("lan"), l:node("wan"), l:node("router")

local function nft(rules)
  local r = router:exec({ bin.nft, "-f", "-" }, { stdin = rules, timeout = 10 })
  if r.code ~= 0 then error("nft -f - in router: " .. r.stderr, 2) end
end
local function show(pkts, where)
  for _, p in ipairs(pkts) do print(("  %s: %s"):format(where, capture.format(p))) end
end

l:stage("1. no NAT: wan cannot answer a private address")
local cap = capture.start(wan, "wan-veth0", { filter = "icmp" })
l:unreachable("lan", "wan", { how = "timeout", timeout = 1 })
capture.expect(cap, { icmp = "echo request", src = "192.0.2.1", dst = "203.0.113.1" },
  "wan receives lan's ping from 192.0.2.1")
capture.expect(cap, { icmp = "echo reply" }, "and sends no reply (no route to 192.0.2.0/24)", { none = true })
show(cap:stop(), "wan-veth0")

l:stage("2. source NAT: masquerade on gw-veth1")
nft(([[
table ip nat {
  chain postrouting {
    type nat hook postrouting priority srcnat; policy accept;
    oifname "gw-veth1" ip saddr 192.0.2.0/24 masquerade
  }
}
]]))
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
nft(([[
table ip nat {
  chain prerouting {
    type nat hook prerouting priority dstnat; policy accept;
    iifname "gw-veth1" ip daddr 203.0.113.254 tcp dport %d dnat to 192.0.2.1
  }
}
]]):format(PORT))
local rules = router:exec({ bin.nft, "list", "ruleset" }, { timeout = 10 }).stdout
io.write("router's nftables ruleset:\n", rules)
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

-- With an in-process server in lan: the port is reachable only through the
-- router's address; lan's own address is not routed from wan at all.
local svc <close> = l:listen("lan", { proto = "tcp", port = PORT })
l:reachable("wan", "203.0.113.254", { tcp = PORT })
l:unreachable("wan", "lan", { tcp = PORT, how = "network unreachable" })
