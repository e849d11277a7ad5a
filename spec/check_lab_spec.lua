-- Checks on a live lab as a new user writes them from the docs: ICMP errors
-- in a row, host unreachable with default options, the options table of
-- state checks, node names as destinations, a run that stops on a failed
-- check, and errors at the script's line.
local lab = require "netns.lab"
local report = require "netns.report"
local T = require "spec.testlib"

local here = T.here
local SRC = debug.getinfo(1, "S").short_src

-- a - r - b: two segments and a router.
local function routed(desc)
  local l = T.lab(desc, "C")
  l:host("a", { default = "r" })
  l:router("r")
  l:host("b", { default = "r" })
  l:link("a:e0 192.0.2.1/24", "r:e0 192.0.2.254/24")
  l:link("b:e0 198.51.100.1/24", "r:e1 198.51.100.254/24")
  return l
end

-- Up, and each host's first ping to the router answered: the first ping
-- after a link comes up may need 3 s (carrier arrives a moment later).
local function up(l)
  l:up()
  for _, h in ipairs{ "a", "b" } do
    assert.is_true((l:reachable(h, "r", { timeout = 3, record = false })))
  end
  return l
end

local function sysctl(l, node, key)
  local out, ok = T.run(("ip netns exec %s sysctl -n %s"):format(l.nodes[node].nsname, key))
  assert(ok, out)
  return (out:gsub("%s+$", ""))
end

describe("checks on a lab", function()
  before_each(function() report.reset() end)
  after_each(function()
    T.cleanup()
    report.reset()
  end)

  it("get an ICMP error for every probe in a row: lab namespaces do not rate-limit them", function()
    local l = up(routed())
    for i = 1, 4 do
      assert.is_true((l:unreachable("a", "203.0.113." .. i, { how = "net unreachable", from = "r" })))
      assert.is_true((l:unreachable("a", "198.51.100.1", { send_ttl = 1, how = "ttl exceeded", from = "r" })))
    end
    assert.are.equal("0", sysctl(l, "r", "net.ipv4.icmp_ratemask"))
    assert.are.equal("0", sysctl(l, "a", "net.ipv6.icmp.ratelimit"))
  end)

  it("keep the kernel's ICMP rate limit with icmp_ratelimit = true", function()
    local l = up(routed{ icmp_ratelimit = true })
    assert.are.equal("6168", sysctl(l, "r", "net.ipv4.icmp_ratemask"))
    assert.has_error(function() lab.new{ icmp_ratelimit = "yes" } end)
  end)

  it("say that rate limiting may be why an expected ICMP error did not come", function()
    local l = up(routed())
    l.nodes.r.ns:sysctl_set("net.ipv4.ip_forward", 0)
    local ok, d = l:unreachable("a", "198.51.100.1", { how = "net unreachable" })
    assert.is_false(ok)
    assert.matches("timeout", d.actual)
    assert.matches("rate%-limited %(net%.ipv4%.icmp_ratelimit", d.actual)
    ok, d = l:unreachable("a", "198.51.100.1", { how = "timeout" })
    assert.is_true(ok)
    assert.is_nil(d.actual:find("rate", 1, true))
  end)

  it("match host unreachable with default options, from the source and from a router", function()
    local l = up(routed())
    assert.is_true((l:unreachable("a", "192.0.2.77", { how = "host unreachable" })))
    assert.is_true((l:unreachable("a", "198.51.100.77", { how = "unreachable", from = "r" })))
  end)

  it("take the trailing options table of state checks where the optional arguments are left out", function()
    local l = up(routed())
    assert.is_false((l:expect_addr("a", "192.0.2.9", { record = false })))
    assert.is_true((l:expect_addr("a", "192.0.2.1", { name = "a's address" })))
    assert.is_false((l:expect_fdb("a", "00:00:5e:00:53:01", { record = false })))
    assert.is_false((l:expect_neigh("a", "192.0.2.99", { dev = "e0", record = false })))
    assert.is_true((l:expect_route("a", "default", { via = "192.0.2.254" }, { name = "a's default" })))
    assert.is_false((l:expect_route("a", "default", { via = "192.0.2.1" }, { record = false })))
    local names = {}
    for _, c in ipairs(report.checks()) do names[#names + 1] = c.name end
    assert.are.same({ "a's address", "a's default" }, names)
  end)

  it("ping the address of a node the source can reach, and say which", function()
    local l = up(routed())
    local ok, d = l:reachable("b", "r")
    assert.is_true(ok)
    assert.are.equal("b reaches r (198.51.100.254)", d.name)
    ok, d = l:reachable("a", "r")
    assert.are.equal("a reaches r (192.0.2.254)", d.name)
    -- no shared segment: the first address the source has a route to
    ok, d = l:reachable("a", "b")
    assert.is_true(ok)
    assert.are.equal("a reaches b (198.51.100.1)", d.name)
  end)

  it("raise node method and second up() errors at the script's line", function()
    local l = routed()
    local at = here(); local _, e = pcall(function() return l.nodes.a:link_get("e0") end)
    assert.are.equal(("%s:%d: node 'a' is not up"):format(SRC, at), e)
    l:up()
    at = here(); _, e = pcall(function() return l.nodes.a:link_get(5) end)
    assert.are.equal(("%s:%d: bad argument #1 to 'link_get' (string expected, got number)"):format(SRC, at), e)
    assert.are.equal("e0", l.nodes.a:link_get("e0").name)
    at = here(); _, e = pcall(l.up, l)
    assert.are.equal(("%s:%d: lab '%s' is already up"):format(SRC, at, l.name), e)
  end)
end)

describe("a run that stops on a failed check", function()
  local NSLAB = os.getenv("NSLAB") or "build/nslab"
  after_each(T.cleanup)

  it("exits 1 with the check's own report line and no traceback", function()
    local script = os.tmpname()
    local prefix = T.name("S") .. "-"
    local variants = {
      'local l <close> = lab.new{ prefix = %q, stop_on_failure = true }',
      'require("netns.check").options.fail_fast = true\nlocal l <close> = lab.new{ prefix = %q }',
    }
    for _, v in ipairs(variants) do
      local f = assert(io.open(script, "w"))
      f:write(('local lab = require "netns.lab"\n' .. v .. [[

l:host("a")
l:host("b")
l:link("a:e0 192.0.2.1/24", "b:e0 192.0.2.2/24")
l:up()
l:unreachable("a", "b")
print("after the failed check")
]]):format(prefix))
      f:close()
      local p = assert(io.popen(("%s --no-color %s 2>&1"):format(NSLAB, script)))
      local out = p:read("a")
      local _, _, code = p:close()
      assert.are.equal(1, code, out)
      assert.matches("FAIL  a cannot reach b %(192%.0%.2%.2%)", out)
      assert.is_nil(out:find("traceback", 1, true), out)
      assert.is_nil(out:find("after the failed check", 1, true), out)
    end
    os.remove(script)
    T.track(prefix .. "a"); T.track(prefix .. "b")
  end)
end)
