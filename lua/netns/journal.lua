-- netns.journal: who owns which lab, so that nothing is left behind and
-- nothing that is not ours is ever deleted.
--
-- Before a lab (or a run's own namespaces, netns.owned) creates anything it
-- writes its plan to /run/nslab/<id>.journal, a file that appears whole and
-- never replaces another (netns.write_new): its owner (pid and the process
-- start time from /proc/PID/stat field 22) and every namespace and
-- /etc/netns path it is about to make; later steps append to it before they
-- act. The id is <lab>-<pid>-<start time>-<random>, unique across pid reuse,
-- and each namespace is marked with "nslab:<id>" (the alias of its lo, and
-- the content of its /run/netns file until the namespace is mounted there)
-- before its name appears. A clean teardown removes the journal.
--
-- `clean` visits the journals of owners that are gone (SIGKILL, a --keep
-- run). It trusts a journal only as far as the machine confirms it: the id
-- must name the owner the journal gives (so a copy of a live run's journal
-- with a dead owner claims a mark no namespace carries), a namespace is
-- deleted only if it carries that run's mark (a name someone else has taken
-- since is spared), a path only if it lies in /etc/netns/<one of that run's
-- namespaces>. A journal that claims anything else is refused and reported,
-- and kept (exit 1) unless --force.
local netns = require "netns"

local J = {}
J.dir = "/run/nslab"
J.version = "nslab-journal 2"

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

local readfile = netns.readfile

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

-- May this process remove namespaces? CAP_SYS_ADMIN (bit 21) in its
-- effective set, as root has.
function J.privileged()
  local caps = (readfile("/proc/self/status") or ""):match("\nCapEff:%s*(%x+)")
  return caps ~= nil and (tonumber(caps:sub(-8), 16) or 0) & (1 << 21) ~= 0
end

local self_pid, self_start = J.proc()

-- 8 hex digits from the kernel's random source.
local function random_part()
  local f = assert(io.open("/dev/urandom", "rb"))
  local b = f:read(4)
  f:close()
  return (b:gsub(".", function(c) return ("%02x"):format(c:byte()) end))
end

-- ---- one run's journal ----

local Journal = {}
Journal.__index = Journal

local function id_for(safe, pid, start, rand)
  return ("%s-%d-%s-%s"):format(safe, pid, start, rand)
end

