local netns = require "netns"
local T = require "spec.testlib"

local gone = T.gone

local our_zombies = T.zombies

local our_fds = T.fds

local file = T.read

local function sorted_lines(s)
  local t = {}
  for l in s:gmatch("[^\n]+") do t[#t + 1] = l end
  table.sort(t)
  return t
end

local esc = T.esc

describe("ns:exec", function()
  after_each(T.cleanup)

  it("returns stdout, stderr, the exit code and the time it took", function()
    local ns = T.ns("out")
    local r = ns:exec({ "sh", "-c", "echo out; echo err >&2; exit 3" })
    assert.are.equal("exited", r.status)
    assert.are.equal(3, r.code)
    assert.is_nil(r.signal)
    assert.are.equal("out\n", r.stdout)
    assert.are.equal("err\n", r.stderr)
    assert.is_false(r.timed_out)
    assert.is_true(r.elapsed > 0 and r.elapsed < 5)
    assert.is_true(gone(r.pid))
  end)

  it("reports the signal that ended the command", function()
    local ns = T.ns("sig")
    local r = ns:exec({ "sh", "-c", "kill -TERM $$" })
    assert.are.equal("signaled", r.status)
    assert.are.equal(15, r.signal)
    assert.is_nil(r.code)
  end)

  it("runs argv directly, never through a shell", function()
    local ns = T.ns("nosh")
    local r = ns:exec({ "echo", "$HOME; ls", "*" })
    assert.are.equal("$HOME; ls *\n", r.stdout)
  end)

  it("adds and replaces environment variables and inherits the rest", function()
    local ns = T.ns("env")
    local r = ns:exec({ "env" }, { env = { NSLAB_ADDED = "a b", HOME = "/nowhere" } })
    local env = sorted_lines(r.stdout)
    local home, added, path = 0, 0, nil
    for _, l in ipairs(env) do
      if l:match("^HOME=") then home = home + 1; assert.are.equal("HOME=/nowhere", l) end
      if l == "NSLAB_ADDED=a b" then added = added + 1 end
      path = path or l:match("^PATH=(.*)")
    end
    assert.are.equal(1, home)
    assert.are.equal(1, added)
    assert.are.equal(os.getenv("PATH"), path)
  end)

  it("starts from an empty environment with clear_env", function()
    local ns = T.ns("clr")
    local r = ns:exec({ "env" }, { clear_env = true, env = { ONLY = "x" } })
    assert.are.equal("ONLY=x\n", r.stdout)
    r = ns:exec({ "env" }, { clear_env = true })
    assert.are.equal("", r.stdout)
  end)

  it("runs in the directory given by cwd", function()
    local ns = T.ns("cwd")
    assert.are.equal("/tmp\n", ns:exec({ "pwd" }, { cwd = "/tmp" }).stdout)
  end)

  it("feeds stdin while reading output, without deadlock on large data", function()
    local ns = T.ns("in")
    assert.are.equal("hello", ns:exec({ "cat" }, { stdin = "hello" }).stdout)
    local big = ("0123456789abcdef"):rep(256 * 1024)	-- 4 MiB each way
    local r = ns:exec({ "sh", "-c", "cat; cat /dev/null >&2" }, { stdin = big })
    assert.are.equal(#big, #r.stdout)
    assert.is_true(r.stdout == big)
    assert.are.equal("", ns:exec({ "cat" }, { stdin = "" }).stdout)
    -- Without stdin the command reads /dev/null, so it never waits on a terminal.
    assert.are.equal("", ns:exec({ "cat" }).stdout)
  end)

  it("survives a command that exits without reading its stdin", function()
    local ns = T.ns("epipe")
    local r = ns:exec({ "true" }, { stdin = ("x"):rep(1024 * 1024) })
    assert.are.equal("exited", r.status)
    assert.are.equal(0, r.code)
  end)

  it("passes output through with capture = false", function()
    local ns, name = T.ns("pass")
    local r = ns:exec({ "true" }, { capture = false })
    assert.are.equal(0, r.code)
    assert.is_nil(r.stdout)
    assert.is_nil(r.stderr)
    local script = ([[local ns = require("netns").open(%q)
      local r = ns:exec({"sh", "-c", "echo through; echo e >&2"}, {capture = false})
      io.write("code ", r.code, " ", tostring(r.stdout), "\n")]]):format(name)
    local out = T.run("lua5.4 -e '" .. script .. "'")
    assert.are.equal("through\ne\ncode 0 nil\n", out)
  end)

  it("kills the command and its process group at the timeout", function()
    local ns = T.ns("tmo")
    local r = ns:exec({ "sh", "-c", "sleep 30 & echo $!; wait" }, { timeout = 0.5 })
    assert.are.equal("timeout", r.status)
    assert.is_true(r.timed_out)
    assert.are.equal(9, r.signal)
    assert.is_true(r.elapsed >= 0.5 and r.elapsed < 2.5, "elapsed " .. r.elapsed)
    assert.is_true(gone(r.pid))
    local bg = tonumber(r.stdout:match("%d+"))
    assert.truthy(bg)
    assert.is_true(T.wait_until(function() return gone(bg) end, 5))
  end)

  it("does not wait for a background grandchild that keeps its output open", function()
    local ns = T.ns("bg")
    local t0 = netns.now()
    local r = ns:exec({ "sh", "-c", "sleep 30 & echo started" })
    assert.are.equal("started\n", r.stdout)
    assert.is_true(netns.now() - t0 < 5)
    ns:kill_all()
  end)

  it("raises naming a command that does not exist", function()
    local ns, name = T.ns("nocmd")
    local ok, e = pcall(ns.exec, ns, { "nonexistent-cmd" })
    assert.is_false(ok)
    assert.are.equal("ENOENT", e.code)
    assert.matches(esc('exec "nonexistent-cmd" in ' .. name ..
      ": No such file or directory (ENOENT)") .. "$", tostring(e))
    local noexec = "/tmp/nslab-exec-spec-noexec-" .. T.pid
    local f = assert(io.open(noexec, "w"))
    f:write("echo should not run\n")
    f:close()
    os.execute("chmod 644 " .. noexec)
    local code = T.errcode(ns.exec, ns, { noexec })
    os.remove(noexec)
    assert.are.equal("EACCES", code)
    ok, e = pcall(ns.exec, ns, { "pwd" }, { cwd = "/nonexistent-dir" })
    assert.matches(esc('exec "pwd" in ' .. name .. ': chdir "/nonexistent-dir": No such file'),
      tostring(e))
  end)

  it("binds /etc/netns/NAME/* over /etc, leaving the host's files alone", function()
    local ns, name = T.ns("etc")
    local host_before = file("/etc/hosts")
    local had_dir = os.rename("/etc/netns", "/etc/netns")
    local dir = "/etc/netns/" .. name
    assert(os.execute("mkdir -p " .. dir))
    local ok, err = pcall(function()
      local f = assert(io.open(dir .. "/hosts", "w"))
      f:write("192.0.2.7 lab-host\n")
      f:close()
      assert.are.equal("192.0.2.7 lab-host\n", ns:exec({ "cat", "/etc/hosts" }).stdout)
      assert.are.equal(host_before, file("/etc/hosts"))
      -- Only a named namespace has an /etc/netns directory.
      local byp = netns.open_path("/run/netns/" .. name)
      assert.are.equal(host_before, byp:exec({ "cat", "/etc/hosts" }).stdout)
      byp:close()
    end)
    os.execute("rm -rf " .. dir)
    if not had_dir then os.execute("rmdir /etc/netns 2>/dev/null") end
    assert(ok, err)
    assert.are.equal(host_before, file("/etc/hosts"))
  end)

  it("runs the command inside the namespace", function()
    local ns = T.ns("id")
    local r = ns:exec({ "readlink", "/proc/self/ns/net" })
    assert.are.equal(("net:[%d]\n"):format(ns:id()), r.stdout)
  end)

  it("gives the command fds 0, 1 and 2 only", function()
    local ns = T.ns("fds")
    local leaky = assert(io.open("/etc/hostname"))	-- fopen: not close-on-exec
    local r = ns:exec({ "ls", "/proc/self/fd" })
    leaky:close()
    local fds = sorted_lines(r.stdout)
    -- 0 1 2 and the directory ls itself opened to list them.
    assert.are.same({ "0", "1", "2", "3" }, fds)
  end)

  it("shows only the namespace's links under /sys/class/net", function()
    local ns, name = T.ns("sys")
    local host_before = T.run("ls /sys/class/net")
    local want = { "d0", "lo" }
    if not select(2, T.run("ip -n " .. name .. " link add d0 type dummy")) then
      -- A kernel without the dummy driver: a veth pair, both ends in the namespace.
      assert.is_true(select(2, T.run("ip -n " .. name .. " link add d0 type veth peer name d1")))
      want = { "d0", "d1", "lo" }
    end
    -- The links are the symlinks there (the bonding driver, where loaded,
    -- adds a file, bonding_masters, to every namespace's view).
    local links = ns:exec({ "find", "/sys/class/net", "-mindepth", "1", "-maxdepth", "1", "-type", "l",
                            "-printf", "%f\n" }).stdout
    assert.are.same(want, sorted_lines(links))
    assert.are.equal(host_before, T.run("ls /sys/class/net"))
  end)

  describe("refuses bad input before running anything:", function()
    local marker = "/tmp/nslab-exec-spec-" .. T.pid
    for _, case in ipairs {
      { "empty argv", {}, nil, "argv is empty" },
      { "a string argv", "touch " .. marker, nil, "table expected, got string" },
      { "a number in argv", { "touch", marker, 1 }, nil, "argv[3]: string expected, got number" },
      { "a NUL in an argument", { "touch", marker .. "\0x" }, nil, "argv[2]: contains a NUL byte" },
      { "an empty command", { "" }, nil, "argv[1]: empty command name" },
      { "an unknown option", { "touch", marker }, { bogus = 1 }, "unknown option 'bogus'" },
      { "timeout 0", { "touch", marker }, { timeout = 0 }, "field 'timeout': must be more than 0" },
      { "a negative timeout", { "touch", marker }, { timeout = -1 }, "field 'timeout'" },
      { "a timeout over a day", { "touch", marker }, { timeout = 86401 }, "out of range" },
      { "a string timeout", { "touch", marker }, { timeout = "1" }, "number expected, got string" },
      { "a number in env", { "touch", marker }, { env = { A = 1 } },
        "field 'env': value of A: string expected, got number" },
      { "'=' in an env name", { "touch", marker }, { env = { ["A=B"] = "x" } }, "bad variable name" },
      { "env not a table", { "touch", marker }, { env = "A=1" }, "field 'env': table expected" },
      { "a NUL in cwd", { "touch", marker }, { cwd = "/tmp\0x" }, "field 'cwd': contains a NUL byte" },
      { "a boolean stdin", { "touch", marker }, { stdin = true }, "field 'stdin': string expected" },
      { "a string capture", { "touch", marker }, { capture = "yes" }, "field 'capture': boolean expected" },
      { "clear_env not a boolean", { "touch", marker }, { clear_env = 1 }, "field 'clear_env'" },
    } do
      it(case[1], function()
        local ns = T.ns("bad")
        local ok, e = pcall(function() return ns:exec(case[2], case[3]) end)
        assert.is_false(ok)
        assert.are.equal("string", type(e))
        assert.matches("bad argument #" .. (case[3] and 2 or 1) .. " to 'exec'", e, 1, true)
        assert.matches(case[4], e, 1, true)
        assert.is_nil(io.open(marker))
      end)
    end
  end)

  it("leaves no zombie and no fd behind over 100 runs", function()
    local ns = T.ns("leak")
    local fds, zombies = our_fds(), our_zombies()
    for i = 1, 100 do
      local r = ns:exec({ "sh", "-c", "echo " .. i }, { stdin = "x", timeout = 10 })
      assert.are.equal(i .. "\n", r.stdout)
      pcall(ns.exec, ns, { "nonexistent-cmd" })
    end
    assert.are.equal(fds, our_fds())
    assert.are.equal(zombies, our_zombies())
  end)
end)
