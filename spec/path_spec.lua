-- ns:traceroute and ns:path_mtu against the real kernel, and the lab checks
-- over them (l:traceroute, l:path, l:path_mtu): a chain of three routers,
-- IPv4 and IPv6, a router without a route that ends the path, and a link
-- with a smaller MTU in the middle.
local netns = require "netns"
local report = require "netns.report"
local check = require "netns.check"
local T = require "spec.testlib"

-- ns1 - r1 - r2 - r3 - ns2; the r1-r2 link has MTU 1400.
local function chain()
  local l = T.lab({ name = "chain" }, "P")
  l:host("ns1", { default = "r1" })
  l:host("ns2", { default = "r3" })
  for _, r in ipairs{ "r1", "r2", "r3" } do l:router(r) end
  l:link("ns1:eth0 10.1.0.1/24 fd01::1/64", "r1:eth0 10.1.0.254/24 fd01::254/64")
  l:link("r1:eth1 10.2.0.1/24 fd02::1/64 mtu=1400", "r2:eth0 10.2.0.2/24 fd02::2/64 mtu=1400")
  l:link("r2:eth1 10.3.0.1/24 fd03::1/64", "r3:eth0 10.3.0.2/24 fd03::2/64")
  l:link("r3:eth1 10.4.0.254/24 fd04::254/64", "ns2:eth0 10.4.0.1/24 fd04::1/64")
  l:route("r1", "10.4.0.0/24 via 10.2.0.2")
  l:route("r1", "10.3.0.0/24 via 10.2.0.2")
  l:route("r1", "fd04::/64 via fd02::2")
  l:route("r1", "fd03::/64 via fd02::2")
  l:route("r2", "10.4.0.0/24 via 10.3.0.2")
  l:route("r2", "10.1.0.0/24 via 10.2.0.1")
  l:route("r2", "fd04::/64 via fd03::2")
  l:route("r2", "fd01::/64 via fd02::1")
  l:route("r3", "10.1.0.0/24 via 10.3.0.1")
  l:route("r3", "10.2.0.0/24 via 10.3.0.1")
  l:route("r3", "fd01::/64 via fd03::1")
  l:route("r3", "fd02::/64 via fd03::1")
  l:up()
  assert(l:node("ns1"):ping("10.4.0.1", { timeout = 3 }).ok and l:node("ns1"):ping("fd04::1", { timeout = 3 }).ok)
  return l
end

describe("paths", function()
  before_each(function()
    report.reset()
    check.options.out = false
  end)
  after_each(function()
    check.options.out = nil
    report.reset()
    T.cleanup()
  end)

  it("traces a 3-router chain hop by hop, with each hop's node, over IPv4 and IPv6", function()
    local l = chain()
    for _, fam in ipairs{ "inet", "inet6" } do
      local t = l:traceroute("ns1", "ns2", { family = fam })
      assert.is_true(t.reached)
      local got = {}
      for _, h in ipairs(t.hops) do
        got[#got + 1] = { h.ttl, h.kind, h.node, h.icmp_type }
        assert.is_true(h.rtt >= 0)
      end
      local te = fam == "inet" and 11 or 3
      assert.are.same({ { 1, "ttl_exceeded", "r1", te }, { 2, "ttl_exceeded", "r2", te },
                        { 3, "ttl_exceeded", "r3", te }, { 4, "reply", "ns2" } }, got)
      assert.are.equal(fam == "inet" and "10.1.0.254" or "fd01::254", t.hops[1].address)
    end
  end)

  it("ends the path at the router that has no route, with its error", function()
    local l = chain()
    local t = l:traceroute("ns1", "198.51.100.9", { max_hops = 6 })
    assert.is_false(t.reached)
    -- r1 routes only the lab's subnets
    assert.are.equal(1, #t.hops)
    assert.are.same({ "error", "net_unreachable", 3, 0, "10.1.0.254", "r1" },
      { t.hops[1].kind, t.hops[1].error, t.hops[1].icmp_type, t.hops[1].icmp_code, t.hops[1].address, t.hops[1].node })
  end)

  it("checks the path through the routers in order, and shows both when it differs", function()
    local l = chain()
    assert.is_true((l:path("ns1", "ns2", { "r1", "r2", "r3" })))
    assert.is_true((l:path("ns1", "ns2", { "r1", "10.2.0.2", "r3", family = "inet" })))
    assert.is_true((l:path("ns1", "ns2", { "r1", "r2", "r3", family = "inet6" })))
    local ok, d = l:path("ns1", "ns2", { "r1", "r3" })
    assert.is_false(ok)
    assert.are.equal("ns1 -> r1 -> r3 -> ns2", d.expected)
    assert.are.equal("ns1 -> r1 (10.1.0.254) -> r2 (10.2.0.2) -> r3 (10.3.0.2) -> ns2 (10.4.0.1)", d.actual)
    assert.are.equal(4, #report.checks())
    assert.has_error(function() l:path("ns1", "ns2", { "r1", "nobody" }) end)
    assert.has_error(function() l:path("ns1", "ns2", { "r1", colour = 1 }) end)
    for _, o in ipairs{ { max_hops = 100 }, { queries = 0 }, { timeout = -1 }, { source = "fd01::1" }, { dev = "a/b" } } do
      local ok2, e = pcall(l.path, l, "ns1", "ns2", o)
      assert.is_false(ok2)
      assert.matches("path_spec%.lua:%d+: bad argument #4 to 'path' %(field '", tostring(e))
    end
  end)

  it("finds the path MTU of the smaller link, as data and as a check", function()
    local l = chain()
    local ns1 = l:node("ns1")
    for _, dst in ipairs{ "10.4.0.1", "fd04::1" } do
      local m = ns1:path_mtu(dst)
      assert.are.same({ true, 1400, dst == "10.4.0.1" and "10.1.0.254" or "fd01::254" }, { m.ok, m.mtu, m.from })
    end
    -- once the kernel knows the path MTU, a larger don't-fragment echo fails at the source
    local r = ns1:ping("10.4.0.1", { size = 1400, df = true })
    assert.are.same({ "local", "EMSGSIZE", 1400 }, { r.errors[1].kind, r.errors[1].code, r.errors[1].mtu })
    assert.is_true(ns1:ping("10.4.0.1", { size = 1372, df = true }).ok)
    assert.is_true((l:path_mtu("ns1", "ns2", 1400)))
    assert.is_true((l:path_mtu("ns1", "ns2", 1400, { family = "inet6" })))
    local ok, d = l:path_mtu("ns1", "r1", 1400)
    assert.is_false(ok)
    assert.are.equal("path MTU 1500", d.actual)
    assert.has_error(function() l:path_mtu("ns1", "ns2", 20) end)
  end)

  it("reports fragmentation needed from the router with its MTU", function()
    local l = chain()
    local ns3 = l:node("r1")  -- r1 itself has the small link: its own route says 1400
    local r = l:node("ns1"):ping("10.4.0.1", { size = 1450, df = true, timeout = 2 })
    assert.is_false(r.ok)
    local e = r.errors[1]
    assert.are.same({ "packet_too_big", 3, 4, 1400, "10.1.0.254" }, { e.kind, e.icmp_type, e.icmp_code, e.mtu, e.from })
    local _ = ns3
  end)
end)
