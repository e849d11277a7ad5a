-- impair_nslab.lua HOSTS REPS PREFIX DIR: an impairment on every link of a lab
-- (a star: one switch, HOSTS hosts, HOSTS links, a qdisc on both ends of each),
-- applied four ways, interleaved REPS times, in one run:
--   lab      l:impair(host, "sw", opts) for every link (the lab layer)
--   core     ns:qdisc_set(dev, opts) for every end (the netns module alone)
--   tc       `tc -n NS qdisc replace dev IF root ...` once per end (a shell
--            script: one fork+exec of tc per line, as people script it)
--   batch    `tc -n NS -batch FILE`, one tc per namespace (tc's -n applies to
--            a whole batch, so the switch's HOSTS ports are one batch and each
--            host one more)
-- The tc lines are what --trace prints for the same operation, so every way
-- builds the same qdiscs; each run is checked (every end has it) and undone
-- before the next, outside the timing. Prints key=value medians in seconds.
local netns = require "netns"
local lab = require "netns.lab"
local trace = require "netns.trace"

local hosts, reps, prefix, dir = tonumber(arg[1]), tonumber(arg[2]), arg[3], arg[4]
assert(hosts and reps and prefix and dir, "usage: impair_nslab.lua HOSTS REPS PREFIX DIR")
-- A rate limit: tbf works on every kernel (this machine's has no netem); the
-- request path is the same for netem (one RTM_NEWQDISC per end).
local OPTS = { rate = "10mbit" }

local l <close> = lab.new { name = prefix .. "imp", prefix = prefix }
l:switch("sw")
for i = 1, hosts do
  l:host("h" .. i)
  l:link(("h%d:eth0 10.203.%d.%d/16"):format(i, i >> 8, i & 255), ("sw:p%d"):format(i))
end
l:up()

-- Every end: its namespace, name and namespace name.
local ends = {}
for _, link in ipairs(l.links) do
  for _, e in ipairs({ link.a, link.b }) do ends[#ends + 1] = { ns = e.node.ns, dev = e.name, nsname = e.node.nsname } end
end

local function write(path, lines)
  local f = assert(io.open(path, "w"))
  f:write(table.concat(lines, "\n"), "\n")
  f:close()
  return path
end

-- The shell script of one tc per end, and the per-namespace batches.
local per_line, batches, order = {}, {}, {}
for _, e in ipairs(ends) do
  local cmd = trace.command("qdisc_set", e.ns, e.dev, OPTS)
  per_line[#per_line + 1] = cmd
  local words = cmd:gsub("^tc %-n %S+ ", "")
  if not batches[e.nsname] then batches[e.nsname] = {}; order[#order + 1] = e.nsname end
  table.insert(batches[e.nsname], words)
end
local tc_script = write(dir .. "/impair-tc.sh", per_line)
local batch_lines = {}
for i, name in ipairs(order) do
  batch_lines[#batch_lines + 1] = ("tc -n %s -batch %s"):format(name, write(("%s/impair-%d.batch"):format(dir, i), batches[name]))
end
local batch_script = write(dir .. "/impair-batch.sh", batch_lines)

local ways = {
  lab = function()
    for i = 1, hosts do l:impair("h" .. i, "sw", OPTS) end
  end,
  core = function()
    for _, e in ipairs(ends) do e.ns:qdisc_set(e.dev, OPTS) end
  end,
  tc = function() assert(os.execute("sh -e " .. tc_script), "tc failed") end,
  batch = function() assert(os.execute("sh -e " .. batch_script), "tc -batch failed") end,
}
local names = { "lab", "core", "tc", "batch" }

local function check_and_undo()
  for _, e in ipairs(ends) do
    local q = e.ns:qdisc_get(e.dev)
    assert(q and q.kind == "tbf" and q.rate == OPTS.rate, "an end without its qdisc: " .. e.nsname .. " " .. e.dev)
    e.ns:qdisc_del(e.dev)
  end
  for _, link in ipairs(l.links) do link.impair, link.a.impair, link.b.impair = nil, nil, nil end
end

local times = {}
for _, n in ipairs(names) do times[n] = {} end
for _ = 1, reps do
  for _, n in ipairs(names) do
    local t = netns.now()
    ways[n]()
    times[n][#times[n] + 1] = netns.now() - t
    check_and_undo()
  end
end

local out = { ("ends=%d links=%d"):format(#ends, hosts) }
for _, n in ipairs(names) do
  table.sort(times[n])
  out[#out + 1] = ("%s=%.6f %s_min=%.6f %s_max=%.6f"):format(n, times[n][(#times[n] + 1) // 2], n, times[n][1],
    n, times[n][#times[n]])
end
print(table.concat(out, " "))
