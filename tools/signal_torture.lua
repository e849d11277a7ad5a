-- See tools/signal-torture. Runs with the in-tree netns module (lua5.4).
local netns = require "netns"

local count = assert(tonumber(arg[1]), "usage: signal_torture.lua COUNT")
local NSLAB = assert(os.getenv("NSLAB"))
local LAB = "tools/teardown_lab.lua"
local tag = ("%d"):format(os.time() % 100000) -- names the background sleeps
local out = os.tmpname()
math.randomseed(os.time())

local function read(path)
  local f = io.open(path, "rb")
  if not f then return "" end
  local s = f:read("a")
  f:close()
  return s
end

local function q(s) return "'" .. s:gsub("'", "'\\''") .. "'" end

-- Starts nslab; returns a job {pid, pipe}. Its output goes to `file`.
local function start(args, file)
  os.remove(file) -- what a previous run printed must not be taken for this one's
  local p = assert(io.popen(("exec sh -c 'echo $$; exec \"$0\" \"$@\" > %s 2>&1' %s %s")
    :format(q(file), q(NSLAB), args)))
  return { pid = assert(p:read("n")), pipe = p, file = file }
end

-- Waits for the job's exit: its status (128+N for a signal, as the shell says).
local function finish(j)
  local _, how, code = j.pipe:close()
  return how == "signal" and 128 + code or code
end

local function wait_line(file, line, deadline)
  local t = netns.now() + (deadline or 20)
  while not read(file):find(line .. "\n", 1, true) do
    if netns.now() > t then return false end
    netns.sleep(0.001)
  end
  return true
end

