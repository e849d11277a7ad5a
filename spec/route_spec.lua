local T = require "spec.testlib"

-- A namespace with a veth pair d0 <-> d1 inside (both up), 10.0.0.1/24 and
-- 2001:db8::1/64 (nodad: usable at once) on d0, so gateways there are on-link.
-- The kernel gives each end its IPv6 link-local address (and that address's
-- local route) only once it sees the carrier, a moment after both are up:
-- wait for both, so that a snapshot of the routes taken next stays true.
-- (No DAD in this namespace, so no wait for it on top.)
local function lab(tag)
  local ns, name = T.ns(tag)
  ns:sysctl_set("net.ipv6.conf.default.accept_dad", 0)
  local out, ok = T.run(("ip -n %s link add d0 type veth peer name d1 && " ..
    "ip -n %s link set d0 up && ip -n %s link set d1 up"):format(name, name, name))
  assert(ok, out)
  ns:addr_add("d0", "10.0.0.1/24")
  ns:addr_add("d0", "2001:db8::1/64", { nodad = true })
  assert(T.wait_until(function()
    local n = 0
    for _, r in ipairs(T.ipj("-n", name, "-6", "route", "show", "table", "local")) do
      if r.dst:match("^fe80:") then n = n + 1 end
    end
    return n == 2
  end, 10), "d0 and d1 got no IPv6 link-local addresses")
  return ns, name
end

