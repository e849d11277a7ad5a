local netns = require "netns"
local T = require "spec.testlib"

local function listed(name)
  for l in T.run("ip netns list"):gmatch("[^\n]+") do
    if l:match("^(%S+)") == name then return true end
  end
  return false
end

describe("netns namespaces", function()
  after_each(T.cleanup)

  it("are created the iproute2 way: ip netns list shows them and ip netns exec works", function()
    local ns, name = T.ns("a")
    assert.is_true(listed(name))
    assert.is_true(netns.exists(name))
    local out, ok = T.run("ip netns exec " .. name .. " ip -o link show")
    assert.is_true(ok, out)
    assert.matches("1: lo:", out)
    assert.are.equal(name, ns.name)
  end)

  it("are listed sorted by netns.list()", function()
    local _, a = T.ns("b")
    local _, b = T.ns("a")
    local seen = {}
    for _, n in ipairs(netns.list()) do seen[#seen + 1] = n end
    local ia, ib
    for i, n in ipairs(seen) do
      if n == a then ia = i elseif n == b then ib = i end
    end
    assert.truthy(ia and ib)
    assert.is_true((a < b) == (ia < ib))
  end)

  it("can be created with a mark, the alias of its lo, seen from outside", function()
    local name = T.name("mark")
    T.track(name)
    local ns = netns.create(name, { mark = "nslab:test-mark" })
    local lo = T.ipj("-n", name, "link", "show", "lo")[1]
    assert.are.equal("nslab:test-mark", lo.ifalias)
    assert.are.equal("nslab:test-mark", ns:link_get("lo").alias)
  end)

  it("can be created with its lo up, marked or not, seen from outside", function()
    for i, opts in ipairs { { lo_up = true, mark = "nslab:test-up" }, { lo_up = true, persist = true } } do
      local name = T.name("loup" .. i)
      T.track(name)
      netns.create(name, opts)
      local lo = T.ipj("-n", name, "link", "show", "lo")[1]
      assert.is_truthy(T.has(lo.flags, "UP"), name)
      assert.are.equal(opts.mark, lo.ifalias)
    end
    -- And without it, lo stays down, as ip netns add leaves it.
    local name = T.name("lodown")
    T.track(name)
    netns.create(name, { persist = true })
    assert.is_falsy(T.has(T.ipj("-n", name, "link", "show", "lo")[1].flags, "UP"))
  end)

  it("can be made ahead on a thread (netns.prefetch): each a fresh namespace, nothing left after", function()
    local fds = T.fds()
    local function threads()
      return #netns.readdir("/proc/self/task")
    end
    local home = netns.open_pid(T.pid)
    netns.prefetch(5)
    local seen = { [home:id()] = true }
    for i = 1, 3 do
      local name = T.name("pre" .. i)
      T.track(name)
      local ns = netns.create(name, { mark = "nslab:test-pre", lo_up = true })
      assert.is_nil(seen[ns:id()], "a namespace handed out twice, or the caller's")
      seen[ns:id()] = true
      -- A namespace of its own: lo up and marked, its own address space.
      ns:link_add { name = "d0", kind = "veth", peer = { name = "d1" } }
      assert.are.equal("nslab:test-pre", T.ipj("-n", name, "link", "show", "lo")[1].ifalias)
      assert.are.equal(1, #T.ipj("-n", name, "link", "show", "d0"))
      ns:close()
    end
    home:close()
    netns.prefetch(0) -- the two nobody took go with the thread
    assert.are.equal(1, threads())
    assert.are.equal(fds, T.fds())
    -- Bad counts are argument errors.
    assert.has_error(function() netns.prefetch(-1) end)
    assert.has_error(function() netns.prefetch("x") end)
  end)

  it("refuses a bad mark or option before creating anything", function()
    local name = T.name("badmark")
    for _, opts in ipairs { { mark = "" }, { mark = ("m"):rep(256) }, { mark = "a\0b" },
                            { mark = 7 }, { colour = "red" }, { lo_up = "yes" } } do
      local ok, e = pcall(netns.create, name, opts)
      assert.is_false(ok)
      assert.matches("bad argument #2", e, 1, true)
      assert.is_false(netns.exists(name))
    end
  end)

  it("refuses to create a name that exists, with code EEXIST", function()
    local _, name = T.ns("dup")
    local ok, e = pcall(netns.create, name)
    assert.is_false(ok)
    assert.are.equal("EEXIST", e.code)
    assert.are.equal(17, e.errno)
    assert.matches('create namespace "' .. name:gsub("%-", "%%-") .. '": File exists %(EEXIST%)', tostring(e))
  end)

  it("fail with a netns.Error whose parts are fields, joined by tostring", function()
    local _, name = T.ns("parts")
    local line
    local ok, e = pcall(function()
      line = debug.getinfo(1, "l").currentline + 1
      netns.create(name)
    end)
    assert.is_false(ok)
    local where = ("%s:%d"):format(debug.getinfo(1, "S").short_src, line)
    assert.are.same({ ('create namespace "%s"'):format(name), "File exists", "EEXIST", 17, where },
      { e.op, e.reason, e.code, e.errno, e.where })
    local text = ('%s: create namespace "%s": File exists (EEXIST)'):format(where, name)
    assert.are.equal(text, tostring(e))
    assert.are.equal(text, e.message)
    e.where = nil
    assert.are.equal(('create namespace "%s": File exists (EEXIST)'):format(name), tostring(e))
  end)

  it("can be opened by name, including one made by ip netns add", function()
    local name = T.name("ipadd")
    T.track(name)
    assert.is_true(select(2, T.run("ip netns add " .. name)))
    local ns = netns.open(name)
    assert.are.equal(name, ns.name)
    ns:close()
  end)

  it("can be opened by path and by pid, and compare equal to the same namespace", function()
    local ns, name = T.ns("p")
    local byp = netns.open_path("/run/netns/" .. name)
    assert.is_true(byp == ns)
    assert.is_nil(byp.name)
    local self = netns.open_pid(T.pid)
    assert.is_false(self == ns)
    assert.are_not.equal(self:id(), ns:id())
    self:close(); byp:close()
  end)

  it("opening a missing one is ENOENT", function()
    assert.are.equal("ENOENT", T.errcode(netns.open, T.name("missing")))
  end)

  it("opening a path that is not a namespace is EINVAL", function()
    assert.are.equal("EINVAL", T.errcode(netns.open_path, "/etc/hostname"))
  end)

  it("are deleted by netns.delete and by ns:delete(), and ip netns delete works on ours", function()
    local a, an = T.ns("d1")
    a:close()
    netns.delete(an)
    assert.is_false(listed(an))
    local b, bn = T.ns("d2")
    b:delete()
    assert.is_true(b.closed)
    assert.is_false(netns.exists(bn))
    local _, cn = T.ns("d3")
    assert.is_true(select(2, T.run("ip netns delete " .. cn)))
    assert.is_false(netns.exists(cn))
  end)

  it("deleting a missing one is ENOENT", function()
    assert.are.equal("ENOENT", T.errcode(netns.delete, T.name("gone")))
  end)

  it("a closed handle raises on use; close is idempotent and works with <close>", function()
    local ns = T.ns("c")
    ns:close()
    ns:close()
    assert.has_error(function() ns:id() end)
    assert.matches("closed", tostring(ns))
    local _, name = T.ns("c2")
    local outer
    do
      local h <close> = netns.open(name)
      outer = h
      assert.is_false(h.closed)
    end
    assert.is_true(outer.closed)
  end)

  describe("netns.release", function()
    it("closes the handles and returns 0 once the kernel has destroyed the namespaces", function()
      local a, an = T.ns("r1")
      local b, bn = T.ns("r2")
      local again = netns.open(an)           -- two handles of one namespace are fine
      b:close()                              -- and so is a closed one
      netns.delete(an); netns.delete(bn)
      assert.are.equal(0, netns.release({ a, b, again }, 5))
      assert.is_true(a.closed and again.closed)
    end)

    it("counts a namespace something else keeps alive, at the deadline", function()
      local a, an = T.ns("r3")
      local p = a:spawn({ "sleep", "30" })
      netns.delete(an)
      local t0 = netns.now()
      assert.are.equal(1, netns.release({ a }, 0.3))
      assert.is_true(netns.now() - t0 >= 0.29)
      p:kill("KILL"); p:wait()
    end)

    it("refuses what is not a list of handles, and a timeout out of range", function()
      assert.has_error(function() netns.release("x") end)
      assert.has_error(function() netns.release({ 1 }) end,
        "bad argument #1 to 'release' (item 1: netns.Namespace expected, got number)")
      assert.has_error(function() netns.release({}, -1) end)
      assert.are.equal(0, netns.release({}))
    end)
  end)

  describe("refuses bad names before touching anything:", function()
    for _, case in ipairs {
      { "", "empty" },
      { ("x"):rep(256), "too long" },
      { "a/b", "'/'" },
      { ".", "not names" },
      { "..", "not names" },
      { "a b", "whitespace" },
      { "a\tb", "whitespace" },
      { "a\0b", "NUL" },
      { "a\1b", "control" },
    } do
      it(("%q"):format(case[1]:sub(1, 12)), function()
        local ok, e = pcall(netns.create, case[1])
        assert.is_false(ok)
        assert.are.equal("string", type(e))
        assert.matches("bad argument #1", e, 1, true)
        assert.matches(case[2], e, 1, true)
        -- nothing was made under that name (names that cannot be files aside)
        local clean = case[1]:gsub("%z.*", "")
        if clean ~= "" and clean ~= "." and clean ~= ".." and not clean:find("/") then
          assert.is_nil(io.open("/run/netns/" .. clean))
        end
      end)
    end
    it("a table", function()
      assert.has_error(function() netns.create({}) end,
        "bad argument #1 to 'create' (string expected, got table)")
    end)
  end)

  describe("keep as many netlink sockets open as namespace.md says", function()
    -- The numbers of the doc's own sentence, so doc and code cannot drift apart.
    local doc = T.read("doc/api/namespace.md"):gsub("%s+", " ")
    local max, min = doc:match("At most (%d+) sockets stay open at once, and no more than " ..
      "a quarter of the soft `RLIMIT_NOFILE` when that is lower, but never fewer than (%d+)")
    max, min = tonumber(max), tonumber(min)

    -- n handles on one namespace, each using its socket, in a child process
    -- with the soft fd limit given: how many sockets are open then.
    local function sockets(nofile, n)
      local ns, name = T.ns("socks")
      ns:close()
      local code = ("local netns = require 'netns'; local h = {} " ..
        "for i = 1, %d do h[i] = netns.open(%q); h[i]:links() end " ..
        "print(netns.stats().netlink_sockets)"):format(n, name)
      local out, ok = T.run(("ulimit -n %d && lua5.4 -e %q"):format(nofile, code))
      assert(ok, out)
      return tonumber(out)
    end

    it("at most the maximum with a high fd limit", function()
      assert.truthy(max, "namespace.md states the cap")
      assert.are.equal(max, sockets(20000, max + 100))
    end)
    it("a quarter of a lower fd limit", function()
      assert.are.equal(200, sockets(800, 300))
    end)
    it("never fewer than the minimum", function()
      assert.truthy(min, "namespace.md states the minimum")
      assert.are.equal(min, sockets(400, min + 50))
    end)
  end)

  it("the module sets no globals", function()
    local before = {}
    for k in pairs(_G) do before[k] = true end
    package.loaded.netns = nil
    require "netns"
    for k in pairs(_G) do assert.is_true(before[k], "new global " .. k) end
  end)
end)
