-- Scale: a lab of hundreds of namespaces builds and tears down completely,
-- and repeated build/teardown cycles leak neither fds nor memory. Timing is
-- the benchmark's business (tools/run-bench), not this spec's.
local netns = require "netns"
local lab = require "netns.lab"
local T = require "spec.testlib"

local listed = T.listed

-- Journals of ours still in /run/nslab.
local function journals(labname)
  local t = {}
  local ok, files = pcall(netns.readdir, "/run/nslab")
  for _, f in ipairs(ok and files or {}) do
    if f:find(labname, 1, true) == 1 then t[#t + 1] = f end
  end
  return t
end

-- A star through the lab layer: switch "br", hosts h1..hn on 10.210.0.0/16.
local function star(n, prefix, name)
  local l = lab.new { name = name, prefix = prefix }
  l:switch("br")
  for i = 1, n do
    l:host("h" .. i)
    l:link(("br:v%d"):format(i), ("h%d:eth0 10.210.%d.%d/16"):format(i, i >> 8, i & 255))
  end
  return l
end

-- On failure, whatever the lab left is removed (T.cleanup sweeps our prefix).
local cleanup = T.cleanup

local function vmrss_kb()
  return tonumber((T.read("/proc/self/status") or ""):match("VmRSS:%s*(%d+)"))
end

describe("scale", function()
  after_each(cleanup)

  it("builds a 300-host lab and tears it down leaving nothing", function()
    local prefix = T.name("S") .. "-"
    local name = prefix:gsub("%-$", "") .. "star"
    local l = star(300, prefix, name)
    T.track_lab(l)
    l:up()
    assert.are.equal(301, #listed(prefix))
    -- The ends are there and up (seen from outside).
    local ports = T.ipj("-n", prefix .. "br", "link", "show", "master", "br0")
    assert.are.equal(300, #ports)
    local h300 = T.ipj("-n", prefix .. "h300", "addr", "show", "eth0")
    assert.are.equal("10.210.1.44", h300[1].addr_info[1]["local"])
    assert.are.equal(1, #journals(name))
    l:down()
    assert.are.same({}, listed(prefix))
    assert.are.same({}, journals(name))
    for _, p in ipairs({ "/run/netns/" .. prefix .. "br", "/run/netns/" .. prefix .. "h1" }) do
      assert.is_nil(io.open(p))
    end
  end)

  it("20 build/teardown cycles of a small lab: fds, Lua memory and RSS stay flat", function()
    local prefix = T.name("C") .. "-"
    local function cycle(i)
      local l = star(10, prefix, ("cyc%d"):format(i))
      T.track_lab(l)
      l:up()
      assert.are.equal(11, #listed(prefix))
      l:down()
        assert.are.same({}, listed(prefix))
    end
    -- Warm up: the first cycles load modules and grow the allocator's pools.
    for i = 1, 3 do cycle(i) end
    collectgarbage("collect"); collectgarbage("collect")
    local fd0, mem0, rss0 = T.fds(), collectgarbage("count"), vmrss_kb()
    for i = 4, 23 do cycle(i) end
    collectgarbage("collect"); collectgarbage("collect")
    local fd1, mem1, rss1 = T.fds(), collectgarbage("count"), vmrss_kb()
    assert.are.equal(fd0, fd1)
    -- A leak of one small table per namespace per cycle would be 20 * 11 * 56
    -- bytes at least; allow 64 KiB of noise (string interning, table growth).
    assert.is_true(mem1 - mem0 < 64, ("Lua memory grew from %.0f KiB to %.0f KiB"):format(mem0, mem1))
    -- RSS moves with the C allocator's pages: a generous 4 MiB.
    assert.is_true(rss1 - rss0 < 4096, ("VmRSS grew from %d KiB to %d KiB"):format(rss0, rss1))
    assert.are.same({}, listed(prefix))
  end)

  it("builds 1000 hosts on a tree of switches, a sampled ping_all of 1000 pairs passes, and down leaves nothing", function()
    -- The benchmark's big lab (bench/tree_nslab.lua) at spec size: two leaf
    -- switches of 500 hosts on a core, each host pinging the next (h500 ->
    -- h501 crosses the core). It runs under nslab with an fd limit that fits
    -- 1003 namespace handles (the busted process's own limit may be 1024).
    local prefix = T.name("TR") .. "-"
    local out, ok = T.run(("prlimit --nofile=4096:4096 %s bench/tree_nslab.lua 1000 1 %s 500")
      :format(os.getenv("NSLAB") or "build/nslab", prefix))
    assert.is_truthy(ok, out)
    local r = {}
    for k, v in out:gmatch("([%w_]+)=(%S+)") do r[k] = v end
    assert.are.equal("1003", r.namespaces, out)
    assert.are.equal("1000", r.pairs, out)
    assert.are.equal("1000", r.reached, out)
    assert.are.equal("true", r.ok, out)
    assert.are.same({}, listed(prefix))
    assert.are.same({}, journals(prefix .. "tree"))
  end)

  it("refuses a switch of more ports than a bridge takes, at its line, before anything is made", function()
    local prefix = T.name("BP") .. "-"
    local l = T.track_lab(lab.new { name = "ports", prefix = prefix })
    l:switch("sw") local line = debug.getinfo(1, "l").currentline
    for i = 1, 1024 do
      l:host("h" .. i)
      l:link("sw:p" .. i, "h" .. i)
    end
    local ok, e = pcall(l.up, l)
    assert.is_false(ok)
    assert.matches("scale_spec%.lua:" .. line .. ": switch 'sw' has 1024 ports; a Linux bridge takes at most 1023", tostring(e))
    assert.are.same({}, listed(prefix))
  end)

  it("refuses a lab that cannot fit under the open-files limit, before anything is made", function()
    local prefix = T.name("FD") .. "-"
    local script = T.tmpfile(([[
local lab = require "netns.lab"
local l = lab.new { name = "fds", prefix = %q }
l:switch("sw")
for i = 1, 100 do l:host("h" .. i); l:link("sw:p" .. i, "h" .. i .. ":eth0 10.212.0." .. i .. "/24") end
l:up()
]]):format(prefix), ".lua")
    local out, ok = T.run(("prlimit --nofile=100:100 %s %s"):format(os.getenv("NSLAB") or "build/nslab", script))
    assert.is_falsy(ok)
    assert.matches(":5: lab 'fds': 101 namespaces need about 165 open files, and the limit is 100", out)
    assert.are.same({}, listed(prefix))
  end)
end)
