-- The benchmark driver (run by tools/run-bench, which builds the helpers,
-- picks the prefix and cleans up on any exit). Runs every alternative of the
-- star benchmark interleaved (A B C ... A B C ...) on the same topology,
-- then the all-pairs ping comparison, and prints markdown tables of medians
-- with min and max. Knobs (environment):
--   BENCH_N=10,100,200,1000 host counts (200: where the issue sets targets)        BENCH_REPS=5   runs per N
--   BENCH_REPS_BIG=3      runs for N > 200   BENCH_SHELL_MAX=200 (above: 1 run)
--   BENCH_ALTS=shell,batch,pyroute2,raw,nslab_core,nslab
--   BENCH_BASE=path/to/nslab (an older build, as one more alternative)
--   BENCH_CYCLE=1  BENCH_CYCLES=100  BENCH_CYCLE_HOSTS=10 (up/down of one lab)
--   BENCH_MATRIX=1  BENCH_MATRIX_HOSTS=500  BENCH_MATRIX_SAMPLE=20
--   BENCH_IMPAIR=1  BENCH_IMPAIR_HOSTS=200  BENCH_IMPAIR_REPS=3 (a qdisc on every link)
--   BENCH_PING=1  BENCH_PING_HOSTS=50  BENCH_PING_SAMPLE=245 (pairs for the
--   per-pair ping; 0 = all)  BENCH_PING_REPS=3  BENCH_PING_DYNARP=1
--   BENCH_PROBES=1  BENCH_PORT_REPS=3  BENCH_TPUT_REPS=3  BENCH_TPUT_SECONDS=3
--   (port checks vs nc, throughput vs iperf3: bench/probes_nslab.lua)
package.path = "bench/?.lua;" .. package.path
local gen = require "gen_star"

