-- nslab leaves the machine as it found it (issue 11): a signal at any moment
-- of up() or down(), SIGPIPE, an interruption a pcall caught, a SIGKILL
-- followed by `nslab clean`, and journals that lie. The windows are made
-- deterministic with strace's fault injection (a syscall held for a while,
-- the signal sent while it is held); the lab is tools/teardown_lab.lua
-- (three routers, two hosts, an /etc/netns file, a background process).
local netns = require "netns"
local journal = require "netns.journal"
local lab = require "netns.lab"
local T = require "spec.testlib"

local NSLAB = os.getenv("NSLAB") or "build/nslab"
local LAB = "tools/teardown_lab.lua"
local have_strace = os.execute("command -v strace > /dev/null")

local prefixes, files = {}, {}

local function prefix()
  local p = T.name("D") .. "-"
  prefixes[#prefixes + 1] = p
  return p
end

local ours = T.ours

local function etc_left(p)
  local ok, t = pcall(netns.readdir, "/etc/netns")
  local n = 0
  for _, f in ipairs(ok and t or {}) do
    if f:sub(1, #p) == p then n = n + 1 end
  end
  return n
end

-- The journals of runs of this spec (lab "torture" or "run" with our prefix
-- in their plan).
local function journals_of(p)
  local t = {}
  for _, r in ipairs((journal.all())) do
    for _, n in ipairs(r.ns) do
      if n:sub(1, #p) == p then t[#t + 1] = r; break end
    end
  end
  return t
end

local function nothing_left(p)
  assert.are.same({}, ours(p))
  assert.are.equal(0, etc_left(p))
  assert.are.equal(0, #journals_of(p))
end

local function sh(cmd)
  local p = assert(io.popen(cmd .. " 2>&1; echo \"rc=$?\""))
  local out = p:read("a")
  p:close()
  return out:gsub("rc=%d+\n$", ""), tonumber(out:match("rc=(%d+)\n$"))
end

local function file(text, path)
  path = path or os.tmpname()
  local f = assert(io.open(path, "wb"))
  f:write(text)
  f:close()
  files[#files + 1] = path
  return path
end

-- A pid no process has (a shell that has exited).
local function dead_pid()
  local p = io.popen("exec sh -c 'echo $$'")
  local pid = p:read("n")
  p:close()
  return pid
end

-- nslab under strace with one fault injected (`inject`, strace's syntax):
-- the job's pid is nslab's own (strace would take a signal for itself).
local function traced(inject, args)
  local pidf = os.tmpname()
  files[#files + 1] = pidf
  local j = T.start(("strace -o /dev/null -e inject=%s sh -c 'echo $$ > %s; exec \"$0\" \"$@\"' %s %s")
    :format(inject, pidf, NSLAB, args))
  assert.is_true(T.wait_until(function() return (T.read(pidf) or ""):match("%d+") ~= nil end, 10))
  j.pid = tonumber(T.read(pidf):match("%d+"))
  return j
end

-- The lab up and held (arg "hold"): a live run, with the path of its journal.
local function live_lab(p, tag)
  local j = T.start(("%s --prefix %s %s %s hold"):format(NSLAB, p, LAB, tag or "7701"))
  assert.is_true(T.wait_line(j, "up"), T.output(j))
  local r = assert(journals_of(p)[1])
  return j, r.path, r
end

local function cleanup()
  T.stop_jobs()
  for _, p in ipairs(prefixes) do
    for _, n in ipairs(ours(p)) do T.track(n) end
    for _, r in ipairs(journals_of(p)) do os.remove(r.path) end
    os.execute(("rm -rf /etc/netns/%s*"):format(p))
  end
  prefixes = {}
  T.cleanup()
  for _, f in ipairs(files) do os.remove(f) end
  files = {}
end

describe("nslab's teardown", function()
  after_each(cleanup)

  -- 1
  it("leaves nothing when a signal arrives while up() creates a namespace", function()
    if not have_strace then pending("strace is not installed (tools/install-deps)") return end
    local p = prefix()
    -- Every mount (one per namespace) is held 0.5 s after it is done: the
    -- signal arrives once h1 exists, between its creation and its record.
    local j = traced("mount:delay_exit=500000", ("--prefix %s %s 7711"):format(p, LAB))
    assert.is_true(T.wait_until(function() return netns.exists(p .. "h1") end, 60),
      "h1 did not appear within 60 s (nslab under strace: each syscall stops twice)")
    os.execute("kill -INT " .. j.pid)
    local rc, out = T.finish(j)
    assert.are.equal(130, rc, out)
    nothing_left(p)
  end)

  -- 2
  it("tears down and exits 141 when standard output is a closed pipe (SIGPIPE)", function()
    local p = prefix()
    local s = file([[
      local lab = require "netns.lab"
      local l <close> = lab.new { name = "pipe" }
      l:host("a"); l:host("b")
      l:link("a 192.0.2.1/24", "b 192.0.2.2/24")
      l:up()
      for i = 1, 1e6 do print("line " .. i); io.stdout:flush() end
    ]])
    local rcf = os.tmpname()
    files[#files + 1] = rcf
    local out = sh(("( %s --prefix %s %s 2>/dev/null; echo $? > %s ) | head -1"):format(NSLAB, p, s, rcf))
    assert.are.equal("line 1\n", out)
    assert.are.equal("141\n", T.read(rcf))
    nothing_left(p)
  end)

  -- 3
  it("finishes down() that a signal interrupts, and still exits 128+N", function()
    if not have_strace then pending("strace is not installed (tools/install-deps)") return end
    local p = prefix()
    -- Every poll held 0.3 s: once the names are gone, down() is waiting in
    -- netns.release for the kernel to destroy the namespaces.
    local j = traced("poll:delay_exit=300000", ("--prefix %s %s 7712"):format(p, LAB))
    assert.is_true(T.wait_line(j, "down-start"), T.output(j))
    assert.is_true(T.wait_until(function() return #ours(p) == 0 end, 10))
    os.execute("kill -TERM " .. j.pid)
    local rc, out = T.finish(j)
    assert.are.equal(143, rc, out)
    assert.is_nil(out:find("teardown", 1, true), out)
    nothing_left(p)
  end)

  -- 4
  it("raises an interruption again after the pcall that caught it", function()
    for _, loop in ipairs {
      "while n.now() - t < 30 do pcall(n.sleep, 0.05) end",
      "while n.now() - t < 30 do pcall(function() while true do end end) end",
    } do
      local j = T.start(NSLAB .. ([[ -e 'local n = require "netns" local t = n.now()
        print("ready") io.stdout:flush() %s']]):format(loop))
      assert.is_true(T.wait_line(j, "ready"))
      os.execute("kill -INT " .. j.pid)
      -- Stopped at once, not after the 30 s of the loop.
      assert.is_true(T.wait_until(function()
        return not journal.alive(j.pid, select(2, journal.proc(j.pid)))
      end, 10), loop)
      assert.are.equal(130, (T.finish(j)), loop)
    end
  end)

  -- 5
  it("gives every journal an id of its own, naming pid and start time, and never overwrites one", function()
    local pid, start = journal.proc()
    local a = assert(journal.create("same", {}))
    local b = assert(journal.create("same", {}))
    files[#files + 1] = a.path
    files[#files + 1] = b.path
    assert.are_not.equal(a.id, b.id)
    assert.matches("^same%-" .. pid .. "%-" .. start .. "%-%x+$", a.id)
    assert.is_not_nil(T.read(a.path)); assert.is_not_nil(T.read(b.path))
    assert.are.equal("EEXIST", T.errcode(netns.write_new, a.path, "other"))
    assert.matches("^nslab%-journal", T.read(a.path))
  end)

  -- 6
  it("journals an /etc/netns directory before making it, so clean removes it after a SIGKILL", function()
    if not have_strace then pending("strace is not installed (tools/install-deps)") return end
    local p = prefix()
    local j = traced("mkdir:delay_exit=500000", ("--prefix %s %s 7713"):format(p, LAB))
    assert.is_true(T.wait_until(function() return journal.isdir("/etc/netns/" .. p .. "h1") end, 60))
    os.execute("kill -9 " .. j.pid)
    T.finish(j)
    local out, rc = sh(NSLAB .. " clean")
    assert.are.equal(0, rc, out)
    nothing_left(p)
  end)

  -- 7
  it("refuses a copy of a live run's journal that claims a dead owner, and keeps it", function()
    local p = prefix()
    local live, path = live_lab(p, "7714")
    local text = T.read(path):gsub("\nowner %d+ ", "\nowner " .. dead_pid() .. " ")
    local forged = file(text, journal.dir .. "/" .. T.name("forged") .. ".journal")
    local out, rc = sh(NSLAB .. " clean")
    assert.are.equal(1, rc, out)
    assert.matches("does not name its owner", out, 1, true)
    assert.are.equal(5, #ours(p))
    assert.are.equal(1, tonumber((sh("pgrep -c -x -f 'sleep 7714'"))))
    assert.is_not_nil(T.read(forged))
    assert.is_not_nil(T.read(path))
    os.execute("kill -TERM " .. live.pid)
    assert.are.equal(143, (T.finish(live)))
    os.remove(forged)
    nothing_left(p)
  end)

  it("deletes no path outside /etc/netns/<a namespace of the dead run>", function()
    local dir = "/tmp/" .. T.name("etc")
    assert.is_true(journal.mkdir(dir))
    local victim = file("keep me\n", dir .. "/file")
    local pid = dead_pid()
    local start = "12345"
    local id = ("liar-%d-%s-00c0ffee"):format(pid, start)
    local path = file(table.concat({
      journal.version, "id " .. id, "lab liar", ("owner %d %s"):format(pid, start), "created 0",
      "plan etcdir " .. dir, "plan etc " .. victim, "made " .. dir, "" }, "\n"),
      journal.dir .. "/" .. id .. ".journal")
    local out, rc = sh(NSLAB .. " clean")
    assert.are.equal(1, rc, out)
    assert.matches("refused " .. victim:gsub("%p", "%%%0"), out)
    assert.are.equal("keep me\n", T.read(victim))
    assert.is_not_nil(T.read(path))
    out, rc = sh(NSLAB .. " clean --force " .. id)
    assert.are.equal(0, rc, out)
    assert.are.equal("keep me\n", T.read(victim))
    assert.is_nil(T.read(path))
    os.remove(victim); os.remove(dir)
  end)

  -- 8
  it("exits 2 as a non-root user, before touching anything", function()
    local pid = dead_pid()
    local id = ("nonroot-%d-1-00000001"):format(pid)
    local path = file(table.concat({ journal.version, "id " .. id, "lab nonroot",
      ("owner %d 1"):format(pid), "" }, "\n"), journal.dir .. "/" .. id .. ".journal")
    local out, rc = sh("setpriv --reuid=65534 --regid=65534 --clear-groups " .. NSLAB .. " clean")
    assert.are.equal(2, rc, out)
    assert.matches("must run as root", out, 1, true)
    assert.is_not_nil(T.read(path))
  end)

  -- 9
  it("reports an unreadable journal by name and reason, keeps it, and removes it only with --force", function()
    local path = file("garbage\n", journal.dir .. "/" .. T.name("junk") .. ".journal")
    local out, rc = sh(NSLAB .. " clean")
    assert.are.equal(1, rc, out)
    assert.matches("kept " .. path:gsub("%p", "%%%0") .. ": it not an nslab journal", out)
    assert.is_not_nil(T.read(path))
    out, rc = sh(NSLAB .. " clean --force")
    assert.are.equal(0, rc, out)
    assert.is_nil(T.read(path))
  end)

  -- 10
  it("cleans one run by id or lab name, and says what it would do with --dry-run", function()
    local p1, p2 = prefix(), prefix()
    local j1, _, r1 = live_lab(p1, "7715")
    local j2, _, r2 = live_lab(p2, "7716")
    os.execute(("kill -9 %d %d"):format(j1.pid, j2.pid))
    T.finish(j1); T.finish(j2)
    local out, rc = sh(NSLAB .. " clean --dry-run")
    assert.are.equal(0, rc, out)
    assert.matches("would delete namespace " .. (p1 .. "h1"):gsub("%p", "%%%0"), out)
    assert.are.equal(5, #ours(p1)); assert.are.equal(5, #ours(p2))
    out, rc = sh(NSLAB .. " clean " .. r1.id)
    assert.are.equal(0, rc, out)
    assert.are.same({}, ours(p1))
    assert.are.equal(5, #ours(p2))
    assert.are.equal(0, tonumber((sh("pgrep -c -x -f 'sleep 7715'"))))
    out, rc = sh(NSLAB .. " clean no-such-run")
    assert.are.equal(1, rc, out)
    assert.matches("no-such-run: no run", out, 1, true)
    out, rc = sh(NSLAB .. " clean " .. r2.id)
    assert.are.equal(0, rc, out)
    nothing_left(p1); nothing_left(p2)
  end)

  it("will not clean a named run that is alive", function()
    local p = prefix()
    local live, _, r = live_lab(p, "7717")
    local out, rc = sh(NSLAB .. " clean " .. r.id)
    assert.are.equal(1, rc, out)
    assert.matches("is running: not cleaned", out, 1, true)
    assert.are.equal(5, #ours(p))
    os.execute("kill -TERM " .. live.pid)
    assert.are.equal(143, (T.finish(live)))
  end)

  -- 11
  it("makes the namespaces a script creates with netns.create the run's", function()
    local p = prefix()
    local out, rc = sh(NSLAB .. (" -e 'require\"netns\".create(\"%sx\"); error(\"boom\")'"):format(p))
    assert.are.equal(2, rc, out)
    nothing_left(p)
    -- after a SIGKILL, clean removes them
    local j = T.start(NSLAB .. (" -e 'local n = require \"netns\" n.create(\"%sy\") n.create(\"%sz\")"
      .. " print(\"made\") io.stdout:flush() n.sleep(60)'"):format(p, p))
    assert.is_true(T.wait_line(j, "made"))
    os.execute("kill -9 " .. j.pid)
    T.finish(j)
    assert.are.equal(2, #ours(p))
    out, rc = sh(NSLAB .. " clean")
    assert.are.equal(0, rc, out)
    nothing_left(p)
  end)

  it("lets a namespace created with persist = true outlive the run", function()
    local p = prefix()
    local out, rc = sh(NSLAB .. (" -e 'require\"netns\".create(\"%sk\", { persist = true })'"):format(p))
    assert.are.equal(0, rc, out)
    assert.are.same({ p .. "k" }, ours(p))
    assert.are.equal(0, #journals_of(p))
    assert.is_nil(T.ipj("-n", p .. "k", "link", "show", "lo")[1].ifalias)
  end)

  it("changes nothing under the stock lua5.4: netns.create makes an unmarked namespace", function()
    local ns, name = T.ns("plain")
    assert.is_nil(T.ipj("-n", name, "link", "show", "lo")[1].ifalias)
    ns:close()
  end)

  -- 12
  it("refuses NUL bytes in names, fields and addresses, and cuts long values in messages", function()
    local ns, name = T.ns("nul")
    local _, peer_name = T.ns("nulpeer")
    local peer = netns.open(peer_name)
    local function refused(fn, ...)
      local ok, e = pcall(fn, ...)
      assert.is_false(ok)
      assert.matches("contains a NUL byte", tostring(e))
    end
    refused(ns.link_add, ns, { name = "a\0x", kind = "dummy" })
    refused(ns.link_add, ns, { name = "a", kind = "veth", peer = { name = "b\0x", ns = peer } })
    refused(ns.link_set, ns, "lo", { name = "c\0x" })
    refused(ns.addr_add, ns, "lo", "10.0.0.1/24\0junk")
    refused(ns.route_add, ns, { dst = "10.1.0.0/16\0x", dev = "lo" })
    refused(ns.route_add, ns, { dst = "10.1.0.0/16", via = "127.0.0.1\0x" })
    refused(ns.ping, ns, "127.0.0.1\0x")
    refused(netns.mkdir, "/tmp/" .. T.name("d") .. "\0x")
    local links = T.ipj("-n", name, "link", "show")
    assert.are.equal(1, #links) -- lo only
    assert.are.equal(1, #T.ipj("-n", peer_name, "link", "show"))
    local ok, e = pcall(netns.create, ("x"):rep(1 << 20))
    assert.is_false(ok)
    assert.is_true(#tostring(e) < 300, #tostring(e))
    assert.matches("1048576 bytes", tostring(e))
    peer:close()
  end)

  it("checks option types and sysctl keys when they are declared, at the script's line", function()
    local l = lab.new { name = "decl", prefix = T.name("decl") .. "-" }
    local ok, e = pcall(l.router, l, "r", { forwarding = "no" })
    assert.is_false(ok)
    assert.matches("forwarding must be a boolean", e)
    l:host("h")
    ok, e = pcall(function() l:sysctl("h", "kernel.hostname", "x") end)
    assert.is_false(ok)
    assert.matches("teardown_spec.lua:%d+: .*bad sysctl key 'kernel.hostname'", e)
    ok, e = pcall(function() l:host(("n"):rep(1 << 20)) end)
    assert.is_false(ok)
    assert.is_true(#e < 300, #e)
  end)

  -- Done when: random moments, every signal, both phases, and SIGKILL + clean
  -- with decoys beside it (the 100-run version: tools/signal-torture).
  it("leaves nothing after signals at random moments of up() and down(), and spares the decoys", function()
    local out, rc = sh("NSLAB=" .. NSLAB .. " tools/signal-torture 2")
    assert.are.equal(0, rc, out)
    assert.matches("total: %d+ runs, 0 left something; decoys all survived", out)
  end)
end)
