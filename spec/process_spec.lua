local netns = require "netns"
local T = require "spec.testlib"

local gone = T.gone

local our_zombies = T.zombies

local our_fds = T.fds

local function contains(t, v)
  for _, x in ipairs(t) do if x == v then return true end end
  return false
end

local esc = T.esc

-- Reads from p until pattern shows up in what it printed (or the deadline).
local function read_until(p, pattern, deadline)
  local seen, seen_err = "", ""
  T.wait_until(function()
    local out, err = p:read()
    seen, seen_err = seen .. (out or ""), seen_err .. (err or "")
    return seen:find(pattern) ~= nil
  end, deadline or 5)
  return seen, seen_err
end

describe("ns:spawn and netns.Process", function()
  after_each(T.cleanup)

  it("starts a background process: pid, running, kill, wait reports the signal", function()
    local ns = T.ns("bg")
    local p = ns:spawn({ "sleep", "30" })
    assert.is_number(p.pid)
    assert.is_true(p:running())
    assert.is_true(contains(ns:pids(), p.pid))
    assert.matches('netns.Process (pid ' .. p.pid .. ', "sleep" in ', tostring(p), 1, true)
    assert.is_nil(p:wait(0))
    assert.is_nil(p:wait(0.2))
    assert.is_true(p:kill())
    local r = p:wait(5)
    assert.are.equal("signaled", r.status)
    assert.are.equal(15, r.signal)
    assert.is_false(r.timed_out)
    assert.is_false(p:running())
    assert.are.same(r.status, p:wait().status)	-- waiting again gives the same
    assert.is_false(p:kill())	-- already reaped
    assert.is_true(gone(p.pid))
    p:close()
    p:close()
    assert.is_true(p.closed)
    assert.has_error(function() p:running() end, "process is closed")
    assert.matches("closed", tostring(p))
  end)

  it("kills with the signal asked for, by name or number", function()
    local ns = T.ns("sig")
    local p = ns:spawn({ "sleep", "30" })
    p:kill("SIGUSR1")
    assert.are.equal(10, p:wait(5).signal)
    p = ns:spawn({ "sleep", "30" })
    p:kill(9)
    assert.are.equal(9, p:wait(5).signal)
    p = ns:spawn({ "sleep", "30" })
    p:kill("kill")
    assert.are.equal(9, p:wait(5).signal)
  end)

  it("reads a server's output while it runs, then its exit code", function()
    local ns, name = T.ns("srv")
    assert.is_true(select(2, T.run("ip -n " .. name .. " link set lo up")))
    local server = ns:spawn({ "nc", "-l", "127.0.0.1", "7007" })
    local sent = T.wait_until(function()
      return ns:exec({ "sh", "-c", "echo hello server | nc -N 127.0.0.1 7007" }).code == 0
    end, 5)
    assert.is_true(sent)
    assert.are.equal("hello server\n", read_until(server, "\n"))
    local r = server:wait(5)
    assert.are.equal("exited", r.status)
    assert.are.equal(0, r.code)
    assert.are.equal("", r.stdout)	-- everything was read already
    server:close()
  end)

  it("read() returns only what is new, and wait() what was not read", function()
    local ns = T.ns("rd")
    -- The second half is written only once the first was read (a nap between
    -- them is no proof on a slow machine): the child waits for a file.
    local go = ("/tmp/nslab-process-spec-%d-go"):format(T.pid)
    os.remove(go)
    finally(function() os.remove(go) end)
    local p = ns:spawn({ "sh", "-c", "echo e1 >&2; echo one; until [ -e " .. go .. " ]; do sleep 0.01; done; " ..
                                     "echo two; echo e2 >&2" })
    local out, err = read_until(p, "one\n")
    assert.are.equal("one\n", out)
    assert.are.equal("e1\n", err)
    assert(io.open(go, "w")):close()
    local r = p:wait(5)
    assert.are.equal("two\n", r.stdout)
    assert.are.equal("e2\n", r.stderr)
    local out, err = p:read()
    assert.are.equal("", out)
    assert.are.equal("", err)
  end)

  it("sends output to a file or /dev/null, and read() gives nil for those", function()
    local ns = T.ns("file")
    local path = os.tmpname()
    local p = ns:spawn({ "sh", "-c", "echo to-file; echo err-too >&2" },
      { stdout = path, stderr = path })
    local r = p:wait(5)
    assert.are.equal(0, r.code)
    assert.is_nil(r.stdout)
    assert.is_nil(r.stderr)
    local f = assert(io.open(path))
    local s = f:read("a")
    f:close()
    os.remove(path)
    assert.are.equal("to-file\nerr-too\n", s)
    p = ns:spawn({ "echo", "lost" }, { stdout = "null", stderr = "null" })
    assert.are.equal(0, p:wait(5).code)
    assert.are.same({}, { p:read() })
  end)

  it("takes env, clear_env, cwd and a stdin file", function()
    local ns = T.ns("opts")
    local p = ns:spawn({ "sh", "-c", 'echo "$A $B $(pwd)"; cat' },
      { env = { A = "1" }, clear_env = true, cwd = "/tmp", stdin = "/etc/hostname" })
    local r = p:wait(5)
    local f = assert(io.open("/etc/hostname"))
    assert.are.equal("1  /tmp\n" .. f:read("a"), r.stdout)
    f:close()
  end)

  it("dies when its parent dies (PR_SET_PDEATHSIG)", function()
    local ns, name = T.ns("orphan")
    local script = ([[local netns = require "netns"
      local ns = netns.open(%q)
      local p = ns:spawn({"sleep", "30"}, {stdout = "null"})
      io.write(p.pid, "\n") io.flush()
      netns.sleep(30)]]):format(name)
    local parent = ns:spawn({ "lua5.4", "-e", script },
      { env = { LUA_CPATH = os.getenv("LUA_CPATH") or "" }, cwd = T.run("pwd"):gsub("\n$", "") })
    local child = tonumber(read_until(parent, "%d+\n"):match("%d+"))
    assert.truthy(child)
    assert.is_false(gone(child))
    parent:kill("KILL")
    assert.are.equal(9, parent:wait(5).signal)
    assert.is_true(T.wait_until(function() return gone(child) end, 5))
  end)

  it("is ended and reaped by close(), by <close> and by the garbage collector", function()
    local ns = T.ns("gc")
    local p = ns:spawn({ "sleep", "30" })
    local pid = p.pid
    p:close()
    assert.is_true(gone(pid))
    do
      local q <close> = ns:spawn({ "sleep", "30" })
      pid = q.pid
    end
    assert.is_true(gone(pid))
    pid = ns:spawn({ "sleep", "30" }).pid
    collectgarbage()
    collectgarbage()
    assert.is_true(gone(pid))
    assert.are.same({}, ns:pids())
  end)

  it("close() escalates to SIGKILL when SIGTERM is ignored, for the whole group", function()
    local ns = T.ns("term")
    local p = ns:spawn({ "sh", "-c", "trap '' TERM; while :; do sleep 0.05; done" })
    assert.is_true(T.wait_until(function() return #ns:pids() >= 2 end, 5))
    local t0 = netns.now()
    p:close()
    local took = netns.now() - t0
    assert.is_true(took >= 0.9 and took < 3, "close took " .. took)
    assert.is_true(T.wait_until(function() return #ns:pids() == 0 end, 5))
  end)

  it("raises naming a command that does not exist, or a file it cannot open", function()
    local ns, name = T.ns("err")
    local ok, e = pcall(ns.spawn, ns, { "nonexistent-cmd" })
    assert.is_false(ok)
    assert.are.equal("ENOENT", e.code)
    assert.matches(esc('spawn "nonexistent-cmd" in ' .. name ..
      ": No such file or directory (ENOENT)") .. "$", tostring(e))
    ok, e = pcall(ns.spawn, ns, { "true" }, { stdout = "/nonexistent-dir/log" })
    assert.is_false(ok)
    assert.matches(esc('spawn "true" in ' .. name .. ': open stdout "/nonexistent-dir/log": No such file'),
      tostring(e))
  end)

  describe("refuses bad input before starting anything:", function()
    local marker = "/tmp/nslab-process-spec-" .. T.pid
    for _, case in ipairs {
      { "empty argv", {}, nil, "argv is empty" },
      { "a number in argv", { "touch", marker, 2 }, nil, "argv[3]: string expected, got number" },
      { "an unknown option", { "touch", marker }, { timeout = 1 }, "unknown option 'timeout'" },
      { "stdin = \"pipe\"", { "touch", marker }, { stdin = "pipe" }, "field 'stdin'" },
      { "an empty stdout path", { "touch", marker }, { stdout = "" }, "field 'stdout'" },
      { "a number for stderr", { "touch", marker }, { stderr = 2 }, "field 'stderr': string expected" },
      { "a number in env", { "touch", marker }, { env = { A = 1 } }, "field 'env'" },
    } do
      it(case[1], function()
        local ns = T.ns("bad")
        local ok, e = pcall(function() return ns:spawn(case[2], case[3]) end)
        assert.is_false(ok)
        assert.are.equal("string", type(e))
        assert.matches("bad argument #" .. (case[3] and 2 or 1) .. " to 'spawn'", e, 1, true)
        assert.matches(case[4], e, 1, true)
        assert.is_nil(io.open(marker))
        assert.are.same({}, ns:pids())
      end)
    end

    it("unknown signals and out-of-range timeouts", function()
      local ns = T.ns("badsig")
      local p = ns:spawn({ "sleep", "30" })
      assert.has_error(function() p:kill("FOO") end, "bad argument #1 to 'kill' (unknown signal 'FOO')")
      assert.has_error(function() p:kill(0) end)
      assert.has_error(function() p:kill(999) end)
      assert.has_error(function() p:wait(-1) end)
      assert.has_error(function() ns:kill_all("NOPE") end)
      assert.has_error(function() ns:kill_all("KILL", 0) end)
      assert.has_error(function() netns.sleep(-1) end)
      assert.is_true(p:running())
      p:close()
    end)
  end)

  it("leaves no zombie and no fd behind over 50 spawns", function()
    local ns = T.ns("leak")
    local fds, zombies = our_fds(), our_zombies()
    for _ = 1, 25 do
      local p = ns:spawn({ "sh", "-c", "echo x; sleep 30" })
      read_until(p, "x")
      p:close()
      local q = ns:spawn({ "true" })
      q:wait()
      q:close()
    end
    assert.are.equal(fds, our_fds())
    assert.are.equal(zombies, our_zombies())
  end)
end)

describe("ns:pids and ns:kill_all", function()
  after_each(T.cleanup)

  it("list every process in the namespace, ours or not, as ip netns pids", function()
    local ns, name = T.ns("pids")
    assert.are.same({}, ns:pids())
    local p = ns:spawn({ "sleep", "30" })
    os.execute("ip netns exec " .. name .. " sleep 30 >/dev/null 2>&1 &")
    local want
    assert.is_true(T.wait_until(function()
      want = {}
      for pid in T.run("ip netns pids " .. name):gmatch("%d+") do want[#want + 1] = tonumber(pid) end
      table.sort(want)
      return #want == 2
    end, 5))
    assert.are.same(want, ns:pids())
    assert.is_true(contains(ns:pids(), p.pid))
    assert.is_false(contains(ns:pids(), T.pid))
    assert.are.equal(2, ns:kill_all())
    assert.are.same({}, ns:pids())
    assert.are.equal(9, p:wait(1).signal)
    assert.are.equal(0, ns:kill_all())
  end)

  it("after kill_all the namespace can be deleted and is really gone", function()
    local ns1, n1 = T.ns("k1")
    local _, n2 = T.ns("k2")
    -- The far end in k2 lives exactly as long as namespace k1 does.
    assert.is_true(select(2, T.run(("ip -n %s link add v1 type veth peer name v2 netns %s"):format(n1, n2))))
    local p = ns1:spawn({ "sleep", "30" })
    for _ = 1, 2 do
      os.execute("ip netns exec " .. n1 .. " sleep 30 >/dev/null 2>&1 &")
    end
    assert.is_true(T.wait_until(function() return #ns1:pids() == 3 end, 5))
    assert.are.equal(3, ns1:kill_all("TERM"))
    assert.are.same({}, ns1:pids())
    ns1:delete()
    assert.is_false(netns.exists(n1))
    assert.is_true(T.wait_until(function()
      return not T.run("ip -n " .. n2 .. " -o link show"):find("v2", 1, true)
    end, 10))
    p:close()
  end)
end)

describe("netns.pids and netns.kill_all (many namespaces, one /proc scan)", function()
  after_each(T.cleanup)

  it("find and kill the processes of every namespace in the list, and only those", function()
    local a, na = T.ns("ma")
    local b = T.ns("mb")
    local c, nc = T.ns("mc")
    local pa = a:spawn({ "sleep", "30" })
    local pb = b:spawn({ "sleep", "30" })
    local pc = c:spawn({ "sleep", "30" })
    os.execute("ip netns exec " .. na .. " sleep 30 >/dev/null 2>&1 &")
    assert.is_true(T.wait_until(function() return #a:pids() == 2 end, 5))
    local want = {}
    for _, x in ipairs(a:pids()) do want[#want + 1] = x end
    want[#want + 1] = pb.pid
    table.sort(want)
    assert.are.same(want, netns.pids({ a, b }))
    assert.are.same({}, netns.pids({}))
    assert.are.equal(3, netns.kill_all({ a, b }))
    assert.are.same({}, netns.pids({ a, b }))
    assert.are.equal(9, pa:wait(1).signal)
    assert.are.equal(9, pb:wait(1).signal)
    -- c was not in the list: its process still runs.
    assert.is_true(pc:running())
    assert.are.same({ pc.pid }, c:pids())
    assert.are.same(T.run("ip netns pids " .. nc):match("%d+"), tostring(pc.pid))
    assert.are.equal(0, netns.kill_all({ a, b }, "TERM", 1))
    assert.are.equal(0, netns.kill_all({}))
    pc:close()
  end)

  it("a namespace listed twice counts its processes once", function()
    local a = T.ns("md")
    local p = a:spawn({ "sleep", "30" })
    assert.are.same({ p.pid }, netns.pids({ a, a }))
    assert.are.equal(1, netns.kill_all({ a, a }, "TERM"))
    assert.are.equal(15, p:wait(1).signal)
  end)

  it("refuse bad input before signalling anything", function()
    local a = T.ns("me")
    local p = a:spawn({ "sleep", "30" })
    local closed = T.ns("mf")
    closed:close()
    local function msg(fn, ...)
      local ok, e = pcall(fn, ...)
      assert.is_false(ok)
      return tostring(e)
    end
    assert.matches("table expected", msg(netns.kill_all, nil))
    assert.matches("table expected", msg(netns.kill_all, a))
    assert.matches("element 2: netns.Namespace expected, got string", msg(netns.kill_all, { a, "x" }))
    assert.matches("element 2: namespace is closed", msg(netns.kill_all, { a, closed }))
    assert.matches("element 1: netns.Namespace expected, got number", msg(netns.pids, { 1 }))
    assert.has_error(function() netns.kill_all({ a }, "NOPE") end)
    assert.has_error(function() netns.kill_all({ a }, "KILL", 0) end)
    assert.is_true(p:running())
    p:close()
  end)
end)

describe("netns.now and netns.sleep", function()
  it("measure and sleep on the monotonic clock", function()
    local t0 = netns.now()
    netns.sleep(0.2)
    local dt = netns.now() - t0
    assert.is_true(dt >= 0.2 and dt < 1, "slept " .. dt)
    netns.sleep(0)
    assert.has_error(function() netns.sleep("x") end)
    assert.has_error(function() netns.sleep(86401) end)
  end)
end)
