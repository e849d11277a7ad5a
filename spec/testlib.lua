-- Shared by the specs: unique names no user would pick, namespaces that are
-- always removed (call T.cleanup() from after_each), and checks from outside
-- through iproute2's JSON output.
local netns = require "netns"
local json = require "dkjson"

local T = {}

local function mypid()
  local f = assert(io.open("/proc/self/stat"))
  local pid = f:read("n")
  f:close()
  return pid
end

T.pid = mypid()
T.prefix = ("nslt%d-"):format(T.pid)
local made, serial = {}, 0

-- A fresh name such as "nslt4242-3-ns1" (namespaces only: interface names live
-- inside our own namespaces and can be anything).
function T.name(tag)
  serial = serial + 1
  return ("%s%d-%s"):format(T.prefix, serial, tag or "ns")
end

-- A new namespace, removed by T.cleanup() whatever the test does.
function T.ns(tag)
  local name = T.name(tag)
  made[#made + 1] = name
  return netns.create(name), name
end

-- The named namespaces whose names start with prefix.
function T.ours(prefix)
  local t = {}
  for _, n in ipairs(netns.list()) do
    if n:sub(1, #prefix) == prefix then t[#t + 1] = n end
  end
  return t
end

-- Remember a namespace made some other way (by the code under test).
function T.track(name)
  made[#made + 1] = name
end

-- A lab to take down in T.cleanup, whatever the test did with it. Weak: a
-- lab the test dropped is not kept alive by this list (its own finalizer
-- tears it down), so cycles of labs do not accumulate here.
local labs = setmetatable({}, { __mode = "k" })
function T.track_lab(l)
  labs[l] = true
  return l
end

-- A new lab (netns.lab) with a prefix of fresh names, torn down by T.cleanup.
function T.lab(desc, tag)
  desc = desc or {}
  desc.prefix = T.name(tag or "L") .. "-"
  return T.track_lab(require("netns.lab").new(desc))
end

-- Temporary files: a fresh path (ext appended, e.g. ".yaml"), removed by
-- T.cleanup(); T.tmpfile writes text into one and returns its path.
local temps = {}
function T.tmp(ext)
  local p = os.tmpname()
  os.remove(p)
  p = p .. (ext or "")
  temps[#temps + 1] = p
  return p
end

function T.tmpfile(text, ext)
  local p = T.tmp(ext)
  local f = assert(io.open(p, "w"))
  f:write(text)
  f:close()
  return p
end

function T.cleanup()
  for i = #temps, 1, -1 do
    os.remove(temps[i])
    temps[i] = nil
  end
  for l in pairs(labs) do
    pcall(l.down, l)
    for _, node in pairs(l.nodes) do T.track(node.nsname) end
    if l.journal then os.remove(l.journal.path) end
    labs[l] = nil
  end
  -- Anything with our prefix that a test did not track (made by a child
  -- process, or left by a test that failed half-way): the prefix holds our
  -- pid, so nobody else's namespace has it.
  for _, name in ipairs(netns.list()) do
    if name:sub(1, #T.prefix) == T.prefix then made[#made + 1] = name end
  end
  for i = #made, 1, -1 do
    local name = made[i]
    if netns.exists(name) then
      -- Processes a test started inside would keep the namespace alive.
      os.execute(("ip netns pids %s 2>/dev/null | xargs -r kill -9"):format(name))
      pcall(netns.delete, name)
    end
    made[i] = nil
  end
  collectgarbage()
end

-- Runs a command (argv-style words joined by the test itself) through sh and
-- returns its output (stdout and stderr), whether it exited 0, and its exit
-- status (128 + N for a command killed by signal N, as sh's $? says).
function T.run(cmd)
  local p = assert(io.popen(cmd .. " 2>&1"))
  local out = p:read("a")
  local ok, how, code = p:close()
  if how == "signal" then code = 128 + code end
  return out, ok == true, code
end

-- s quoted for sh as one word.
function T.q(s)
  return "'" .. s:gsub("'", "'\\''") .. "'"
end

-- T.sh(fmt, ...): the command fmt:format(...), which must succeed; its output.
function T.sh(fmt, ...)
  local cmd = select("#", ...) > 0 and fmt:format(...) or fmt
  local out, ok = T.run(cmd)
  assert(ok, cmd .. ": " .. out)
  return out
end

-- s with every punctuation character escaped, for use inside a Lua pattern.
function T.esc(s)
  return (s:gsub("%p", "%%%0"))
end

-- The scenarios in examples/, sorted: { "examples/bridge.lua", ... }.
function T.examples()
  local t = {}
  local p = assert(io.popen("ls examples/*.lua"))
  for f in p:lines() do t[#t + 1] = f end
  p:close()
  return t
end

-- `ip -j ...` parsed: T.ipj("-n", name, "addr", "show")
function T.ipj(...)
  local out, ok = T.run("ip -j " .. table.concat({...}, " "))
  assert(ok, out)
  local v = json.decode(out)
  return v or {}
end

-- Two namespaces on one veth (v0 at both ends): A 10.0.0.1/24 fd00::1/64,
-- B 10.0.0.2/24 fd00::2/64, lo up, each reaching the other over both
-- families before it returns (so no first packet waits for carrier, ARP or NDP).
-- Returns A, B and their names.
function T.segment()
  local A, an = T.ns("a")
  local B, bn = T.ns("b")
  for _, cmd in ipairs{
    ("ip -n %s link add v0 type veth peer name v0 netns %s"):format(an, bn),
    ("ip -n %s addr add 10.0.0.1/24 dev v0"):format(an), ("ip -n %s addr add fd00::1/64 dev v0 nodad"):format(an),
    ("ip -n %s addr add 10.0.0.2/24 dev v0"):format(bn), ("ip -n %s addr add fd00::2/64 dev v0 nodad"):format(bn),
    ("ip -n %s link set v0 up"):format(an), ("ip -n %s link set lo up"):format(an),
    ("ip -n %s link set v0 up"):format(bn), ("ip -n %s link set lo up"):format(bn),
  } do
    local out, ok = T.run(cmd)
    assert(ok, cmd .. ": " .. out)
  end
  T.wait_up(an, bn)
  assert(A:ping("10.0.0.2", { timeout = 3 }).ok and A:ping("fd00::2", { timeout = 3 }).ok,
    "the segment's ends do not reach each other")
  return A, B, an, bn
end

-- Waits (10 s at most, else fails the test) until every link set up in the
-- named namespaces has carrier (operstate UP, lo aside): the kernel reports
-- it a moment after the link is up (linkwatch, which waits for the rtnl lock
-- other runs may hold), and until then packets are dropped.
function T.wait_up(...)
  for _, name in ipairs{ ... } do
    assert(T.wait_until(function()
      for _, l in ipairs(T.ipj("-n", name, "link", "show")) do
        local admin_up = false
        for _, f in ipairs(l.flags) do if f == "UP" then admin_up = true end end
        if l.ifname ~= "lo" and admin_up and l.operstate ~= "UP" then return false end
      end
      return true
    end, 10), "links of " .. name .. " did not come up")
  end
end

-- Whether process pid is gone, or a zombie that no longer runs (whoever
-- adopted it reaps it).
function T.gone(pid)
  local f = io.open("/proc/" .. pid .. "/stat")
  if not f then return true end
  local s = f:read("a") or ""
  f:close()
  return s:match("%) (%S)") == "Z"
end

-- The line of the test that calls T.here() (for errors expected at it).
function T.here()
  return debug.getinfo(2, "l").currentline
end

-- Names under /run/netns (ip netns list) starting with prefix.
function T.listed(prefix)
  local t = {}
  for line in T.run("ip netns list"):gmatch("[^\n]+") do
    local n = line:match("^(%S+)")
    if n and n:sub(1, #prefix) == prefix then t[#t + 1] = n end
  end
  return t
end

-- The error fn(...) raises, as text and as raised; fails the test if none.
function T.err_of(fn, ...)
  local ok, e = pcall(fn, ...)
  if ok then error("expected an error", 2) end
  return tostring(e), e
end

-- Polls fn() until it returns true or the deadline (seconds) passes.
function T.wait_until(fn, deadline)
  local t0 = os.time()
  while not fn() do
    if os.time() - t0 > (deadline or 10) then return false end
    os.execute("sleep 0.05")
  end
  return true
end

-- Is x in the list (e.g. a flag in ip -j's "flags")?
function T.has(list, x)
  for _, v in ipairs(list or {}) do if v == x then return true end end
  return false
end

-- How many fds this process has open (the directory read itself adds one,
-- the same one every time).
function T.fds()
  return #netns.readdir("/proc/self/fd")
end

-- How many of this process's children are zombies (exited, not reaped).
function T.zombies()
  local n = 0
  for _, pid in ipairs(netns.readdir("/proc")) do
    local f = pid:match("^%d+$") and io.open("/proc/" .. pid .. "/stat")
    if f then
      local state, ppid = (f:read("a") or ""):match("%) (%S) (%d+)")
      f:close()
      if state == "Z" and tonumber(ppid) == T.pid then n = n + 1 end
    end
  end
  return n
end

-- A command started in the background through `sh -c 'echo $$; exec CMD'`,
-- so that its pid is the command's own (signals go to it, not to a shell):
-- { pid, out = file with its stdout and stderr }. T.finish(job) waits for it
-- and returns its exit status (128+N after signal N) and its output.
local jobs = {}
function T.start(cmd)
  local out = os.tmpname()
  local p = assert(io.popen(("exec sh -c 'echo $$; exec %s > %s 2>&1'")
    :format(cmd:gsub("'", "'\\''"), out)))
  local j = { pid = assert(p:read("n"), "the command did not start"), pipe = p, out = out }
  jobs[#jobs + 1] = j
  return j
end

function T.output(j)
  return T.read(j.out) or ""
end

function T.finish(j)
  if j.rc == nil then
    local _, how, code = j.pipe:close()
    j.rc = how == "signal" and 128 + code or code
  end
  return j.rc, T.output(j)
end

-- Waits (deadline in seconds, 20 by default) until the job printed `line`.
function T.wait_line(j, line, deadline)
  return T.wait_until(function() return T.output(j):find(line .. "\n", 1, true) ~= nil end, deadline or 20)
end

-- Kills (SIGKILL) and reaps every job still running; removes their output.
function T.stop_jobs()
  for _, j in ipairs(jobs) do
    if j.rc == nil then os.execute("kill -9 " .. j.pid .. " 2>/dev/null"); T.finish(j) end
    os.remove(j.out)
  end
  jobs = {}
end

-- A whole file, or nil if it cannot be read.
function T.read(path)
  return (netns.readfile(path))
end

-- Writes s to path (a test's own temporary file); returns path.
function T.write(path, s)
  local f = assert(io.open(path, "wb"))
  f:write(s)
  f:close()
  return path
end

-- Error objects of netns carry .code; string errors are argument errors.
function T.errcode(fn, ...)
  local ok, e = pcall(fn, ...)
  if ok then return nil end
  return type(e) == "table" and e.code or tostring(e)
end

return T
