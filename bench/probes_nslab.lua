-- bench/probes_nslab.lua PREFIX [ports|throughput]: the checks beyond ping
-- against the tools people use for them, side by side in one run. Prints
-- one "key=value ..." line per measurement for bench/run.lua.
--
-- ports: two namespaces on a veth, in-process listeners on 10 of 1000 TCP
-- ports of B (the rest closed: a RST at once; a dropped port would cost nc
-- its whole -w 1 each). nslab: one netns.probe_many over the 1000 ports;
-- nc: `ip netns exec A nc -z -w1 B PORT` for each, in one shell loop. Both
-- count the open ports they found; runs interleaved, BENCH_PORT_REPS times.
--
-- throughput: a veth as it is, then with tbf on A's end at two rates. Per
-- link, interleaved BENCH_TPUT_REPS times: A:throughput(B, ...) for
-- BENCH_TPUT_SECONDS, and `iperf3 -c` (server in B, -J) for as long.
-- Reported: the receiver's rate, retransmissions, and CPU: ours is the
-- process's CPU time (both threads) over the transfer; iperf3's is its own
-- host_total + remote_total (client and server processes).
local netns = require "netns"
local tools = require "netns.tools"

local prefix, what = arg[1], arg[2]
assert(prefix and (what == "ports" or what == "throughput"), "usage: probes_nslab.lua PREFIX ports|throughput")
local env = os.getenv

local function sh(cmd)
  local p = assert(io.popen(cmd))
  local s = p:read("a")
  local ok = p:close()
  return s, ok
end

local A, B = netns.create(prefix .. "pa"), netns.create(prefix .. "pb")
local function cleanup()
  netns.kill_all({ A, B })
  pcall(netns.delete, prefix .. "pa")
  pcall(netns.delete, prefix .. "pb")
end

local function setup()
  A:link_add { name = "v0", kind = "veth", peer = { name = "v0", ns = B } }
  A:addr_add("v0", "10.9.0.1/24")
  B:addr_add("v0", "10.9.0.2/24")
  for _, ns in ipairs{ A, B } do
    ns:link_set("v0", { up = true })
    ns:link_set("lo", { up = true })
  end
  assert(A:ping("10.9.0.2", { timeout = 3 }).ok, "no ping")
end

local function median(t)
  table.sort(t)
  return t[(#t + 1) // 2]
end

local function ports()
  local reps = tonumber(env("BENCH_PORT_REPS") or 3)
  local ls = {}
  for p = 1001, 1991, 110 do ls[#ls + 1] = B:listen{ proto = "tcp", port = p } end
  local list = {}
  for p = 1001, 2000 do list[#list + 1] = { A, "tcp", "10.9.0.2", p } end
  local script = os.tmpname()
  local f = assert(io.open(script, "w"))
  f:write(("n=0; for p in $(seq 1001 2000); do ip netns exec %s nc -z -w1 10.9.0.2 $p 2>/dev/null && n=$((n+1)); done; echo $n\n")
    :format(prefix .. "pa"))
  f:close()
  local tn, tc, on, oc = {}, {}, 0, 0
  for _ = 1, reps do
    local t0 = netns.now()
    local res = netns.probe_many(list, { timeout = 1 })
    tn[#tn + 1] = netns.now() - t0
    on = 0
    for _, r in ipairs(res) do if r.ok then on = on + 1 end end
    t0 = netns.now()
    local out = sh("sh " .. script)
    tc[#tc + 1] = netns.now() - t0
    oc = tonumber(out:match("%d+")) or -1
  end
  os.remove(script)
  for _, l in ipairs(ls) do l:close() end
  print(("ports probes=%d nslab=%.4f nc=%.3f nslab_open=%d nc_open=%d reps=%d"):format(#list, median(tn),
    median(tc), on, oc, reps))
end

-- One iperf3 client run against the server in B; its JSON's receiver rate,
-- retransmissions, and the CPU of client and server.
local function iperf3(seconds, port)
  local r = A:exec({ "iperf3", "-c", "10.9.0.2", "-p", tostring(port), "-t", tostring(seconds), "-J" },
    { timeout = seconds + 30 })
  local js = r.stdout
  local bps = tonumber(js:match('"sum_received":%s*{.-"bits_per_second":%s*([%d.e+]+)'))
  local retr = tonumber(js:match('"sum_sent":%s*{.-"retransmits":%s*(%d+)'))
  local host = tonumber(js:match('"host_total":%s*([%d.e+]+)'))
  local remote = tonumber(js:match('"remote_total":%s*([%d.e+]+)'))
  assert(bps, "iperf3: " .. r.stderr .. js:sub(1, 300))
  return bps, retr or 0, (host or 0) + (remote or 0)
end

local function throughput()
  local reps = tonumber(env("BENCH_TPUT_REPS") or 3)
  local secs = tonumber(env("BENCH_TPUT_SECONDS") or 3)
  local links = {
    { "veth", nil },
    { "tbf 8mbit", "rate 8mbit burst 32kbit latency 50ms" },
    { "tbf 100mbit", "rate 100mbit burst 256kbit latency 20ms" },
  }
  for _, link in ipairs(links) do
    if link[2] then
      local _, ok = sh(("tc -n %s qdisc replace dev v0 root tbf %s"):format(prefix .. "pa", link[2]))
      assert(ok, "tc tbf failed")
    end
    local nb, nr, nc, ib, ir, ic = {}, {}, {}, {}, {}, {}
    local srv = B:spawn{ "iperf3", "-s", "-p", "5201" }
    assert(tools.wait_port(B, 5201, { process = srv, name = "iperf3 -s" }))
    for _ = 1, reps do
      local c0 = os.clock()
      local r = A:throughput(B, "10.9.0.2", { duration = secs })
      assert(r.ok, r.error)
      nb[#nb + 1], nr[#nr + 1] = r.bits_per_second, r.retransmits
      nc[#nc + 1] = (os.clock() - c0) / r.seconds * 100
      local b, rt, cpu = iperf3(secs, 5201)
      ib[#ib + 1], ir[#ir + 1], ic[#ic + 1] = b, rt, cpu
    end
    srv:close()
    -- The ratio of each interleaved pair: how far apart they are run to run.
    local lo, hi = math.huge, 0
    for i = 1, reps do
      lo, hi = math.min(lo, nb[i] / ib[i]), math.max(hi, nb[i] / ib[i])
    end
    print(("throughput link=%s nslab_bps=%.0f iperf3_bps=%.0f nslab_retr=%d iperf3_retr=%d nslab_cpu=%.0f iperf3_cpu=%.0f ratio_min=%.3f ratio_max=%.3f reps=%d secs=%g")
      :format(link[1]:gsub(" ", "_"), median(nb), median(ib), median(nr), median(ir), median(nc), median(ic), lo, hi,
        reps, secs))
  end
end

local ok, err = pcall(function()
  setup()
  if what == "ports" then ports() else throughput() end
end)
cleanup()
if not ok then error(err, 0) end
