-- Sysctls inside a namespace: only that namespace changes, never the host.
-- The host's values are only ever read here, to prove they did not change.
local T = require "spec.testlib"

local sh = T.sh

local function host(path)
  local f = assert(io.open("/proc/sys/" .. path))
  local v = f:read("l")
  f:close()
  return v
end

-- The value as a process inside the namespace reads it.
local function inside(name, path)
  return (sh(("ip netns exec %s cat /proc/sys/%s"):format(name, path)):gsub("\n$", ""))
end

local nfds = T.fds
local netns = require "netns"
local NSLAB = os.getenv("NSLAB") or "build/nslab"

local function pat(s) return (s:gsub("[%-%.%(%)%%]", "%%%0")) end

describe("ns:sysctl_get and ns:sysctl_set", function()
  after_each(T.cleanup)

  for _, c in ipairs{ { "net.ipv4.ip_forward", "net/ipv4/ip_forward" },
                      { "net.ipv6.conf.all.forwarding", "net/ipv6/conf/all/forwarding" } } do
    local key, path = c[1], c[2]
    it("read and write " .. key .. " in the namespace only", function()
      local ns, name = T.ns("fw")
      local host_before = host(path)
      assert.are.equal(inside(name, path), ns:sysctl_get(key))
      -- The value the host does not have, so that a write to the wrong
      -- namespace would show.
      local want = host_before == "1" and "0" or "1"
      ns:sysctl_set(key, want)
      assert.are.equal(want, ns:sysctl_get(key))
      assert.are.equal(want, inside(name, path))
      assert.are.equal(host_before, host(path))
      -- And back, through the other value types.
      ns:sysctl_set(key, want == "0")
      assert.are.equal(want == "0" and "1" or "0", inside(name, path))
      ns:sysctl_set(key, tonumber(want))
      assert.are.equal(want, inside(name, path))
      assert.are.equal(host_before, host(path))
    end)
  end

  it("keep two namespaces apart", function()
    local a, an = T.ns("a")
    local b, bn = T.ns("b")
    a:sysctl_set("net.ipv4.ip_forward", 1)
    b:sysctl_set("net.ipv4.ip_forward", 0)
    assert.are.equal("1", a:sysctl_get("net.ipv4.ip_forward"))
    assert.are.equal("0", b:sysctl_get("net.ipv4.ip_forward"))
    assert.are.equal("1", inside(an, "net/ipv4/ip_forward"))
    assert.are.equal("0", inside(bn, "net/ipv4/ip_forward"))
  end)

  it("set several at once from a table, in the namespace only", function()
    local ns, name = T.ns("many")
    local fw = host("net/ipv4/ip_forward")
    ns:sysctl_set { ["net.ipv4.ip_forward"] = fw ~= "1", ["net.ipv4.icmp_ratelimit"] = 0,
                    ["net.ipv4.ping_group_range"] = "0 0" }
    assert.are.equal(fw == "1" and "0" or "1", inside(name, "net/ipv4/ip_forward"))
    assert.are.equal("0", inside(name, "net/ipv4/icmp_ratelimit"))
    assert.are.equal("0\t0", inside(name, "net/ipv4/ping_group_range"))
    assert.are.equal(fw, host("net/ipv4/ip_forward"))
  end)

  it("check every key and value of a table before writing any", function()
    local ns, name = T.ns("many")
    local before = inside(name, "net/ipv4/icmp_ratelimit")
    assert.matches("sysctl key 'kernel.hostname'", T.errcode(ns.sysctl_set, ns,
      { ["kernel.hostname"] = "x", ["net.ipv4.icmp_ratelimit"] = 7 }))
    assert.matches("sysctl 'net.ipv4.icmp_ratelimit': number has no integer representation",
      T.errcode(ns.sysctl_set, ns, { ["net.ipv4.icmp_ratelimit"] = 1.5 }))
    assert.matches("sysctl key: string expected", T.errcode(ns.sysctl_set, ns, { 1 }))
    -- a key the kernel lacks: nothing is written, the error names it
    assert.equal("ENOENT", T.errcode(ns.sysctl_set, ns, { ["net.ipv4.nope"] = 1, ["net.ipv4.icmp_ratelimit"] = 7 }))
    assert.are.equal(before, inside(name, "net/ipv4/icmp_ratelimit"))
  end)

  it("take values with spaces and drop the trailing newline", function()
    local ns, name = T.ns("range")
    ns:sysctl_set("net.ipv4.ping_group_range", "0 2147483647")
    assert.are.equal("0\t2147483647", ns:sysctl_get("net.ipv4.ping_group_range"))
    assert.are.equal("0\t2147483647", inside(name, "net/ipv4/ping_group_range"))
  end)

  it("reach per-device keys, also of a device whose name has dots", function()
    local ns, name = T.ns("dev")
    sh(("ip -n %s link add v0 type veth peer name v0.100"):format(name))
    ns:sysctl_set("net.ipv4.conf.v0.rp_filter", 2)
    assert.are.equal("2", inside(name, "net/ipv4/conf/v0/rp_filter"))
    ns:sysctl_set("net.ipv4.conf.v0.100.rp_filter", 1)
    assert.are.equal("1", inside(name, "net/ipv4/conf/v0.100/rp_filter"))
    assert.are.equal("1", ns:sysctl_get("net.ipv4.conf.v0.100.rp_filter"))
    assert.are.equal("2", ns:sysctl_get("net.ipv4.conf.v0.rp_filter"))
    ns:sysctl_set("net.ipv6.neigh.v0.100.base_reachable_time_ms", 20000)
    assert.are.equal("20000", inside(name, "net/ipv6/neigh/v0.100/base_reachable_time_ms"))
    assert.are.equal(inside(name, "net/ipv4/neigh/lo/gc_stale_time"),
                     ns:sysctl_get("net.ipv4.neigh.lo.gc_stale_time"))
  end)

  it("see only the namespace's devices: a key of a device it lacks is ENOENT", function()
    local ns = T.ns("nodev")
    assert.are.equal("ENOENT", T.errcode(ns.sysctl_get, ns, "net.ipv4.conf.eth0.rp_filter"))
    assert.are.equal("0", ns:sysctl_get("net.ipv4.conf.lo.forwarding"))
    -- neigh.default (gc_thresh*) exists only in the host's namespace.
    assert.are.equal("ENOENT", T.errcode(ns.sysctl_get, ns, "net.ipv4.neigh.default.gc_thresh3"))
  end)

  it("raise ENOENT for an unknown key, naming the key and the namespace", function()
    local ns, name = T.ns("nope")
    local ok, e = pcall(ns.sysctl_get, ns, "net.ipv4.nope")
    assert.is_false(ok)
    assert.are.equal("ENOENT", e.code)
    assert.are.equal(2, e.errno)
    assert.matches("sysctl net%.ipv4%.nope in " .. pat(name) ..
                   ": No such file or directory %(ENOENT%)$", tostring(e))
    ok, e = pcall(ns.sysctl_set, ns, "net.ipv4.nope", 1)
    assert.is_false(ok)
    assert.are.equal("ENOENT", e.code)
    assert.matches("sysctl net%.ipv4%.nope=1 in " .. pat(name) ..
                   ": No such file or directory %(ENOENT%)$", tostring(e))
  end)

  it("raise EISDIR for a directory, EINVAL for a value the kernel refuses, EACCES for a read-only key", function()
    local ns = T.ns("errs")
    assert.are.equal("EISDIR", T.errcode(ns.sysctl_get, ns, "net.ipv4"))
    assert.are.equal("EISDIR", T.errcode(ns.sysctl_set, ns, "net.ipv4.conf", "1"))
    local ok, e = pcall(ns.sysctl_set, ns, "net.ipv4.ip_forward", "abc")
    assert.is_false(ok)
    assert.are.equal("EINVAL", e.code)
    assert.matches("sysctl net.ipv4.ip_forward=abc in ", e.message, 1, true)
    assert.are.equal("EACCES", T.errcode(ns.sysctl_set, ns, "net.ipv4.tcp_available_congestion_control", "reno"))
  end)

  it("refuse every bad key with an argument error, before opening anything", function()
    local ns = T.ns("badkey")
    local cases = {
      { "", "empty" },
      { "kernel.hostname", "must start with 'net.'" },
      { "net", "must start with 'net.'" },
      { "net/ipv4/ip_forward", "must start with 'net.'" },
      { "net.ipv4/ip_forward", "contains '/'" },
      { "net.ipv4.conf.all/../../../kernel/hostname", "contains '/'" },
      { "net..ipv4.ip_forward", "empty component" },
      { "net.ipv4.ip_forward.", "empty component" },
      { "net.ipv4.ip_forward..", "empty component" },
      { "net.ipv4.ip forward", "contains a character" },
      { " net.ipv4.ip_forward", "must start with 'net.'" },
      { "net.ipv4.ip_forward\n", "contains a character" },
      { "net.ipv4.ip_forward\0x", "NUL" },
      { "net.ipv4.*", "contains a character" },
    }
    for _, c in ipairs(cases) do
      for _, call in ipairs{ function() return ns:sysctl_get(c[1]) end,
                             function() return ns:sysctl_set(c[1], "1") end } do
        local ok, e = pcall(call)
        assert.is_false(ok)
        assert.is_string(e, c[1])
        assert.matches("bad argument #1 to 'sysctl_[gs]et' %(sysctl key", e)
        assert.matches(c[2], e, 1, true)
      end
    end
    for _, v in ipairs{ {}, 42, true } do
      local ok, e = pcall(function() return ns:sysctl_get(v) end)
      assert.is_false(ok)
      assert.matches("bad argument #1 to 'sysctl_get' %(string expected", e)
    end
    assert.has_error(function() ns:sysctl_get() end)
  end)

  it("refuse bad values with an argument error and change nothing", function()
    local ns, name = T.ns("badval")
    local before = inside(name, "net/ipv4/ip_forward")
    for _, c in ipairs{ { 1.5, "no integer representation" }, { {}, "string, integer or boolean expected" },
                        { nil, "string, integer or boolean expected" }, { "", "empty value" },
                        { "1\0", "NUL" }, { print, "string, integer or boolean expected" } } do
      local ok, e = pcall(function() return ns:sysctl_set("net.ipv4.ip_forward", c[1]) end)
      assert.is_false(ok)
      assert.matches("bad argument #2 to 'sysctl_set'", e, 1, true)
      assert.matches(c[2], e, 1, true)
    end
    assert.are.equal(before, inside(name, "net/ipv4/ip_forward"))
  end)

  it("refuse a closed namespace", function()
    local ns = T.ns("closed")
    ns:close()
    assert.has_error(function() ns:sysctl_get("net.ipv4.ip_forward") end)
  end)

  -- The engine looks /proc/sys/net up through procfs instances of its own,
  -- a fresh one every 64 lookups (sysctl.c): across several of them every
  -- namespace still reads and writes its own values, and no mount appears.
  it("give each of many fresh namespaces its own values, with no mount left behind", function()
    local function mounts()
      local f = assert(io.open("/proc/self/mountinfo"))
      local s = f:read("a")
      f:close()
      return select(2, s:gsub("\n", ""))
    end
    local before = mounts()
    local many, names = {}, {}
    for i = 1, 80 do
      many[i], names[i] = T.ns("many" .. i)
      many[i]:sysctl_set { ["net.ipv4.ip_forward"] = i % 2, ["net.ipv4.icmp_ratemask"] = i }
    end
    for i = 1, 80 do
      assert.are.equal(tostring(i % 2), many[i]:sysctl_get("net.ipv4.ip_forward"))
      assert.are.equal(tostring(i), many[i]:sysctl_get("net.ipv4.icmp_ratemask"))
    end
    for _, i in ipairs { 1, 64, 65, 80 } do
      assert.are.equal(tostring(i), inside(names[i], "net/ipv4/icmp_ratemask"))
    end
    -- The namespaces' own bind mounts, and nothing else.
    assert.are.equal(before + 80, mounts())
  end)

  -- Where the kernel refuses a procfs instance (a user namespace that does
  -- not own its pid namespace may not mount proc: EPERM), lookups go through
  -- /proc: the same values, from a process that sees only what it made.
  it("fall back to /proc where the kernel refuses a procfs of their own", function()
    local ns = T.ns("private")
    ns:sysctl_get("net.ipv4.ip_forward")
    assert.are.equal("private", netns.stats().sysctl_procfs)
    local name = T.name("fallback")
    T.track(name)
    local script = os.tmpname()
    local f = assert(io.open(script, "w"))
    f:write(([[
      local netns = require "netns"
      local ns = netns.create(%q)
      ns:sysctl_set { ["net.ipv4.icmp_ratemask"] = 77, ["net.ipv4.ip_forward"] = 1 }
      print(netns.stats().sysctl_procfs, ns:sysctl_get("net.ipv4.icmp_ratemask"), ns:sysctl_get("net.ipv4.ip_forward"))
      ns:close()
      netns.delete(%q)
    ]]):format(name, name))
    f:close()
    local out, ok = T.run(("unshare --user --map-root-user --mount --net %s %s"):format(NSLAB, script))
    os.remove(script)
    assert.is_true(ok, out)
    assert.are.equal("/proc\t77\t1\n", out)
    assert.is_false(netns.exists(name))
  end)

  it("keep open fds flat over repeated calls, failed ones too", function()
    local ns = T.ns("fds")
    local function round()
      ns:sysctl_set("net.ipv4.ip_forward", 1)
      ns:sysctl_get("net.ipv4.ip_forward")
      pcall(ns.sysctl_get, ns, "net.ipv4.nope")
      pcall(ns.sysctl_set, ns, "net.ipv4.ip_forward", "abc")
      pcall(ns.sysctl_get, ns, "net.ipv4")
    end
    round()
    local before = nfds()
    for _ = 1, 500 do round() end
    assert.are.equal(before, nfds())
  end)
end)