-- `ip -j [-6] route show [table N]`, as a map from dst to the route.
local function iproutes(name, opts)
  opts = opts or {}
  local args = { "-n", name }
  if opts.v6 then args[#args + 1] = "-6" end
  args[#args + 1] = "route"
  args[#args + 1] = "show"
  if opts.table then
    args[#args + 1] = "table"
    args[#args + 1] = tostring(opts.table)
  end
  local r = {}
  for _, rt in ipairs(T.ipj(table.unpack(args))) do r[rt.dst] = rt end
  return r
end

-- Every route of every table and family, as text, to prove nothing changed.
-- The routes, less the link-local and multicast ones the kernel adds by
-- itself as each end gets carrier and its fe80:: address (at its own pace:
-- two snapshots taken a moment apart may differ in those alone).
local function snapshot(name)
  local out = T.run(("ip -n %s route show table all; ip -n %s -6 route show table all"):format(name, name))
  local keep = {}
  for line in out:gmatch("[^\n]+") do
    if not (line:find("fe80:", 1, true) or line:find("ff00::/8", 1, true)) then keep[#keep + 1] = line end
  end
  return table.concat(keep, "\n")
end

local function find(list, dst, family)
  for _, r in ipairs(list) do
    if r.dst == dst and (not family or r.family == family) then return r end
  end
end

local fdcount = T.fds

describe("netns routes", function()
  after_each(T.cleanup)

  it("adds a prefix via a gateway", function()
    local ns, name = lab("via")
    ns:route_add{ dst = "198.51.100.0/24", via = "10.0.0.254" }
    local r = iproutes(name)["198.51.100.0/24"]
    assert.truthy(r)
    assert.are.equal("10.0.0.254", r.gateway)
    assert.are.equal("d0", r.dev)
    assert.is_nil(r.protocol)      -- "boot", as ip route add, is not printed
    assert.is_nil(r.scope)         -- global
    assert.are.same({
      dst = "198.51.100.0/24", family = "inet", via = "10.0.0.254", dev = "d0", metric = 0,
      table = 254, type = "unicast", protocol = "boot", scope = "global",
    }, find(ns:routes(), "198.51.100.0/24"))
  end)

  it("adds a prefix out a device with scope link, and a preferred source", function()
    local ns, name = lab("dev")
    ns:route_add{ dst = "203.0.113.0/24", dev = "d0", src = "10.0.0.1" }
    local r = iproutes(name)["203.0.113.0/24"]
    assert.are.equal("d0", r.dev)
    assert.are.equal("link", r.scope)
    assert.are.equal("10.0.0.1", r.prefsrc)
    assert.is_nil(r.gateway)
    local mine = find(ns:routes(), "203.0.113.0/24")
    assert.are.equal("link", mine.scope)
    assert.are.equal("10.0.0.1", mine.src)
    assert.is_nil(mine.via)
  end)

  it("adds IPv4 and IPv6 default routes", function()
    local ns, name = lab("default")
    ns:route_add{ dst = "default", via = "10.0.0.254" }
    ns:route_add{ dst = "default", via = "2001:db8::fe" }
    assert.are.equal("10.0.0.254", iproutes(name).default.gateway)
    assert.are.equal("2001:db8::fe", iproutes(name, { v6 = true }).default.gateway)
    local v4 = find(ns:routes{ family = "inet" }, "default")
    local v6 = find(ns:routes{ family = "inet6" }, "default")
    assert.are.equal("10.0.0.254", v4.via)
    assert.are.equal("2001:db8::fe", v6.via)
    assert.are.equal("inet6", v6.family)
    assert.are.equal(1024, v6.metric)       -- the kernel's default for IPv6
  end)

  it("adds a default route out a device for the family asked for", function()
    local ns, name = lab("default6")
    ns:route_add{ dst = "default", dev = "d0", family = "inet6", metric = 10 }
    local r = iproutes(name, { v6 = true }).default
    assert.are.equal("d0", r.dev)
    assert.are.equal(10, r.metric)
    assert.is_nil(iproutes(name).default)
  end)

  it("adds routes with a metric, and the same prefix with two metrics", function()
    local ns, name = lab("metric")
    ns:route_add{ dst = "198.51.100.0/24", via = "10.0.0.254", metric = 50 }
    ns:route_add{ dst = "198.51.100.0/24", via = "10.0.0.253", metric = 60 }
    local seen = {}
    for _, r in ipairs(T.ipj("-n", name, "route", "show", "198.51.100.0/24")) do
      seen[r.metric] = r.gateway
    end
    assert.are.same({ [50] = "10.0.0.254", [60] = "10.0.0.253" }, seen)
    ns:route_del{ dst = "198.51.100.0/24", metric = 60 }
    assert.are.equal(50, iproutes(name)["198.51.100.0/24"].metric)
  end)

  it("adds routes to another table, listed with table=", function()
    local ns, name = lab("table")
    ns:route_add{ dst = "198.51.100.0/24", via = "10.0.0.254", table = 100 }
    ns:route_add{ dst = "default", via = "2001:db8::fe", table = 100 }
    assert.is_nil(iproutes(name)["198.51.100.0/24"])
    assert.are.equal("10.0.0.254", iproutes(name, { table = 100 })["198.51.100.0/24"].gateway)
    assert.are.equal("2001:db8::fe", iproutes(name, { v6 = true, table = 100 }).default.gateway)
    assert.is_nil(find(ns:routes(), "198.51.100.0/24"))
    local t100 = ns:routes{ table = 100 }
    assert.are.equal(100, find(t100, "198.51.100.0/24").table)
    assert.truthy(find(t100, "default", "inet6"))
    assert.truthy(find(ns:routes{ table = "all" }, "198.51.100.0/24"))
    local loc = ns:routes{ table = "local", family = "inet" }
    assert.are.equal("local", find(loc, "10.0.0.1/32").type)
    ns:route_del{ dst = "198.51.100.0/24", table = 100 }
    assert.is_nil(iproutes(name, { table = 100 })["198.51.100.0/24"])
  end)

  it("replace changes the gateway of a route, and adds one that is missing", function()
    local ns, name = lab("replace")
    ns:route_add{ dst = "198.51.100.0/24", via = "10.0.0.254" }
    ns:route_replace{ dst = "198.51.100.0/24", via = "10.0.0.253" }
    assert.are.equal("10.0.0.253", iproutes(name)["198.51.100.0/24"].gateway)
    assert.are.equal(1, #T.ipj("-n", name, "route", "show", "198.51.100.0/24"))
    ns:route_replace{ dst = "2001:db8:5::/48", via = "2001:db8::fe" }
    ns:route_replace{ dst = "2001:db8:5::/48", via = "2001:db8::fd" }
    assert.are.equal("2001:db8::fd", iproutes(name, { v6 = true })["2001:db8:5::/48"].gateway)
    assert.are.equal("2001:db8::fd", find(ns:routes(), "2001:db8:5::/48").via)
  end)

  it("deletes routes; deleting a missing one is ESRCH", function()
    local ns, name = lab("del")
    ns:route_add{ dst = "198.51.100.0/24", via = "10.0.0.254" }
    ns:route_add{ dst = "2001:db8:5::/48", via = "2001:db8::fe" }
    ns:route_del{ dst = "198.51.100.0/24" }
    ns:route_del{ dst = "2001:db8:5::/48", via = "2001:db8::fe" }
    assert.is_nil(iproutes(name)["198.51.100.0/24"])
    assert.is_nil(iproutes(name, { v6 = true })["2001:db8:5::/48"])
    local ok, e = pcall(ns.route_del, ns, { dst = "198.51.100.0/24" })
    assert.is_false(ok)
    assert.are.equal("ESRCH", e.code)
    assert.matches("^.-delete route 198.51.100.0/24 in " .. name:gsub("%-", "%%-") .. ": ", e.message)
  end)

  it("adds and deletes blackhole, unreachable and prohibit routes", function()
    local ns, name = lab("types")
    ns:route_add{ dst = "192.0.2.0/26", type = "blackhole" }
    ns:route_add{ dst = "192.0.2.64/26", type = "unreachable" }
    ns:route_add{ dst = "192.0.2.128/26", type = "prohibit" }
    ns:route_add{ dst = "2001:db8:dead::/48", type = "blackhole" }
    ns:route_add{ dst = "2001:db8:beef::/48", type = "unreachable" }
    ns:route_add{ dst = "2001:db8:f00d::/48", type = "prohibit" }
    local v4, v6 = iproutes(name), iproutes(name, { v6 = true })
    assert.are.equal("blackhole", v4["192.0.2.0/26"].type)
    assert.are.equal("unreachable", v4["192.0.2.64/26"].type)
    assert.are.equal("prohibit", v4["192.0.2.128/26"].type)
    assert.are.equal("blackhole", v6["2001:db8:dead::/48"].type)
    assert.are.equal("unreachable", v6["2001:db8:beef::/48"].type)
    assert.are.equal("prohibit", v6["2001:db8:f00d::/48"].type)
    local mine = ns:routes()
    assert.are.equal("blackhole", find(mine, "192.0.2.0/26").type)
    assert.are.equal("prohibit", find(mine, "2001:db8:f00d::/48").type)
    ns:route_del{ dst = "192.0.2.0/26", type = "blackhole" }
    ns:route_del{ dst = "192.0.2.64/26" }
    ns:route_del{ dst = "2001:db8:f00d::/48" }
    v4, v6 = iproutes(name), iproutes(name, { v6 = true })
    assert.is_nil(v4["192.0.2.0/26"])
    assert.is_nil(v4["192.0.2.64/26"])
    assert.is_nil(v6["2001:db8:f00d::/48"])
  end)

  it("deletes an IPv6 route only if its type matches, as for IPv4", function()
    local ns, name = lab("deltype6")
    ns:route_add{ dst = "default", via = "2001:db8::fe" }
    ns:route_add{ dst = "default", family = "inet6", type = "unreachable", metric = 5000 }
    ns:route_del{ dst = "default", family = "inet6", type = "unreachable" }
    local v6 = T.ipj("-n", name, "-6", "route", "show", "default")
    assert.are.equal(1, #v6)
    assert.are.equal("2001:db8::fe", v6[1].gateway)
    assert.is_nil(v6[1].type)     -- unicast, which ip does not print
    local ok, e = pcall(ns.route_del, ns, { dst = "default", family = "inet6", type = "blackhole" })
    assert.is_false(ok)
    assert.are.equal("ESRCH", e.code)
    assert.matches("delete route blackhole default in", e.message, 1, true)
    assert.are.equal(1, #T.ipj("-n", name, "-6", "route", "show", "default"))
    ns:route_del{ dst = "default", family = "inet6", type = "unicast" }
    assert.are.same({}, T.ipj("-n", name, "-6", "route", "show", "default"))
  end)

  it("deletes the IPv6 route of the metric, gateway or device given", function()
    local ns, name = lab("delpick6")
    ns:route_add{ dst = "2001:db8:7::/48", via = "2001:db8::fe", metric = 10 }
    ns:route_add{ dst = "2001:db8:7::/48", type = "blackhole", metric = 20 }
    ns:route_add{ dst = "2001:db8:7::/48", via = "2001:db8::fd", metric = 30 }
    ns:route_del{ dst = "2001:db8:7::/48", via = "2001:db8::fd" }
    ns:route_del{ dst = "2001:db8:7::/48", metric = 20 }
    local left = T.ipj("-n", name, "-6", "route", "show", "2001:db8:7::/48")
    assert.are.equal(1, #left)
    assert.are.equal(10, left[1].metric)
    local ok, e = pcall(ns.route_del, ns, { dst = "2001:db8:7::/48", dev = "d1" })
    assert.are.equal("ESRCH", not ok and e.code)
    ns:route_del{ dst = "2001:db8:7::/48", dev = "d0" }
    assert.are.same({}, T.ipj("-n", name, "-6", "route", "show", "2001:db8:7::/48"))
  end)

  it("a host route without a prefix length is a /32", function()
    local ns, name = lab("host")
    ns:route_add{ dst = "192.0.2.7", dev = "d0" }
    assert.truthy(iproutes(name)["192.0.2.7"])
    assert.truthy(find(ns:routes(), "192.0.2.7/32"))
  end)

  it("reports the kernel's reason for an unreachable gateway: ENETUNREACH", function()
    local ns, name = lab("unreach")
    local before = snapshot(name)
    local ok, e = pcall(ns.route_add, ns, { dst = "10.99.0.0/16", via = "10.55.0.1" })
    assert.is_false(ok)
    assert.are.equal("ENETUNREACH", e.code)
    assert.are.equal(101, e.errno)
    assert.matches("add route 10.99.0.0/16 via 10.55.0.1 in " .. name:gsub("%-", "%%-") ..
      ": Network is unreachable %(ENETUNREACH%)$", e.message)
    assert.are.equal(e.message, tostring(e))
    assert.are.equal(before, snapshot(name))
  end)

  it("refuses a duplicate route with EEXIST and a missing device with ENODEV", function()
    local ns, name = lab("dup")
    ns:route_add{ dst = "198.51.100.0/24", via = "10.0.0.254" }
    local ok, e = pcall(ns.route_add, ns, { dst = "198.51.100.0/24", via = "10.0.0.254" })
    assert.is_false(ok)
    assert.are.equal("EEXIST", e.code)
    assert.matches("add route 198.51.100.0/24 via 10.0.0.254 in .*: File exists %(EEXIST%)$", e.message)
    ok, e = pcall(ns.route_add, ns, { dst = "203.0.113.0/24", dev = "nosuch0", table = 7 })
    assert.is_false(ok)
    assert.are.equal("ENODEV", e.code)
    assert.matches("add route 203.0.113.0/24 dev nosuch0 table 7 in " .. name:gsub("%-", "%%-"), e.message)
  end)

  describe("refuses bad input with an argument error naming the field, adding nothing:", function()
    local bad = {
      { "prefix /33", { dst = "10.0.0.0/33", dev = "d0" }, "field 'dst'.*out of range" },
      { "prefix /-1", { dst = "10.0.0.0/-1", dev = "d0" }, "field 'dst'.*not a decimal number" },
      { "prefix /0x18", { dst = "10.0.0.0/0x18", dev = "d0" }, "field 'dst'.*prefix length" },
      { "octet 256", { dst = "10.0.0.256/24", dev = "d0" }, "field 'dst'.*not an IPv4 or IPv6" },
      { "trailing junk", { dst = "10.0.0.0/8 x", dev = "d0" }, "field 'dst'.*not a decimal number" },
      { "host bits set", { dst = "10.0.0.1/8", via = "10.0.0.254" },
        "field 'dst'.*'10.0.0.1/8': invalid prefix for given prefix length" },
      { "IPv6 host bits set", { dst = "2001:db8::1/64", dev = "d0" },
        "field 'dst'.*invalid prefix for given prefix length" },
      { "a missing dst", { via = "10.0.0.254" }, "field 'dst'.*required" },
      { "a table where a string belongs", { dst = {}, dev = "d0" },
        "field 'dst'.*string expected, got table" },
      { "an IPv6 gateway on an IPv4 route", { dst = "198.51.100.0/24", via = "2001:db8::fe" },
        "field 'via'.*'2001:db8::fe': an IPv6 address for an IPv4 route" },
      { "an IPv4 gateway on an IPv6 route", { dst = "2001:db8:5::/48", via = "10.0.0.254" },
        "field 'via'.*an IPv4 address for an IPv6 route" },
      { "a gateway with a prefix", { dst = "198.51.100.0/24", via = "10.0.0.254/24" },
        "field 'via'.*prefix length is not allowed" },
      { "a bad gateway", { dst = "198.51.100.0/24", via = "10.0.0.2544" }, "field 'via'.*not an IPv4" },
      { "an IPv6 source on an IPv4 route", { dst = "198.51.100.0/24", dev = "d0", src = "2001:db8::1" },
        "field 'src'.*IPv6 address for an IPv4 route" },
      { "a family that contradicts dst", { dst = "198.51.100.0/24", dev = "d0", family = "inet6" },
        "field 'family'.*inet6 does not match" },
      { "a family that contradicts the gateway", { dst = "default", via = "10.0.0.254", family = "inet6" },
        "field 'family'.*does not match" },
      { "an unknown family", { dst = "default", dev = "d0", family = "ipx" }, "field 'family'.*unknown family" },
      { "an unknown type", { dst = "198.51.100.0/24", type = "nat" }, "field 'type'.*unknown type 'nat'" },
      { "a blackhole with a gateway", { dst = "198.51.100.0/24", type = "blackhole", via = "10.0.0.254" },
        "field 'via'.*a blackhole route takes no gateway or device" },
      { "a prohibit route with a device", { dst = "198.51.100.0/24", type = "prohibit", dev = "d0" },
        "field 'dev'.*takes no gateway or device" },
      { "a unicast route without gateway or device", { dst = "198.51.100.0/24" },
        "field 'via'.*needs a gateway" },
      { "an unknown option", { dst = "198.51.100.0/24", dev = "d0", gateway = "10.0.0.254" },
        "unknown option 'gateway'" },
      { "a bad device name", { dst = "198.51.100.0/24", dev = "abcdefghijklmnop" },
        "field 'dev'.*too long" },
      { "a device name with a space", { dst = "198.51.100.0/24", dev = "d 0" }, "field 'dev'.*whitespace" },
      { "a negative metric", { dst = "198.51.100.0/24", dev = "d0", metric = -1 }, "field 'metric'.*out of range" },
      { "a metric over 32 bits", { dst = "198.51.100.0/24", dev = "d0", metric = 1 << 32 },
        "field 'metric'.*out of range" },
      { "a fractional metric", { dst = "198.51.100.0/24", dev = "d0", metric = 1.5 },
        "field 'metric'.*no integer representation" },
      { "a string metric", { dst = "198.51.100.0/24", dev = "d0", metric = "10" },
        "field 'metric'.*integer expected, got string" },
      { "table 0", { dst = "198.51.100.0/24", dev = "d0", table = 0 }, "field 'table'.*out of range" },
      { "an unknown table name", { dst = "198.51.100.0/24", dev = "d0", table = "all" },
        "field 'table'.*unknown table 'all'" },
      { "a table as table", { dst = "198.51.100.0/24", dev = "d0", table = {} },
        "field 'table'.*integer or string expected, got table" },
      { "an unknown scope", { dst = "198.51.100.0/24", dev = "d0", scope = "galaxy" },
        "field 'scope'.*unknown scope" },
    }
    for _, case in ipairs(bad) do
      it(case[1], function()
        local ns, name = lab("bad")
        local before = snapshot(name)
        for _, f in ipairs{ "route_add", "route_replace" } do
          local ok, e = pcall(ns[f], ns, case[2])
          assert.is_false(ok)
          assert.are.equal("string", type(e))
          assert.matches("bad argument #2 to '%?' %(.*" .. case[3], e)
        end
        assert.are.equal(before, snapshot(name))
      end)
    end

    it("for the argument itself and in route_del and routes", function()
      local ns = lab("bad")
      assert.matches("#2.*table expected", select(2, pcall(ns.route_add, ns, "10.0.0.0/8")))
      assert.matches("#2.*table expected", select(2, pcall(ns.route_add, ns)))
      assert.matches("field 'dst'.*host bits", select(2, pcall(ns.route_del, ns, { dst = "10.0.0.1/8" })))
      assert.matches("field 'via'.*IPv6 address for an IPv4",
        select(2, pcall(ns.route_del, ns, { dst = "10.0.0.0/8", via = "2001:db8::1" })))
      assert.matches("field 'family'.*unknown family", select(2, pcall(ns.routes, ns, { family = "ip" })))
      assert.matches("field 'table'.*out of range", select(2, pcall(ns.routes, ns, { table = -1 })))
      assert.matches("unknown option 'dst'", select(2, pcall(ns.routes, ns, { dst = "default" })))
      local ok, e = pcall(function() ns:route_add{ dst = "10.0.0.0/33", dev = "d0" } end)
      assert.is_false(ok)
      assert.matches("bad argument #1 to 'route_add' %(field 'dst'", e)
    end)
  end)

  it("keeps the number of open fds flat over repeated add, replace and delete", function()
    local ns, name = lab("fds")
    ns:route_add{ dst = "198.51.100.0/24", via = "10.0.0.254" }
    ns:route_del{ dst = "198.51.100.0/24" }
    ns:routes()
    local before = fdcount()
    for _ = 1, 200 do
      ns:route_add{ dst = "198.51.100.0/24", via = "10.0.0.254" }
      ns:route_replace{ dst = "198.51.100.0/24", via = "10.0.0.253" }
      ns:route_add{ dst = "2001:db8:5::/48", via = "2001:db8::fe" }
      assert.truthy(find(ns:routes(), "2001:db8:5::/48"))
      pcall(ns.route_add, ns, { dst = "10.99.0.0/16", via = "10.55.0.1" })
      ns:route_del{ dst = "198.51.100.0/24" }
      ns:route_del{ dst = "2001:db8:5::/48" }
    end
    assert.are.equal(before, fdcount())
    assert.is_nil(iproutes(name)["198.51.100.0/24"])
  end)
end)