local env = os.getenv
local function list(s) local t = {} for w in s:gmatch("[^,%s]+") do t[#t + 1] = w end return t end
local B = env("B") or "build"
local prefix = assert(env("BENCH_PREFIX"), "BENCH_PREFIX not set: run tools/run-bench")
local quick = env("BENCH_QUICK") == "1"
local Ns = list(env("BENCH_N") or (quick and "10,100" or "10,100,200,1000"))
local reps = tonumber(env("BENCH_REPS") or (quick and 3 or 5))
local reps_big = tonumber(env("BENCH_REPS_BIG") or 3)
local shell_max = tonumber(env("BENCH_SHELL_MAX") or 200)
local alts_wanted = list(env("BENCH_ALTS") or "shell,batch,pyroute2,raw,raw6,nslab_core,nslab")
local gendir = B .. "/bench/gen"
local log = B .. "/bench/stderr.log"
local measure = B .. "/bench/measure"
os.execute("mkdir -p " .. gendir .. " && : > " .. log)

local out_lines = {}
local function say(fmt, ...)
  local s = select("#", ...) > 0 and fmt:format(...) or fmt
  io.stdout:write(s, "\n")
  io.stdout:flush()
  out_lines[#out_lines + 1] = s
end
local function note(fmt, ...) io.stderr:write(fmt:format(...), "\n") end

local function sh(cmd)
  local p = assert(io.popen(cmd))
  local s = p:read("a")
  p:close()
  return s
end
local function ok(cmd) return os.execute(cmd .. " >/dev/null 2>&1") == true end

-- Removes whatever a failed run left under our own prefix.
local function scrub(p)
  os.execute(("for n in $(ls /run/netns 2>/dev/null | grep '^%s'); do ip netns del $n; done 2>/dev/null")
    :format(p))
end

local function parse(line)
  local r = {}
  for k, v in line:gmatch("([%w_]+)=(%S+)") do r[k] = tonumber(v) or v end
  return r
end

---------------------------------------------------------------------------
-- The alternatives of the star benchmark.
local alts = {
  shell = { label = "`ip` once per operation (shell)",
            argv = function(n) return "sh " .. gen.shell(gendir, n, prefix) end },
  batch = { label = "`ip -batch`, one process per namespace",
            argv = function(n) return "sh " .. gen.batch(gendir, n, prefix) end },
  pyroute2 = { label = "pyroute2 (IPRoute per namespace)",
               argv = function(n) return ("/usr/bin/python3 bench/star_pyroute2.py %d %s"):format(n, prefix) end,
               available = function() return ok("/usr/bin/python3 -c 'import pyroute2'") end },
  raw = { label = "raw C on libnl (bench/star_raw.c)",
          argv = function(n) return ("%s/bench/star_raw %d %s"):format(B, n, prefix) end },
  raw6 = { label = "raw C on libnl, IPv6 off in every namespace (star_raw -6)",
           argv = function(n) return ("%s/bench/star_raw -6 %d %s"):format(B, n, prefix) end },
  nslab = { label = "nslab (bench/star_nslab.lua)",
            argv = function(n) return ("%s/nslab bench/star_nslab.lua %d %s"):format(B, n, prefix) end,
            available = function() return ok(B .. "/nslab bench/star_nslab.lua --probe") end },
  nslab_core = { label = "nslab, core calls only (no lab layer)",
                 argv = function(n) return ("%s/nslab bench/star_nslab.lua %d %s --core"):format(B, n, prefix) end,
                 available = function() return ok(B .. "/nslab bench/star_nslab.lua --probe") end },
}
-- BENCH_BASE=path/to/nslab: the same lab run by another build of nslab (its
-- Lua modules are embedded), measured in the same interleaved rounds: a
-- before/after comparison of a change.
local base_bin = env("BENCH_BASE")
if base_bin and base_bin ~= "" then
  alts.nslab_base = { label = ("nslab, baseline build (%s)"):format(base_bin),
                      argv = function(n) return ("%s bench/star_nslab.lua %d %s"):format(base_bin, n, prefix) end }
  local seen = false
  for _, k in ipairs(alts_wanted) do seen = seen or k == "nslab_base" end
  if not seen then table.insert(alts_wanted, "nslab_base") end
end

local order = {}
for _, k in ipairs(alts_wanted) do
  local a = assert(alts[k], "unknown alternative " .. k)
  if a.available and not a.available() then
    note("bench: %s not available, skipped", k)
  else
    order[#order + 1] = k
  end
end

local function measure_once(k, n)
  local cmd = ("%s -p %s -k %d -v 'sh bench/verify.sh %s %d' -- %s 2>>%s")
    :format(measure, prefix, n + 1, prefix, n, alts[k].argv(n), log)
  local r = parse(sh(cmd))
  if r.status ~= 0 or r.verify ~= 0 or r.found ~= n + 1 or r.gone ~= n + 1 then
    note("bench: %s N=%d failed: status=%s verify=%s found=%s gone=%s (see %s)", k, n,
         tostring(r.status), tostring(r.verify), tostring(r.found), tostring(r.gone), log)
    scrub(prefix)
    return nil
  end
  r.total = r.build + r.teardown
  return r
end

local function stats(xs)
  local t = {}
  for i, x in ipairs(xs) do t[i] = x end
  table.sort(t)
  local m = #t
  if m == 0 then return nil end
  local med = m % 2 == 1 and t[(m + 1) // 2] or (t[m // 2] + t[m // 2 + 1]) / 2
  return med, t[1], t[m]
end

local function fmt_s(x)
  if not x then return "-" end
  if x < 1 then return ("%.3f s"):format(x) end
  return ("%.2f s"):format(x)
end

local function star(n)
  local runs, res = {}, {}
  for _, k in ipairs(order) do res[k] = {} end
  for rep = 1, (n > 200 and reps_big or reps) do
    for _, k in ipairs(order) do
      local once = k == "shell" and n > shell_max
      if not (once and rep > 1) and not (res[k].failed and res[k].failed >= 2) then
        note("bench: N=%d run %d %s", n, rep, k)
        local r = measure_once(k, n)
        if r then res[k][#res[k] + 1] = r
        else res[k].failed = (res[k].failed or 0) + 1 end
      end
    end
  end
  runs[n] = res
  return res
end

local function col(res, k, field)
  local t = {}
  for _, r in ipairs(res[k]) do t[#t + 1] = r[field] end
  return t
end

local function star_table(n, res)
  local base = res.nslab and #res.nslab > 0 and "nslab" or "raw"
  say("")
  say("### Star of %d hosts: build + teardown", n)
  say("")
  say("| alternative | runs | median | min | max | build | teardown | x %s | peak RSS | fds |", base)
  say("|---|---|---|---|---|---|---|---|---|---|")
  local bmed = stats(col(res, base, "total"))
  for _, k in ipairs(order) do
    local med, lo, hi = stats(col(res, k, "total"))
    if med then
      local rss = stats(col(res, k, "maxrss_kb"))
      local fds = stats(col(res, k, "fds"))
      local label = alts[k].label
      if k == "shell" and n > shell_max then label = label .. " (timed once)" end
      say("| %s | %d | %s | %s | %s | %s | %s | %s | %.1f MiB | %d |", label, #res[k],
          fmt_s(med), fmt_s(lo), fmt_s(hi), fmt_s((stats(col(res, k, "build")))),
          fmt_s((stats(col(res, k, "teardown")))), bmed and ("%.2f"):format(med / bmed) or "-",
          rss / 1024, fds)
    elseif res[k].failed then
      say("| %s | 0 | failed (%d) | | | | | | | |", alts[k].label, res[k].failed)
    end
  end
  local raw = stats(col(res, "raw", "total"))
  if raw then
    local t = {}
    for _, k in ipairs({ "nslab", "nslab_core", "nslab_base" }) do
      local m = res[k] and stats(col(res, k, "total"))
      if m then t[#t + 1] = ("%s %.2fx"):format(k, m / raw) end
    end
    if #t > 0 then say(""); say("Against the raw-C reference (medians): %s.", table.concat(t, ", ")) end
  end
end

---------------------------------------------------------------------------
-- All-pairs ping over a star of H hosts built by star_raw.
local function timed(cmd)
  local s = sh(("%s -x -- %s 2>>%s"):format(measure, cmd, log))
  local r = parse(s)
  r.replies = tonumber(s:match("replies=(%d+)"))
  return r
end

local function overflows()
  return tonumber(sh("dmesg 2>/dev/null | grep -c 'neighbor table overflow'")) or 0
end

local function ping_section()
  local H = tonumber(env("BENCH_PING_HOSTS") or 50)
  local sample = tonumber(env("BENCH_PING_SAMPLE") or 245)
  local preps = tonumber(env("BENCH_PING_REPS") or (quick and 1 or 3))
  local pairs = H * (H - 1)
  local pp = prefix .. "p"
  local pair_script, used = gen.ping_pair(gendir, H, pp, sample > 0 and sample or nil)
  local nslab_ok = ok(B .. "/nslab bench/ping_nslab.lua --probe")
  local tests = {
    { key = "nslab", label = "nslab netns.ping_many (one process)",
      cmd = ("%s/nslab bench/ping_nslab.lua %s %d"):format(B, pp, H), skip = not nslab_ok },
    { key = "pair", label = ("`ip netns exec H ping -c1 -W1` per pair (%d of %d pairs, x%.1f)")
        :format(used, pairs, pairs / used), cmd = "sh " .. pair_script, scale = pairs / used },
    { key = "fseq", label = "`fping -r0` once per source, one after another",
      cmd = "sh " .. gen.fping_seq(gendir, H, pp), reps = 1 },
    { key = "fall", label = "`fping -r0` once per source, all started at once",
      cmd = "sh " .. gen.fping_all(gendir, H, pp) },
  }
  if not nslab_ok then note("bench: nslab ping_many not available, skipped") end
  assert(os.execute(("%s/bench/star_raw -s -b %d %s 2>>%s"):format(B, H, pp, log)), "ping star build failed")
  -- One untimed round first, so that every method meets a bridge that has
  -- learnt every MAC (until then it floods).
  timed(tests[4].cmd)
  local ovf0 = overflows()
  local res = {}
  for rep = 1, preps do
    for _, t in ipairs(tests) do
      if not t.skip and rep <= (t.reps or preps) then
        note("bench: ping %d hosts run %d %s", H, rep, t.key)
        res[t.key] = res[t.key] or {}
        table.insert(res[t.key], timed(t.cmd))
      end
    end
  end
  local ovf1 = overflows()
  os.execute(("%s/bench/star_raw -t %d %s 2>>%s"):format(B, H, pp, log))
  say("")
  say("### All-pairs ping, %d hosts (%d pairs, one echo each), static neighbour entries", H, pairs)
  say("")
  local base = res.nslab and "nslab" or nil
  local bmed = base and stats(col(res, "nslab", "time"))
  say("| method | runs | median | min | max | replies | x nslab |")
  say("|---|---|---|---|---|---|---|")
  for _, t in ipairs(tests) do
    if res[t.key] then
      local sc = t.scale or 1
      local med, lo, hi = stats(col(res, t.key, "time"))
      local rep = res[t.key][#res[t.key]]
      local extra = ""
      if rep.ping_many then extra = (" (ping_many %.3f s)"):format((stats(col(res, t.key, "ping_many")))) end
      local label = t.label
      if sc ~= 1 then label = label .. ", extrapolated" end
      say("| %s | %d | %s%s | %s | %s | %s/%d | %s |", label, #res[t.key], fmt_s(med * sc), extra,
          fmt_s(lo * sc), fmt_s(hi * sc), tostring(rep.replies),
          t.key == "pair" and used or pairs, bmed and ("%.0f"):format(med * sc / bmed) or "-")
    end
  end
  say("")
  say("Kernel \"neighbor table overflow\" messages during these runs: %d.", ovf1 - ovf0)
  if env("BENCH_PING_DYNARP") ~= "0" then
    -- The same without static entries: every host resolves every other.
    assert(os.execute(("%s/bench/star_raw -b %d %s 2>>%s"):format(B, H, pp, log)))
    local o0, lines = overflows(), {}
    for _, t in ipairs(tests) do
      if not t.skip and (t.key == "nslab" or t.key == "fall") then
        local r = timed(t.cmd)
        lines[#lines + 1] = ("| %s | %s | %s/%d |"):format(t.label, fmt_s(r.time), tostring(r.replies), pairs)
      end
    end
    local o1 = overflows()
    os.execute(("%s/bench/star_raw -t %d %s 2>>%s"):format(B, H, pp, log))
    say("")
    say("Without static neighbour entries (dynamic ARP; host gc_thresh3 = %s):",
        sh("cat /proc/sys/net/ipv4/neigh/default/gc_thresh3"):gsub("%s+", ""))
    say("")
    say("| method | time | replies |")
    say("|---|---|---|")
    for _, l in ipairs(lines) do say(l) end
    say("")
    say("Kernel \"neighbor table overflow\" messages during these runs: %d.", o1 - o0)
  end
end

---------------------------------------------------------------------------
-- One lab brought up and down many times in a row in one nslab process.
local function cycle_section()
  local cycles = tonumber(env("BENCH_CYCLES") or (quick and 20 or 100))
  local hosts = tonumber(env("BENCH_CYCLE_HOSTS") or 10)
  note("bench: %d up/down cycles of a %d-host lab", cycles, hosts)
  local line = sh(("%s -x -- %s/nslab bench/cycle_nslab.lua %d %d %sc 2>>%s")
    :format(measure, B, hosts, cycles, prefix, log))
  local r = parse(line)
  scrub(prefix .. "c")
  say("")
  say("### One lab (star of %d hosts) up and down %d times in a row, one process", hosts, cycles)
  say("")
  if not r.total then say("failed (see %s)", log) return end
  say("| cycles | total | one cycle (median) | max | after cycle | fds | VmRSS | VmHWM (peak) | Lua heap |")
  say("|---|---|---|---|---|---|---|---|---|")
  local first = true
  for at, f, rss, hwm, lua in line:gmatch("at(%d+): fds=(%d+) rss=(%d+) hwm=(%d+) lua=(%d+)") do
    say("| %s | %s | %s | %s | %s | %s | %.1f MiB | %.1f MiB | %s KiB |", first and tostring(cycles) or "",
        first and fmt_s(r.total) or "", first and fmt_s(r.median) or "", first and fmt_s(r.max) or "",
        at, f, tonumber(rss) / 1024, tonumber(hwm) / 1024, lua)
    first = false
  end
end

-- The matrix sample at scale: N hosts, each pinging K others, through the lab.
local function matrix_section()
  local hosts = tonumber(env("BENCH_MATRIX_HOSTS") or (quick and 100 or 500))
  local k = tonumber(env("BENCH_MATRIX_SAMPLE") or 20)
  -- Far fewer fds than pairs: one socket per pair could not even open.
  local nofile = hosts * 3 + 512
  note("bench: matrix sample %d hosts x %d", hosts, k)
  local cmd = ("%s/nslab bench/matrix_nslab.lua %d %d %sm"):format(B, hosts, k, prefix)
  local r = parse(sh(("prlimit --nofile=%d:%d %s -x -- %s 2>>%s"):format(nofile, nofile, measure, cmd, log)))
  scrub(prefix .. "m")
  local socks = "?"
  if ok("strace -V") then
    local tf = B .. "/bench/matrix.strace"
    os.execute(("strace -f -qq -e trace=socket -o %s %s >/dev/null 2>>%s"):format(tf, cmd, log))
    local st = sh("cat " .. tf)
    local icmp, total = 0, 0
    for l in st:gmatch("[^\n]+") do
      if l:find("socket%(") then
        total = total + 1
        if l:find("IPPROTO_ICMP") then icmp = icmp + 1 end
      end
    end
    socks = ("%d socket() calls in all, %d of them ICMP"):format(total, icmp)
    scrub(prefix .. "m")
  end
  say("")
  say("### Matrix sample: %d hosts, each pinging %d others (%d pairs), through the lab layer", hosts, k, hosts * k)
  say("")
  if not r.ping then say("failed (see %s)", log) return end
  say("| up | permanent neighbour entries | ping_all | pairs reached | fds before / after ping | RLIMIT_NOFILE | sockets | down | process | peak RSS |")
  say("|---|---|---|---|---|---|---|---|---|---|")
  say("| %s | %s (%d entries) | %s | %d/%d | %d / %d | %d | %s | %s | %s | %.1f MiB |", fmt_s(r.up), fmt_s(r.neigh), r.entries,
      fmt_s(r.ping), r.reached, r.pairs, r.fds_before, r.fds_after, nofile, socks, fmt_s(r.down), fmt_s(r.time),
      (r.maxrss_kb or 0) / 1024)
end

-- The big lab: N hosts on a tree of switches (a bridge takes at most 1023
-- ports), up, a sampled ping_all (each host to the next), down; once for
-- each leaf size of BENCH_TREE_LEAF (hosts a leaf switch): a bridge's own
-- costs per port grow with its ports, the lab's FDB entries with switches.
local function tree_section()
  local hosts = tonumber(env("BENCH_TREE") or (quick and 1000 or 10000))
  local leaves = env("BENCH_TREE_LEAF") or "250,1000"
  say("")
  say("### A big lab: %d hosts on a tree of switches (leaf switches on a core), through the lab layer", hosts)
  say("")
  say("| hosts a leaf | namespaces | up | up's steps | sampled ping_all | pairs reached | down | up + down | most fds | peak RSS |")
  say("|---|---|---|---|---|---|---|---|---|---|")
  for leaf in leaves:gmatch("%d+") do
    note("bench: tree of %d hosts, %s a leaf", hosts, leaf)
    local cmd = ("%s/nslab bench/tree_nslab.lua %d 1 %st %s"):format(B, hosts, prefix, leaf)
    local r = parse(sh(("%s -x -- %s 2>>%s"):format(measure, cmd, log)))
    scrub(prefix .. "t")
    if not r.up then
      say("| %s | failed (see %s) |", leaf, log)
    else
      say("| %s | %d | %s | %s | %s | %d/%d | %s | %s | %d | %.1f MiB |", leaf, r.namespaces, fmt_s(r.up),
          tostring(r.steps):gsub(":", " "):gsub(",", ", "), fmt_s(r.ping), r.reached, r.pairs, fmt_s(r.down),
          fmt_s(r.up + r.down), r.fds, r.rss_mib)
    end
  end
end

---------------------------------------------------------------------------
-- The first /proc/sys/net lookup in each of many new namespaces, through
-- /proc and through a procfs instance of one's own (what the module does).
local function procsys_section()
  local n = tonumber(env("BENCH_PROCSYS") or (quick and 1000 or 3000))
  note("bench: /proc/sys/net lookups in %d namespaces", n)
  local out = sh(("%s/bench/procsys_lookup %d 2>>%s"):format(B, n, log))
  local rows, by_k, total = {}, {}, {}
  for way, k, ms in out:gmatch("(%a+) (%d+) ([%d%.]+)") do
    if not by_k[k] then by_k[k] = { k = k }; rows[#rows + 1] = by_k[k] end
    by_k[k][way] = ms
  end
  for way, s in out:gmatch("(%a+) total ([%d%.]+)") do total[way] = s end
  say("")
  say("### The first sysctl lookup in each of %d new namespaces (`bench/procsys_lookup.c`)", n)
  say("")
  if not total.private then say("failed (see %s)", log) return end
  say("| namespaces so far | through /proc, ms each | through a procfs of its own, ms each |")
  say("|---|---|---|")
  for _, r in ipairs(rows) do say("| %s | %s | %s |", r.k, r.proc or "?", r.private or "?") end
  say("| total (with unshare) | %s s | %s s |", total.proc or "?", total.private)
end

---------------------------------------------------------------------------
-- An impairment (a rate limit) on every link of a lab: the lab layer and the
-- module against tc once per link end and tc -batch, interleaved in one process.
local function impair_section()
  local hosts = tonumber(env("BENCH_IMPAIR_HOSTS") or (quick and 50 or 200))
  local ireps = tonumber(env("BENCH_IMPAIR_REPS") or (quick and 1 or 3))
  note("bench: an impairment on every link of a %d-host lab, %d rounds", hosts, ireps)
  local r = parse(sh(("%s/nslab bench/impair_nslab.lua %d %d %si %s 2>>%s"):format(B, hosts, ireps, prefix,
    gendir, log)))
  scrub(prefix .. "i")
  say("")
  say("### An impairment on every link of a %d-host lab (%s qdiscs: both ends of %s links), %d interleaved rounds",
    hosts, tostring(r.ends), tostring(r.links), ireps)
  say("")
  if not r.lab then say("failed (see %s)", log) return end
  say("| way | median | min | max | vs `l:impair` |")
  say("|---|---|---|---|---|")
  for _, w in ipairs({ { "lab", "nslab `l:impair(host, sw, {rate=\"10mbit\"})` per link" },
                       { "core", "nslab `ns:qdisc_set(dev, ...)` per end (the module alone)" },
                       { "tc", "`tc -n NS qdisc replace ...` per end (one tc process each)" },
                       { "batch", "`tc -n NS -batch FILE` per namespace" } }) do
    local k = w[1]
    say("| %s | %s | %s | %s | %.1fx |", w[2], fmt_s(r[k]), fmt_s(r[k .. "_min"]), fmt_s(r[k .. "_max"]), r[k] / r.lab)
  end
end

---------------------------------------------------------------------------
-- The checks beyond ping against the tools people use for them
-- (bench/probes_nslab.lua): 1000 TCP port checks in one call vs nc per
-- check, and the in-process throughput vs iperf3 on three links.
local function probes_section()
  local out = sh(("%s/nslab bench/probes_nslab.lua %sq ports 2>>%s"):format(B, prefix, log))
  local p = parse(out:match("ports [^\n]+") or "")
  say("")
  say("### 1000 TCP port checks from one namespace (10 open, 990 closed)")
  say("")
  if not p.nslab then say("failed (see %s)", log) else
    say("| alternative | time (median of %d) | open ports found |", p.reps)
    say("|---|---|---|")
    say("| nslab `netns.probe_many` (one call, one event loop) | %s | %d |", fmt_s(p.nslab), p.nslab_open)
    say("| `ip netns exec A nc -z -w1 B PORT` per check, in one shell loop | %s | %d |", fmt_s(p.nc), p.nc_open)
    say("")
    say("nc per check is %.0fx the time of one probe_many call.", p.nc / p.nslab)
  end
  out = sh(("%s/nslab bench/probes_nslab.lua %sq throughput 2>>%s"):format(B, prefix, log))
  say("")
  say("### Throughput: in-process transfer vs iperf3 on the same link")
  say("")
  local first = true
  for line in out:gmatch("throughput [^\n]+") do
    local t = parse(line)
    if first then
      say("%d interleaved runs of %g s each per link, medians; CPU: percent of one CPU over the transfer (nslab: the process, both threads; iperf3: client + server).", t.reps, t.secs)
      say("")
      say("| link | nslab | iperf3 | nslab / iperf3 (medians) | per run, min..max | retransmits nslab / iperf3 | CPU nslab / iperf3 |")
      say("|---|---|---|---|---|---|---|")
      first = false
    end
    local function rate(b) return b >= 1e9 and ("%.2f Gbit/s"):format(b / 1e9) or ("%.2f Mbit/s"):format(b / 1e6) end
    say("| %s | %s | %s | %.3f | %.3f..%.3f | %d / %d | %d%% / %d%% |", t.link:gsub("_", " "), rate(t.nslab_bps),
      rate(t.iperf3_bps), t.nslab_bps / t.iperf3_bps, t.ratio_min, t.ratio_max, t.nslab_retr, t.iperf3_retr,
      t.nslab_cpu, t.iperf3_cpu)
  end
  if first then say("failed (see %s)", log) end
end

---------------------------------------------------------------------------
say("## Results")
say("")
say("Machine: %s, %s CPUs, kernel %s, iproute2 %s, libnl %s, pyroute2 %s.",
    sh("uname -m"):gsub("%s+$", ""), sh("nproc"):gsub("%s+$", ""), sh("uname -r"):gsub("%s+$", ""),
    sh("ip -V"):match("iproute2%-([%w%.]+)") or "?", sh("pkg-config --modversion libnl-3.0"):gsub("%s+$", ""),
    sh("dpkg-query -W -f='${Version}' python3-pyroute2 2>/dev/null"):gsub("%s+$", ""))
-- The same code measures differently on the hosts these runs get (one ran
-- the 1000-host star in 2.1 s, another in 0.9 s): name the CPU, and how long
-- the machine had been up, so that runs of different days compare.
local function cpu()
  local model, mhz
  for line in io.lines("/proc/cpuinfo") do
    model = model or line:match("^model name%s*:%s*(.-)%s*$")
    mhz = mhz or line:match("^cpu MHz%s*:%s*(%d+)")
    if model and mhz then break end
  end
  return ("%s%s"):format(model or "?", mhz and (", " .. mhz .. " MHz") or "")
end
local function first_line(path)
  local f = assert(io.open(path))
  local line = f:read("l")
  f:close()
  return line
end
say("CPU: %s; machine up %d min.", cpu(), math.floor(tonumber(first_line("/proc/uptime"):match("^%S+")) / 60))
say("Load average at start (other work on the machine): %s.",
    first_line("/proc/loadavg"):match("^(%S+ %S+ %S+)"))
say("Command: `%s`; interleaved runs, medians; times are build + teardown until the kernel has unlisted every namespace.",
    env("BENCH_COMMAND") or "tools/run-bench")
for _, ns in ipairs(Ns) do
  local n = tonumber(ns)
  star_table(n, star(n))
end
if env("BENCH_CYCLE") ~= "0" then cycle_section() end
if env("BENCH_MATRIX") ~= "0" then matrix_section() end
if env("BENCH_PING") ~= "0" then ping_section() end
if env("BENCH_TREE") ~= "0" then tree_section() end
if env("BENCH_PROCSYS") ~= "0" then procsys_section() end
if env("BENCH_IMPAIR") ~= "0" then impair_section() end
if env("BENCH_PROBES") ~= "0" then probes_section() end
local f = io.open(B .. "/bench/results.md", "w")
if f then f:write(table.concat(out_lines, "\n"), "\n") f:close() end