local function ours(prefix)
  local n = 0
  for _, name in ipairs(netns.list()) do
    if name:sub(1, #prefix) == prefix then n = n + 1 end
  end
  return n
end

local function count_dir(dir, prefix)
  local ok, t = pcall(netns.readdir, dir)
  local n = 0
  for _, f in ipairs(ok and t or {}) do
    if not prefix or f:sub(1, #prefix) == prefix then n = n + 1 end
  end
  return n
end

-- Processes whose argv is `sleep <mark>`.
local function sleeps(mark)
  local n = 0
  for _, pid in ipairs(netns.readdir("/proc")) do
    if pid:match("^%d+$") then
      local c = read("/proc/" .. pid .. "/cmdline")
      if c == "sleep\0" .. mark .. "\0" then n = n + 1 end
    end
  end
  return n
end

-- The journals under /run/nslab that plan a namespace of this prefix.
local function journals(prefix)
  local ok, t = pcall(netns.readdir, "/run/nslab")
  local found = {}
  for _, f in ipairs(ok and t or {}) do
    local path = "/run/nslab/" .. f
    if read(path):find("\nplan ns " .. prefix, 1, true) then found[#found + 1] = path end
  end
  return found
end

-- What a run left behind, as a table of counts.
local function leftovers(prefix, mark)
  return {
    ns = ours(prefix), journals = #journals(prefix),
    etc = count_dir("/etc/netns", prefix), procs = sleeps(mark),
  }
end

local function nothing(l) return l.ns + l.journals + l.etc + l.procs == 0 end

local function fmt(l)
  return ("ns=%d journals=%d etc=%d procs=%d"):format(l.ns, l.journals, l.etc, l.procs)
end

-- One normal run: how long up() and down() take (to aim the signals).
local function calibrate()
  local prefix = ("nstc%d-"):format(netns.now() * 1000 % 1e6 // 1)
  local j = start(("--prefix %s %s %s"):format(prefix, LAB, tag .. ".1"), out)
  assert(wait_line(out, "starting"), read(out))
  local t0 = netns.now()
  assert(wait_line(out, "up"), read(out))
  local t1 = netns.now()
  assert(wait_line(out, "down-start"), read(out))
  local t2 = netns.now()
  assert(wait_line(out, "down"), read(out))
  local t3 = netns.now()
  assert(finish(j) == 0, read(out))
  return t1 - t0, t3 - t2
end

local forged = ("/run/nslab/forged-%d.journal"):format(netns.now() * 1000 % 1e6 // 1)
local SIG = { INT = 2, TERM = 15, HUP = 1, PIPE = 13, KILL = 9 }
local failures, runs = {}, 0

-- One run: signal `sig` at a random moment of `phase` ("up" or "down").
local aim = {} -- the span (seconds) after the phase's start within which to signal

local function one(sig, phase, n)
  runs = runs + 1
  local prefix = ("nst%d%s%d-"):format(n, sig:sub(1, 1), phase == "up" and 1 or 2)
  local mark = ("%s.%d"):format(tag, runs)
  local j = start(("--prefix %s %s %s"):format(prefix, LAB, mark), out)
  local marker, span = phase == "up" and "starting" or "down-start", aim[phase]
  -- The signal comes from a shell started now, waiting for a line: one
  -- started at the moment to signal (fork, exec) took longer than a whole
  -- down() in an emulated guest (0.06 s), and every signal came after it.
  local killer = assert(io.popen(("exec sh -c 'read go && kill -%s %d 2> /dev/null'"):format(sig, j.pid), "w"))

  assert(wait_line(out, marker), read(out))
  netns.sleep(math.random() * span)
  killer:write("\n")
  killer:close()
  local rc = finish(j)
  local text = read(out)
  local landed = phase
  if phase == "up" and text:find("\nup\n", 1, true) then landed = "after up" end
  if phase == "down" and text:find("\ndown\n", 1, true) then landed = "after down" end
  -- The machine's speed changes (other work on it): aim shorter after a
  -- signal that came too late, a little longer after one that landed.
  aim[phase] = aim[phase] * (landed == phase and 1.05 or 0.8)
  local cleaned = ""
  if sig == "KILL" then
    -- Exit 1: the forged decoy journal is refused and kept, and must be the
    -- only thing kept.
    local ok, _, code = os.execute(NSLAB .. " clean > " .. out .. ".clean 2>&1")
    local said = read(out .. ".clean")
    local kept = 0
    for path in said:gmatch("kept the journal (%S+)") do
      kept = kept + 1
      if path ~= forged then kept = 1e9 end
    end
    if not (ok or (code == 1 and kept == 1)) or said:find("could not", 1, true) then
      cleaned = " clean failed: " .. said
    end
  end
  local l = leftovers(prefix, mark)
  local want = landed:match("^after") and rc == 0 and 0 or 128 + SIG[sig]
  if not nothing(l) or cleaned ~= "" or (sig ~= "KILL" and rc ~= want and rc ~= 128 + SIG[sig]) then
    failures[#failures + 1] = ("%s during %s (landed %s): exit %d, left %s%s\n%s")
      :format(sig, phase, landed, rc, fmt(l), cleaned, text)
    -- Leave the next run a clean machine.
    os.execute(NSLAB .. " clean > /dev/null 2>&1")
  end
  return landed, rc
end

-- The shortest of five runs: where the aim starts (it then follows where
-- the signals land).
local t_up, t_down = math.huge, math.huge
for _ = 1, 5 do
  local u, d = calibrate()
  t_up, t_down = math.min(t_up, u), math.min(t_down, d)
end
aim.up, aim.down = t_up, t_down
io.write(("calibration: up() %.3f s, down() %.3f s (shortest of 5); %d signals landed in each phase\n")
  :format(t_up, t_down, count))

-- Decoys that must survive every clean: an `ip netns add` namespace, a live
-- lab, and a forged journal (a copy of the live lab's journal that claims a
-- dead owner).
local decoy_ns = ("nstdecoy%d"):format(netns.now() * 1000 % 1e6 // 1)
assert(os.execute("ip netns add " .. decoy_ns))
local live_out = out .. ".live"
local live_prefix = ("nstlive%d-"):format(netns.now() * 1000 % 1e6 // 1)
local live = start(("--prefix %s %s %s hold"):format(live_prefix, LAB, tag .. ".live"), live_out)
assert(wait_line(live_out, "up"), read(live_out))
local live_journal = assert(journals(live_prefix)[1], "the live lab has no journal")
do
  local dead = io.popen("exec sh -c 'echo $$'"):read("n")
  local text = read(live_journal):gsub("\nowner %d+ ", ("\nowner %d "):format(dead))
  local f = assert(io.open(forged, "wb")); f:write(text); f:close()
end

-- What went wrong besides a run that left something, one line each.
local problems = {}
for _, sig in ipairs({ "INT", "TERM", "HUP", "PIPE", "KILL" }) do
  for _, phase in ipairs({ "up", "down" }) do
    local before = #failures
    -- Runs until `count` signals landed inside the phase (those that came
    -- after it count too, for what they left; at most 3 x count runs).
    local where, codes, n = {}, {}, 0
    while (where[phase] or 0) < count and n < 3 * count do
      n = n + 1
      local landed, rc = one(sig, phase, n)
      where[landed] = (where[landed] or 0) + 1
      codes[rc] = (codes[rc] or 0) + 1
    end
    if (where[phase] or 0) < count then
      problems[#problems + 1] = ("SIG%s during %s: %d of %d signals landed inside it in %d runs")
        :format(sig, phase, where[phase] or 0, count, n)
    end
    local w, c = {}, {}
    for k, v in pairs(where) do w[#w + 1] = ("%s %d"):format(k, v) end
    for k, v in pairs(codes) do c[#c + 1] = ("%d x%d"):format(k, v) end
    table.sort(w); table.sort(c)
    io.write(("SIG%-4s during %-4s: %3d runs, %d left something (landed: %s; exit: %s)\n")
      :format(sig, phase, n, #failures - before, table.concat(w, ", "), table.concat(c, ", ")))
    io.stdout:flush()
  end
end

local decoys = {
  ["ip netns add namespace"] = netns.exists(decoy_ns),
  ["live lab (5 namespaces)"] = ours(live_prefix) == 5,
  ["live lab's journal"] = read(live_journal) ~= "",
  ["forged journal"] = read(forged) ~= "",
}
os.execute(("kill -TERM %d"):format(live.pid))
local live_rc = finish(live)
os.remove(forged)
os.execute("ip netns del " .. decoy_ns)
for what, alive in pairs(decoys) do
  io.write(("decoy %s: %s\n"):format(what, alive and "survived" or "DESTROYED"))
  if not alive then problems[#problems + 1] = "decoy destroyed: " .. what end
end
-- The live lab, sent SIGTERM after minutes of holding, must tear down like
-- any other run: exit 143 and leave nothing.
local live_left = leftovers(live_prefix, tag .. ".live")
if live_rc ~= 143 or not nothing(live_left) then
  problems[#problems + 1] = ("the live lab after SIGTERM: exit %d (want 143), left %s; it printed:\n%s")
    :format(live_rc, fmt(live_left), read(live_out))
end
for _, f in ipairs(failures) do io.write("FAILED: ", f, "\n") end
for _, p in ipairs(problems) do io.write("PROBLEM: ", p, "\n") end
for _, f in ipairs({ out, out .. ".clean", live_out }) do os.remove(f) end
io.write(("total: %d runs, %d left something; %s\n"):format(runs, #failures,
  #problems == 0 and "decoys all survived" or ("%d problem(s) above"):format(#problems)))
os.exit(#failures == 0 and #problems == 0 and 0 or 1)
