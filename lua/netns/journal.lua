-- netns.journal: who owns which lab, so that nothing is left behind and
-- nothing that is not ours is ever deleted.
--
-- Before a lab creates anything it writes its plan to
-- /run/nslab/<id>.journal (temp file + rename): its owner (pid and the
-- process start time from /proc/PID/stat field 22, so a recycled pid is not
-- taken for the owner), every namespace and /etc/netns file it is about to
-- make. Each namespace is marked (its `lo` gets the alias "nslab:<id>")
-- before its name appears. A clean teardown removes the journal. `clean`
-- visits the journals of owners that are gone (SIGKILL, a --keep run) and
-- deletes exactly the namespaces that carry that run's mark, after killing
-- their processes; never a namespace of a live run, never one made by
-- `ip netns add`.
local netns = require "netns"

local J = {}
J.dir = "/run/nslab"

-- ---- directories, through the core (no shell, no lfs) ----

-- mkdir -p for one level: true when the directory is there afterwards.
local function mkdir(path)
  local ok, e = pcall(netns.mkdir, path, 493) -- 0755
  if ok then return true end
  return nil, tostring(e)
end
J.mkdir = mkdir

local function isdir(path)
  return (pcall(netns.readdir, path))
end
J.isdir = isdir

local function listdir(path)
  local ok, t = pcall(netns.readdir, path)
  return ok and t or {}
end

