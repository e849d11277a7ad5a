-- impaired_link.lua: what a bad link does to ping and to TCP.
--
-- What it teaches: a client and a server on one veth link.
--   - A perfect link: ping's round trip is a fraction of a millisecond.
--   - 20 ms of delay each way (netem): the RTT becomes 40 ms; every packet
--     waits, none is ever early.
--   - 10% loss on the client's side: about one echo request in ten is lost.
--   - A rate limit of 1 Mbit/s (tbf): TCP moves 250 kB in about 2 s instead
--     of in a blink, because the queue drains no faster than the rate.
--   - A cut cable (both ends down): nothing gets through; restored, it does.
--   - No impairment again: the link is perfect once more.
-- Delay and loss need the kernel's netem qdisc (sch_netem; Debian's kernel has
-- it as a module, run the example in `tools/vm-run` to see them). On a kernel
-- without it, those stages are skipped, saying why, and the rate limit and
-- cable stages still run: a rate alone is a tbf, which every kernel has.
-- Stands for:
--   tc -n client qdisc replace dev client-eth0 root netem delay 20ms
--   tc -n client qdisc replace dev client-eth0 root netem loss 10%
--   tc -n client qdisc replace dev client-eth0 root tbf rate 1mbit burst 1514 limit 14014
--   ip -n client link set dev client-eth0 down   (and server-eth0)
--   tc -n client qdisc del dev client-eth0 root
--   iperf3 -s -1 (in server) and iperf3 -c 10.0.0.2 -n 250000 (in client): the transfers,
--   made in-process by l:throughput
-- Run: nslab examples/impaired_link.lua
local lab = require "netns.lab"

local BYTES = 250000 -- through the 1 Mbit/s limit: 2 s

local l <close> = lab.new { name = "impaired-link" }
l:host("client")
l:host("server")
l:link("client 10.0.0.1/24", "server 10.0.0.2/24")
l:up()

l:stage("a perfect link")
-- A fraction of a millisecond each here; 15 ms on average still tells it from
-- the 40 ms below, and leaves room for an emulated machine, where one echo in
-- five can take 20 ms (the stock-kernel guest saw 23 ms: an average of 5.2).
l:reachable("client", "server", { count = 5, interval = 0.05, timeout = 3, rtt = { max = 15 }, loss = { max = 0 } })

-- The delay stages run where the kernel has netem; elsewhere they say why.
local ok, err = pcall(l.impair, l, "client", "server", { delay = "20ms" })
if ok then
  l:stage("20 ms of delay each way")
  -- netem never delivers early: 40 ms is a floor; 15 ms above it leaves room
  -- for a slow (emulated) machine's scheduling.
  l:reachable("client", "server", { count = 10, interval = 0.05, rtt = { min = 39.9, max = 55 } })

  l:stage("10% loss on the client's side")
  -- Only the echo requests are lost (the server's side is perfect): 300 pings
  -- lose 30 on average, with a standard deviation of 5.2; 3 to 17 % is more
  -- than five of them either side.
  l:impair("client", "server", { a = { loss = "10%" } })
  l:reachable("client", "server", { count = 300, interval = 0.002, timeout = 2, loss = { min = 3, max = 17 } })
elseif type(err) == "table" and err.code == "EOPNOTSUPP" then
  print(("SKIP the delay and loss stages: %s\n     (the rate limit and cable stages follow: a rate alone is a tbf)")
    :format(err.message))
else
  error(err, 0)
end

l:stage("a rate limit of 1 Mbit/s")
-- First the perfect link again (the loss stage left the client's side lossy).
-- The transfer is timed from its first block to its last (no process to
-- start), so the bar holds under software emulation too.
l:impair("client", "server", false)
l:throughput("client", "server", { bytes = BYTES, min = "4mbit",
  name = "on the perfect link, TCP moves 250 kB at more than 4 Mbit/s" })
l:impair("client", "server", { rate = "1mbit" })
l:throughput("client", "server", { bytes = BYTES, min = "700kbit", max = "1.05mbit",
  name = "at 1mbit, TCP gets close to 1 Mbit/s and no more" })

l:stage("a cut cable, then restored")
l:link_down("client", "server")
l:unreachable("client", "server", { timeout = 1 })
l:link_up("client", "server")
l:reachable("client", "server", { timeout = 3 })

l:stage("no impairment: perfect again")
l:impair("client", "server", false)
l:reachable("client", "server", { count = 5, interval = 0.05, rtt = { max = 15 }, loss = { max = 0 } })