-- A new journal for lab `labname`, with the plan: { {kind="ns", name=},
-- {kind="etcdir", path=}, {kind="etc", path=} }.
function J.create(labname, plan)
  local ok, e = mkdir(J.dir)
  if not ok then return nil, ("create %s: %s"):format(J.dir, tostring(e)) end
  local safe = tostring(labname):gsub("[^%w_.%-]", "_"):sub(1, 40)
  local id = id_for(safe, self_pid, self_start, random_part())
  local j = setmetatable({
    id = id, lab = labname, mark = "nslab:" .. id,
    path = ("%s/%s.journal"):format(J.dir, id),
  }, Journal)
  local t = {
    J.version,
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
  ok, e = pcall(netns.write_new, j.path, table.concat(t, "\n") .. "\n")
  if not ok then return nil, ("write journal %s: %s"):format(j.path, tostring(e)) end
  return j
end

-- Appends one line ("made PATH", "keep", "down", "plan KIND NAME") in one write.
function Journal:add(...)
  local f, e = io.open(self.path, "ab")
  if not f then return nil, e end
  local ok, we = f:write(table.concat({ ... }, " ") .. "\n")
  local cok, ce = f:close()
  if not ok or not cok then return nil, we or ce end
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
-- etc={path...}, etcdir={path...}, made={path=true}, keep, down, mark,
-- alive}, or nil and why it cannot be read.
function J.read(path)
  local s = readfile(path)
  if not s then return nil, "cannot be read" end
  if not s:match("^nslab%-journal %d+\n") then return nil, "not an nslab journal" end
  if s:sub(1, #J.version + 1) ~= J.version .. "\n" then
    return nil, "written by another version of nslab (" .. s:match("^[^\n]*") .. ")"
  end
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
    elseif k == "made" and w[2] then r.made[w[2]] = true
    elseif k == "keep" then r.keep = true
    elseif k == "down" then r.down = true
    end
  end
  if not r.id then return nil, "has no id" end
  if not (r.pid and r.start) then return nil, "has no owner" end
  if not s:match("\n$") then return nil, "ends in the middle of a line" end
  r.mark = "nslab:" .. r.id
  r.alive = J.alive(r.pid, r.start)
  return r
end

-- What in a journal the machine contradicts before anything is looked at:
-- an id that is not its owner's (a copy with the owner changed), a file
-- not named after its id (a copy). nil when it is consistent.
function J.forged(r)
  local pid, start = r.id:match("%-(%d+)%-(%d+)%-%x+$")
  if tonumber(pid) ~= r.pid or start ~= r.start then
    return ("its id %s does not name its owner (pid %d, start %s)"):format(r.id, r.pid, r.start)
  end
  if r.path ~= ("%s/%s.journal"):format(J.dir, r.id) then
    return ("its file name is not %s.journal"):format(r.id)
  end
  return nil
end

-- Every journal, with .alive set, and the unreadable ones: {path=, why=}.
function J.all()
  local out, bad = {}, {}
  local ok, files = pcall(netns.readdir, J.dir)
  for _, f in ipairs(ok and files or {}) do
    if f:match("%.journal$") then
      local path = J.dir .. "/" .. f
      local r, why = J.read(path)
      if r then out[#out + 1] = r else bad[#bad + 1] = { path = path, why = why } end
    end
  end
  return out, bad
end

-- A namespace by name: the handle and the mark of its lo; or, for a name
-- that is a file but no namespace, false and what the file holds (a name
-- reserved by netns.create holds the mark until the namespace is mounted).
local function inspect(name)
  local ok, ns = pcall(netns.open, name)
  if ok then
    local ok2, lo = pcall(ns.link_get, ns, "lo")
    return ns, ok2 and lo and lo.alias or nil
  end
  if type(ns) == "table" and ns.code == "EINVAL" then
    return false, readfile("/run/netns/" .. name)
  end
  return nil
end
J.inspect = inspect

-- Is the namespace `name` the one this journal made? Exactly when its lo
-- carries our mark: netns.create sets it before the name appears. Returns
-- true|false and the handle (nil when no such namespace), or "reserved"
-- for a name file holding our mark whose namespace was never mounted.
function J.owns(r, name)
  local ns, mark = inspect(name)
  if ns == false then return mark == r.mark and "reserved" or false, nil end
  if not ns then return nil end
  return mark == r.mark, ns
end

-- Kills every process in ns (SIGKILL) and waits (deadline, seconds) until
-- none is left, so that nothing keeps the namespace alive. ns may be a list
-- of namespaces: one /proc scan then finds the processes of them all.
function J.kill_processes(ns, deadline)
  if getmetatable(ns) ~= nil then ns = { ns } end
  return pcall(netns.kill_all, ns, "KILL", deadline or 5)
end

-- A namespace name as netns accepts it (a journal line could say anything).
local function good_name(name)
  return type(name) == "string" and #name <= 255 and name ~= "." and name ~= ".."
    and not name:find("[%s%c/]")
end

-- Is path /etc/netns/<one of owned>, or a file directly in one? Returns
-- the directory and the namespace, or nil.
local function etc_of(path, owned, file)
  local name, rest = path:match("^/etc/netns/([^/]+)(.*)$")
  if not name or not owned[name] then return nil end
  if file then
    local f = rest:match("^/([^/]+)$")
    if not f or f == "." or f == ".." then return nil end
  elseif rest ~= "" then
    return nil
  end
  return "/etc/netns/" .. name, name
end

-- Removes what the dead run r left (with opts.dry_run: says what it would
-- do). say(msg) reports each step. Returns whether everything it claims is
-- gone and whether nothing was refused.
function J.clean_one(r, say, opts)
  opts = opts or {}
  local dry = opts.dry_run
  local verb = dry and "would delete" or "deleted"
  local gone_all, refused = true, false
  local function refuse(msg) refused = true; say(msg) end

  -- Which names are this run's: only those the machine confirms.
  local owned, handles, reserved, order = {}, {}, {}, {}
  for i = #r.ns, 1, -1 do
    local name = r.ns[i]
    if not good_name(name) then
      refuse(("refused namespace %q: not a namespace name"):format(name))
    else
      local mine, ns = J.owns(r, name)
      if mine == "reserved" then
        reserved[#reserved + 1] = name
      elseif mine then
        owned[name], handles[#handles + 1] = true, ns
        order[#order + 1] = name
      elseif ns or mine == false then
        -- A name taken since (the run died, someone reused it): not ours,
        -- and no reason to doubt the journal.
        if ns then ns:close() end
        say(("spared namespace %s: it does not carry this run's mark %s (someone else made it)")
          :format(name, r.mark))
      end
    end
  end
  if not dry then J.kill_processes(handles) end

  -- Files, then directories, of /etc/netns/<an owned namespace> only.
  for i = #r.etc, 1, -1 do
    local p = r.etc[i]
    local dir = etc_of(p, owned, true)
    if not dir then
      local f = io.open(p, "rb")
      if f then
        f:close()
        refuse(("refused %s: not a file in /etc/netns/<a namespace of this run>"):format(p))
      end
    elseif r.made[dir] then
      local f = io.open(p, "rb")
      if f then
        f:close()
        if dry then say("would remove " .. p)
        elseif os.remove(p) then say("removed " .. p)
        else gone_all = false; say("could not remove " .. p) end
      end
    end
  end
  for i = #r.etcdir, 1, -1 do
    local p = r.etcdir[i]
    if not etc_of(p, owned, false) then
      if isdir(p) then refuse(("refused %s: not /etc/netns/<a namespace of this run>"):format(p)) end
    elseif r.made[p] and isdir(p) then
      if dry then say("would remove " .. p)
      elseif os.remove(p) then say("removed " .. p)
      else gone_all = false; say(("kept %s: not empty (files not of this lab?)"):format(p)) end
    end
  end

  for _, ns in ipairs(handles) do ns:close() end
  for _, name in ipairs(order) do
    local ok, e = true, nil
    if not dry then ok, e = pcall(netns.delete, name) end
    if ok then say(verb .. " namespace " .. name) else
      gone_all = false
      say(("could not delete namespace %s: %s"):format(name, tostring(e)))
    end
  end
  -- Killed between giving the name and mounting the namespace on it: a
  -- file holding our mark, no namespace at all.
  for _, name in ipairs(reserved) do
    local path = "/run/netns/" .. name
    if dry then say(("would remove %s (a namespace it had begun to create)"):format(path))
    elseif os.remove(path) then say(("removed %s (a namespace it had begun to create)"):format(path))
    else gone_all = false end
  end
  return gone_all, not refused
end

-- Does run r answer to one of the words (its id or its lab's name)?
local function selected(r, only)
  if not only then return true end
  for _, w in ipairs(only) do
    if w == r.id or w == r.lab then return true end
  end
  return false
end

-- Cleans one dead run r (see clean): refuses a forged journal, removes what
-- the machine confirms is r's with interruptions held, and the journal when
-- all of it is gone. Returns 0, or 1 when something was kept.
function J.clean_run(r, out, opts)
  opts = opts or {}
  out:write(("%s (lab %s, pid %d, %s):\n"):format(r.id, r.lab or "?", r.pid,
    r.keep and "kept with --keep" or "owner gone"))
  local function say(msg) out:write("  ", msg, "\n") end
  local why = J.forged(r)
  local gone, trusted
  if why then
    say("refused: " .. why)
    gone, trusted = true, false
  else
    gone, trusted = netns.uninterruptible(J.clean_one, r, say, opts)
  end
  if gone and trusted then
    if not opts.dry_run then os.remove(r.path) end
    return 0
  elseif gone and opts.force then
    if not opts.dry_run then os.remove(r.path) end
    say((opts.dry_run and "would remove" or "removed") .. " the journal (--force): nothing was deleted on its word")
    return 0
  end
  if not trusted then say("kept the journal " .. r.path .. " (remove it with --force)") end
  return 1
end

-- `nslab clean [--dry-run] [--force] [ID|LAB ...]`: removes the leftovers of
-- every run (or of the runs named) whose owner is gone. opts: only = {words},
-- dry_run, force. Returns the exit code: 0 all gone, 1 something was kept
-- (could not be removed, refused, an unreadable journal, a name that matches
-- no run or a live one), 2 not allowed (not root).
function J.clean(out, opts)
  out, opts = out or io.stdout, opts or {}
  if not J.privileged() then
    io.stderr:write("nslab clean: must run as root (CAP_SYS_ADMIN): nothing was touched\n")
    return 2
  end
  local runs, bad = J.all()
  local code, n = 0, 0
  local matched = {}
  for _, r in ipairs(runs) do
    if selected(r, opts.only) then
      matched[r.id], matched[r.lab or ""] = true, true
      if r.alive then
        if opts.only then
          out:write(("%s (lab %s): its owner, pid %d, is running: not cleaned\n"):format(r.id, r.lab or "?", r.pid))
          code = 1
        end
      else
        n = n + 1
        if J.clean_run(r, out, opts) ~= 0 then code = 1 end
      end
    end
  end
  for _, w in ipairs(opts.only or {}) do
    if not matched[w] then
      out:write(("%s: no run of that id or lab name has a journal\n"):format(w))
      code = 1
    end
  end
  if not opts.only then
    for _, b in ipairs(bad) do
      if opts.force then
        if not opts.dry_run then os.remove(b.path) end
        out:write(("%s %s: it %s (--force)\n"):format(opts.dry_run and "would remove" or "removed", b.path, b.why))
      else
        out:write(("kept %s: it %s (remove it with nslab clean --force)\n"):format(b.path, b.why))
        code = 1
      end
    end
  end
  if n == 0 and code == 0 then out:write("nothing to clean\n") end
  return code
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
      if good_name(name) and netns.exists(name) then up[#up + 1] = name end
    end
    local who
    if r.alive then who = ("owner pid %d (running)"):format(r.pid)
    elseif r.keep then who = ("kept by pid %d (exited; `nslab clean %s` removes it)"):format(r.pid, r.id)
    else who = ("owner pid %d is gone; `nslab clean %s` removes it"):format(r.pid, r.id) end
    out:write(("%s  lab %s  %s\n"):format(r.id, r.lab or "?", who))
    out:write(("  namespaces: %s\n"):format(#up > 0 and table.concat(up, " ") or "(none)"))
  end
  return #runs
end

return J