local function readfile(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local s = f:read("a")
  f:close()
  return s
end

-- Writes path through a temporary file and a rename, so a reader (or a
-- SIGKILL) never sees half a file.
local function write_atomic(path, text)
  local tmp = path .. ".tmp"
  local f, e = io.open(tmp, "wb")
  if not f then return nil, e end
  local ok, we = f:write(text)
  f:close()
  if not ok then os.remove(tmp); return nil, we end
  local r, re = os.rename(tmp, path)
  if not r then os.remove(tmp); return nil, re end
  return true
end
J.write_atomic = write_atomic

-- ---- processes ----

-- pid, start time (clock ticks since boot) and state letter of a process,
-- or nil if there is no such process.
function J.proc(pid)
  local s = readfile(("/proc/%s/stat"):format(pid or "self"))
  if not s then return nil end
  local rest = s:match("^.*%)%s+(.*)$") -- comm may contain spaces and ')'
  local f = {}
  for w in rest:gmatch("%S+") do f[#f + 1] = w end
  -- rest starts at field 3 (state); field 22 (starttime) is f[20]
  return tonumber(s:match("^(%d+)")), f[20], f[1]
end

-- Is the process that started at `start` still running? A zombie (killed,
-- not yet reaped by its parent) is not: it holds nothing any more.
function J.alive(pid, start)
  local p, st, state = J.proc(pid)
  return p ~= nil and st == start and state ~= "Z" and state ~= "X"
end

local self_pid, self_start = J.proc()

-- ---- one run's journal ----

local Journal = {}
Journal.__index = Journal
local serial = 0

-- A new journal for lab `labname`, with the plan: { {kind="ns", name=}, {kind="etcdir", path=}, {kind="etc", path=} }.
function J.create(labname, plan)
  local ok, e = mkdir(J.dir)
  if not ok then return nil, ("create %s: %s"):format(J.dir, tostring(e)) end
  serial = serial + 1
  local safe = tostring(labname):gsub("[^%w_.%-]", "_"):sub(1, 40)
  local id = ("%s-%d-%d"):format(safe, self_pid, serial)
  local j = setmetatable({
    id = id, lab = labname, mark = "nslab:" .. id,
    path = ("%s/%s.journal"):format(J.dir, id), lines = {},
  }, Journal)
  local t = {
    "nslab-journal 1",
    "id " .. id,
    "lab " .. safe,
    ("owner %d %s"):format(self_pid, self_start),
    "created " .. os.time(),
  }
  for _, p in ipairs(plan) do
    t[#t + 1] = ("plan %s %s"):format(p.kind, p.name or p.path)
    -- which node a namespace is, for `nslab shell LAB NODE`
    if p.node then t[#t + 1] = ("node %s %s"):format(p.name, p.node) end
  end
  ok, e = write_atomic(j.path, table.concat(t, "\n") .. "\n")
  if not ok then return nil, ("write journal %s: %s"):format(j.path, tostring(e)) end
  return j
end

-- Appends one line ("ns NAME INODE", "etc PATH", "keep", "down") in one write.
function Journal:add(...)
  local f, e = io.open(self.path, "ab")
  if not f then return nil, e end
  f:write(table.concat({ ... }, " ") .. "\n")
  f:close()
  return true
end

-- Extends the plan of a live lab (a namespace or file added after up).
function Journal:plan(kind, name)
  return self:add("plan", kind, name)
end

function Journal:remove()
  os.remove(self.path)
end

-- ---- reading journals (clean, list) ----

-- Parses a journal file: {id, lab, pid, start, created, ns={name...}, node={nsname=node},
-- etc={path...}, etcdir={path...}, keep, down}.
function J.read(path)
  local s = readfile(path)
  if not s or not s:match("^nslab%-journal 1\n") then return nil end
  local r = { path = path, ns = {}, node = {}, etc = {}, etcdir = {}, made = {} }
  for line in s:gmatch("[^\n]+") do
    local w = {}
    for x in line:gmatch("%S+") do w[#w + 1] = x end
    local k = w[1]
    if k == "id" then r.id = w[2]
    elseif k == "lab" then r.lab = w[2]
    elseif k == "owner" then r.pid, r.start = tonumber(w[2]), w[3]
    elseif k == "created" then r.created = tonumber(w[2])
    elseif k == "plan" and w[2] == "ns" then r.ns[#r.ns + 1] = w[3]
    elseif k == "node" then r.node[w[2]] = w[3]
    elseif k == "plan" and w[2] == "etc" then r.etc[#r.etc + 1] = w[3]
    elseif k == "plan" and w[2] == "etcdir" then r.etcdir[#r.etcdir + 1] = w[3]
    elseif k == "made" then r.made[w[2]] = true
    elseif k == "keep" then r.keep = true
    elseif k == "down" then r.down = true
    end
  end
  if not r.id or not r.pid then return nil end
  r.mark = "nslab:" .. r.id
  r.alive = J.alive(r.pid, r.start)
  return r
end

-- Every readable journal, with .alive set; also the names of stale temp files.
function J.all()
  local out, junk = {}, {}
  for _, f in ipairs(listdir(J.dir)) do
    local path = J.dir .. "/" .. f
    if f:match("%.journal$") then
      local r = J.read(path)
      if r then out[#out + 1] = r else junk[#junk + 1] = path end
    elseif f:match("%.journal%.tmp$") then
      local pid = tonumber(f:match("%-(%d+)%-%d+%.journal%.tmp$"))
      local _, _, state = J.proc(pid or 0)
      if pid and (not state or state == "Z" or state == "X") then junk[#junk + 1] = path end
    end
  end
  return out, junk
end

-- The lab mark of a namespace (alias of its lo), by name.
local function inspect(name)
  local ok, ns = pcall(netns.open, name)
  if not ok then return nil end
  local ok2, lo = pcall(ns.link_get, ns, "lo")
  return ns, ok2 and lo and lo.alias or nil
end
J.inspect = inspect

-- Is the namespace `name` the one this journal made? Exactly when its lo
-- carries our mark: netns.create sets it before the name appears.
function J.owns(r, name)
  local ns, alias = inspect(name)
  if not ns then return nil end
  return alias == r.mark, ns
end

-- Kills every process in ns (SIGKILL) and waits (deadline, seconds) until
-- none is left, so that nothing keeps the namespace alive. ns may be a list
-- of namespaces: one /proc scan then finds the processes of them all.
function J.kill_processes(ns, deadline)
  if getmetatable(ns) ~= nil then ns = { ns } end
  return pcall(netns.kill_all, ns, "KILL", deadline or 5)
end

-- Removes what the dead run r left; returns a list of messages (what was
-- done and what was spared) and whether everything of it is gone.
function J.clean_one(r, say)
  local ok_all = true
  for i = #r.ns, 1, -1 do
    local name = r.ns[i]
    local mine, ns = J.owns(r, name)
    if mine then
      J.kill_processes(ns)
      ns:close()
      local ok, e = pcall(netns.delete, name)
      if ok then say("deleted namespace " .. name) else
        ok_all = false
        say(("could not delete namespace %s: %s"):format(name, tostring(e)))
      end
    elseif ns then
      ns:close()
      say(("spared namespace %s: it does not carry this run's mark %s (someone else made it)")
        :format(name, r.mark))
    else
      -- Killed between reserving the name and mounting the namespace on it:
      -- an empty file that is no namespace at all (ip netns list shows it).
      local path = "/run/netns/" .. name
      local ok, e = pcall(netns.open, name)
      local f = not ok and type(e) == "table" and e.code == "EINVAL" and io.open(path, "rb")
      if f then
        local empty = f:read(1) == nil
        f:close()
        if empty and os.remove(path) then say("removed " .. path .. " (a namespace it had begun to create)") end
      end
    end
  end
  -- Files only inside an /etc/netns/NAME directory this run made itself.
  for i = #r.etc, 1, -1 do
    local p = r.etc[i]
    if r.made[p:match("^(.*)/")] and os.remove(p) then say("removed " .. p) end
  end
  for i = #r.etcdir, 1, -1 do
    local p = r.etcdir[i]
    if r.made[p] and isdir(p) then
      if os.remove(p) then say("removed " .. p) else
        say(("kept %s: not empty (files not of this lab?)"):format(p))
      end
    end
  end
  return ok_all
end

-- `nslab clean`: removes the leftovers of every run whose owner is gone.
-- Returns (number of runs cleaned, all ok).
function J.clean(out)
  out = out or io.stdout
  local runs, junk = J.all()
  local n, ok_all = 0, true
  for _, r in ipairs(runs) do
    if not r.alive then
      out:write(("%s (lab %s, pid %d, %s):\n"):format(r.id, r.lab or "?", r.pid,
        r.keep and "kept with --keep" or "owner gone"))
      local ok = J.clean_one(r, function(msg) out:write("  ", msg, "\n") end)
      if ok then os.remove(r.path); n = n + 1 else ok_all = false end
    end
  end
  for _, p in ipairs(junk) do os.remove(p) end
  if n == 0 and ok_all then out:write("nothing to clean\n") end
  return n, ok_all
end

-- `nslab list`: the labs that are up and who owns them.
function J.list(out)
  out = out or io.stdout
  local runs = J.all()
  if #runs == 0 then
    out:write("no labs\n")
    return 0
  end
  for _, r in ipairs(runs) do
    local up = {}
    for _, name in ipairs(r.ns) do
      if netns.exists(name) then up[#up + 1] = name end
    end
    local who
    if r.alive then who = ("owner pid %d (running)"):format(r.pid)
    elseif r.keep then who = ("kept by pid %d (exited; `nslab clean` removes it)"):format(r.pid)
    else who = ("owner pid %d is gone; `nslab clean` removes it"):format(r.pid) end
    out:write(("%s  lab %s  %s\n"):format(r.id, r.lab or "?", who))
    out:write(("  namespaces: %s\n"):format(#up > 0 and table.concat(up, " ") or "(none)"))
  end
  return #runs
end

return J
