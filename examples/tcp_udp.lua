-- tcp_udp.lua: the transport layer, TCP and UDP, with nc.
--
-- What it teaches: on one segment (ns1 192.0.2.1, ns2 192.0.2.2), a client
-- in ns1 sends a line to port 54321 in ns2.
--   - Nobody listening: TCP's connection attempt is refused (ns2 answers
--     the SYN with a RST).
--   - With `nc -l 54321` in ns2, the payload arrives, and a capture shows
--     TCP's three-way handshake (SYN, SYN-ACK, ACK) before the data and the
--     FINs after it.
--   - UDP sends the datagram straight away: no handshake, no connection;
--     with nobody listening, ns2 answers with ICMP port unreachable.
--   - The same checked in-process, without nc: l:unreachable{tcp=, how="refused"},
--     and in-process listeners answering l:reachable{tcp=} and {udp=, reply=}.
-- Stands for the book's:
--   ip netns exec ns2 nc -l 54321
--   ip netns exec ns1 nc 192.0.2.2 54321      (type a line)
--   ip netns exec ns2 nc -u -l 54321
--   ip netns exec ns1 nc -u 192.0.2.2 54321
--   ip netns exec ns2 tcpdump -tnl -i ns2-veth0 port 54321
-- Run: nslab examples/tcp_udp.lua   (needs nc from netcat-openbsd, tcpdump)
local lab = require "netns.lab"
local tools = require "netns.tools"
local capture = require "netns.capture"

local bin = tools.need { "nc", "tcpdump", "ss" }
local PORT = 54321

local l <close> = lab.new { name = "tcp-udp" }
l:host("ns1")
l:host("ns2")
l:link("ns1:ns1-veth0 192.0.2.1/24 mac=00:00:5e:00:53:01", "ns2:ns2-veth0 192.0.2.2/24 mac=00:00:5e:00:53:02")
l:up()
local ns1, ns2 = l:node("ns1"), l:node("ns2")
l:reachable("ns1", "ns2", { ttl = 64 })

local function show(pkts, where)
  for _, p in ipairs(pkts) do print(("  %s: %s"):format(where, capture.format(p))) end
end

l:stage("TCP: nobody listens on 54321")
local cap = capture.start(ns2, "ns2-veth0", { filter = "tcp port " .. PORT })
local r = ns1:exec({ bin.nc, "-z", "-w", "2", "192.0.2.2", tostring(PORT) }, { timeout = 10 })
tools.expect("nc -z 192.0.2.2 54321 fails (connection refused)", r.code ~= 0, "exit status 1",
  ("exit status %s %s"):format(tostring(r.code), (r.stderr or ""):gsub("%s+$", "")))
capture.expect(cap, { flags = "S", src = "192.0.2.1", dport = PORT }, "ns1 sends a SYN")
capture.expect(cap, { flags = "R.", src = "192.0.2.2", sport = PORT }, "ns2 answers with a RST: port closed")
show(cap:stop(), "ns2-veth0")
-- The same as a check, in-process: the connection is refused (a RST), not lost.
l:unreachable("ns1", "ns2", { tcp = PORT, how = "refused" })

l:stage("TCP: a server in ns2")
local server = ns2:spawn({ bin.nc, "-l", tostring(PORT) })
assert(tools.wait_port(ns2, PORT, { process = server, name = "nc -l" }))
cap = capture.start(ns2, "ns2-veth0", { filter = "tcp port " .. PORT })
local msg = "hello over TCP\n"
r = ns1:exec({ bin.nc, "-N", "-w", "5", "192.0.2.2", tostring(PORT) }, { stdin = msg, timeout = 10 })
tools.expect("the client's nc exits 0", r.code == 0, "exit status 0",
  ("exit status %s %s"):format(tostring(r.code), (r.stderr or ""):gsub("%s+$", "")))
local done = server:wait(5)
tools.expect("the payload arrives in ns2", done and done.stdout == msg, ("%q"):format(msg),
  done and ("%q"):format(done.stdout) or "server still running")
cap:wait({ flags = "F." }, { count = 2 })   -- both FINs: the whole exchange is in
local hs = capture.filter(cap:packets(), { proto = "tcp" })
-- The third segment is the client's ACK, and its data right after. The two
-- can pass each other: the kernel sends the ACK from the CPU that got the
-- SYN-ACK and nc's data from the CPU nc runs on, and a veth delivers each
-- CPU's packets through that CPU's own queue (seen in a 2-CPU guest: [P.],
-- then the ACK).
local function is(p, flags, src) return p ~= nil and p.flags == flags and p.src == src end
local ok = is(hs[1], "S", "192.0.2.1") and is(hs[2], "S.", "192.0.2.2")
  and (is(hs[3], ".", "192.0.2.1") or is(hs[3], "P.", "192.0.2.1"))
local got = {}
for i = 1, 3 do got[i] = hs[i] and ("[%s] from %s"):format(hs[i].flags, hs[i].src) or "-" end
tools.expect("the capture starts with the three-way handshake", ok,
  "[S] from 192.0.2.1, [S.] from 192.0.2.2, [.] (or the data, [P.]) from 192.0.2.1", table.concat(got, ", "))
capture.expect(hs, { flags = "P.", src = "192.0.2.1", payload = #msg }, ("then the data (%d bytes)"):format(#msg))
capture.expect(hs, { flags = "F.", src = "192.0.2.1" }, "and FINs close it: ns1's")
capture.expect(hs, { flags = "F.", src = "192.0.2.2" }, "and ns2's")
show(cap:stop(), "ns2-veth0")
server:close()

l:stage("UDP: a datagram, no handshake")
-- Nobody listens yet: ns2's kernel answers with ICMP port unreachable.
l:unreachable("ns1", "ns2", { udp = PORT, how = "refused", from = "ns2" })
server = ns2:spawn({ bin.nc, "-u", "-l", tostring(PORT) })
assert(tools.wait_port(ns2, PORT, { proto = "udp", process = server, name = "nc -u -l" }))
cap = capture.start(ns2, "ns2-veth0", { filter = "port " .. PORT })
msg = "hello over UDP\n"
r = ns1:exec({ bin.nc, "-u", "-w", "1", "192.0.2.2", tostring(PORT) }, { stdin = msg, timeout = 10 })
local got_text = ""
tools.wait(function()
  got_text = got_text .. (server:read() or "")
  return got_text == msg
end, 5)
tools.expect("the datagram's payload arrives in ns2", got_text == msg, ("%q"):format(msg), ("%q"):format(got_text))
capture.expect(cap, { proto = "udp", src = "192.0.2.1", dport = PORT, payload = #msg },
  ("one UDP datagram of %d bytes"):format(#msg))
local pkts = cap:stop()
capture.expect(pkts, { proto = "tcp" }, "no handshake: not a single TCP segment", { none = true })
show(pkts, "ns2-veth0")
server:close()

l:stage("the same without nc: in-process servers in ns2")
local echo <close> = l:listen("ns2", { proto = "tcp", port = PORT })
local answer <close> = l:listen("ns2", { proto = "udp", port = PORT, reply = "pong\n" })
l:reachable("ns1", "ns2", { tcp = PORT })
l:reachable("ns1", "ns2", { udp = PORT, payload = "ping\n", reply = "pong\n" })
