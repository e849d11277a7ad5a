local T = require "spec.testlib"

-- A veth pair d0 <-> d1 inside the test namespace, both ends up (veth rather
-- than dummy: it needs no extra kernel module and has a carrier for DAD).
local function pair(name)
  local out, ok = T.run(("ip -n %s link add d0 type veth peer name d1 && " ..
    "ip -n %s link set d0 up && ip -n %s link set d1 up"):format(name, name, name))
  assert(ok, out)
end

-- Addresses as `ip -j addr show dev DEV` reports them, by "address/prefixlen".
local function ipaddrs(name, dev)
  local r = {}
  for _, l in ipairs(T.ipj("-n", name, "addr", "show", "dev", dev or "d0")) do
    for _, a in ipairs(l.addr_info or {}) do
      r[a["local"] .. "/" .. a.prefixlen] = a
    end
  end
  return r
end

-- How many addresses other than the automatic link-local ones an interface has.
local function count_global(name, dev)
  local n = 0
  for _, a in pairs(ipaddrs(name, dev)) do
    if a.scope ~= "link" then n = n + 1 end
  end
  return n
end

local function find(list, cidr)
  for _, a in ipairs(list) do
    if a.cidr == cidr then return a end
  end
end

local fdcount = T.fds

local function ifindex(name, dev)
  return T.ipj("-n", name, "link", "show", "dev", dev)[1].ifindex
end

describe("netns addresses", function()
  after_each(T.cleanup)

  it("adds an IPv4 address with the broadcast address `brd +` sets", function()
    local ns, name = T.ns("a4")
    pair(name)
    ns:addr_add("d0", "192.0.2.1/24")
    local a = ipaddrs(name)["192.0.2.1/24"]
    assert.truthy(a)
    assert.are.equal("inet", a.family)
    assert.are.equal("192.0.2.255", a.broadcast)
    assert.are.equal("global", a.scope)
    assert.are.equal("d0", a.label)
    ns:addr_add("d0", "198.51.100.77/27")
    assert.are.equal("198.51.100.95", ipaddrs(name)["198.51.100.77/27"].broadcast)
  end)

  it("sets no broadcast for /31 and /32, as brd + does, nor with broadcast=false", function()
    local ns, name = T.ns("nobrd")
    pair(name)
    ns:addr_add("d0", "10.1.0.0/31")
    ns:addr_add("d0", "10.2.0.1/32")
    ns:addr_add("d0", "10.3.0.1/24", { broadcast = false })
    local got = ipaddrs(name)
    assert.is_nil(got["10.1.0.0/31"].broadcast)
    assert.is_nil(got["10.2.0.1/32"].broadcast)
    assert.is_nil(got["10.3.0.1/24"].broadcast)
    assert.is_nil(find(ns:addrs{ dev = "d0" }, "10.3.0.1/24").broadcast)
  end)

  it("takes broadcast=true and an explicit broadcast address", function()
    local ns, name = T.ns("brd")
    pair(name)
    ns:addr_add("d0", "10.4.0.1/16", { broadcast = true })
    ns:addr_add("d0", "10.5.0.1/24", { broadcast = "10.5.0.99" })
    local got = ipaddrs(name)
    assert.are.equal("10.4.255.255", got["10.4.0.1/16"].broadcast)
    assert.are.equal("10.5.0.99", got["10.5.0.1/24"].broadcast)
  end)

  it("gives 127/8 host scope as ip does, and takes scope and label options", function()
    local ns, name = T.ns("scope")
    pair(name)
    ns:addr_add("d0", "127.1.0.1/8")
    ns:addr_add("d0", "10.6.0.1/24", { scope = "link", label = "d0:web" })
    local got = ipaddrs(name)
    assert.are.equal("host", got["127.1.0.1/8"].scope)
    assert.are.equal("link", got["10.6.0.1/24"].scope)
    assert.are.equal("d0:web", got["10.6.0.1/24"].label)
    local a = find(ns:addrs(), "10.6.0.1/24")
    assert.are.equal("link", a.scope)
    assert.are.equal("d0:web", a.label)
  end)

  it("adds IPv6 addresses; nodad ones are usable at once, others start tentative", function()
    local ns, name = T.ns("a6")
    pair(name)
    -- DAD ends a retransmit time after it starts (1 s by default, less than
    -- a slow machine may take to read the address back): 60 s here, so the
    -- address is still tentative whenever it is read.
    ns:sysctl_set("net.ipv6.neigh.d0.retrans_time_ms", 60000)
    ns:addr_add("d0", "2001:db8::1/64", { nodad = true })
    ns:addr_add("d0", "2001:db8:1::1/64")
    local got = ipaddrs(name)
    assert.is_true(got["2001:db8::1/64"].nodad)
    assert.is_nil(got["2001:db8::1/64"].tentative)
    assert.is_nil(got["2001:db8::1/64"].broadcast)
    assert.is_true(got["2001:db8:1::1/64"].tentative)
    local mine = ns:addrs{ family = "inet6", dev = "d0" }
    local a = find(mine, "2001:db8::1/64")
    assert.is_false(a.tentative)
    assert.are.same({ "nodad", "permanent" }, a.flags)
    assert.is_true(find(mine, "2001:db8:1::1/64").tentative)
  end)

  it("lists addresses with every field, filtered by dev and family", function()
    local ns, name = T.ns("list")
    pair(name)
    ns:addr_add("d0", "192.0.2.1/24")
    ns:addr_add("d1", "192.0.2.2/24")
    ns:addr_add("d0", "2001:db8::1/64", { nodad = true })
    local a = find(ns:addrs(), "192.0.2.1/24")
    assert.are.same({
      dev = "d0", index = ifindex(name, "d0"), family = "inet", address = "192.0.2.1",
      prefixlen = 24, cidr = "192.0.2.1/24", broadcast = "192.0.2.255", label = "d0",
      scope = "global", flags = { "permanent" }, tentative = false,
    }, a)
    for _, x in ipairs(ns:addrs{ dev = "d1" }) do assert.are.equal("d1", x.dev) end
    assert.truthy(find(ns:addrs{ dev = "d1" }, "192.0.2.2/24"))
    for _, x in ipairs(ns:addrs{ family = "inet" }) do assert.are.equal("inet", x.family) end
    local v6 = ns:addrs{ family = "inet6", dev = "d0" }
    assert.truthy(find(v6, "2001:db8::1/64"))
    assert.is_nil(find(v6, "192.0.2.1/24"))
    -- sorted by interface index, IPv4 first within one interface
    local all, last = ns:addrs(), nil
    for _, x in ipairs(all) do
      if last then
        assert.is_true(last.index < x.index or
          (last.index == x.index and (last.family == x.family or x.family == "inet6")))
      end
      last = x
    end
  end)

  it("deletes addresses; deleting a missing one is EADDRNOTAVAIL", function()
    local ns, name = T.ns("del")
    pair(name)
    ns:addr_add("d0", "192.0.2.1/24")
    ns:addr_add("d0", "2001:db8::1/64", { nodad = true })
    ns:addr_del("d0", "192.0.2.1/24")
    ns:addr_del("d0", "2001:db8::1/64")
    assert.are.equal(0, count_global(name))
    assert.is_nil(find(ns:addrs(), "192.0.2.1/24"))
    local ok, e = pcall(ns.addr_del, ns, "d0", "192.0.2.1/24")
    assert.is_false(ok)
    assert.are.equal("EADDRNOTAVAIL", e.code)
    assert.matches("delete address 192.0.2.1/24 dev d0 in " .. name:gsub("%-", "%%-"), e.message)
  end)

  it("refuses a duplicate with EEXIST and a missing device with ENODEV naming it", function()
    local ns, name = T.ns("err")
    pair(name)
    ns:addr_add("d0", "192.0.2.1/24")
    local ok, e = pcall(ns.addr_add, ns, "d0", "192.0.2.1/24")
    assert.is_false(ok)
    assert.are.equal("EEXIST", e.code)
    ok, e = pcall(ns.addr_add, ns, "nosuch0", "192.0.2.9/24")
    assert.is_false(ok)
    assert.are.equal("ENODEV", e.code)
    assert.matches("add address 192.0.2.9/24 dev nosuch0 in " .. name:gsub("%-", "%%-") ..
      ": No such device %(ENODEV%)", e.message)
    assert.are.equal("ENODEV", T.errcode(ns.addr_del, ns, "nosuch0", "192.0.2.1/24"))
    assert.are.equal("ENODEV", T.errcode(ns.addrs, ns, { dev = "nosuch0" }))
  end)

  describe("refuses bad input with an argument error, adding nothing:", function()
    local bad = {
      { "prefix /33", { "d0", "10.0.0.1/33" }, "#3.*prefix length out of range" },
      { "prefix /-1", { "d0", "10.0.0.1/-1" }, "#3.*not a decimal number" },
      { "prefix /0x18", { "d0", "10.0.0.1/0x18" }, "#3.*prefix length" },
      { "IPv6 prefix /129", { "d0", "2001:db8::1/129" }, "#3.*out of range" },
      { "octet 256", { "d0", "10.0.0.256/24" }, "#3.*not an IPv4 or IPv6 address" },
      { "trailing junk", { "d0", "10.0.0.1/24x" }, "#3.*not a decimal number" },
      { "junk in the address", { "d0", "10.0.0.1x/24" }, "#3.*not an IPv4 or IPv6" },
      { "a missing prefix", { "d0", "10.0.0.1" }, "#3.*missing prefix length" },
      { "a table for the address", { "d0", {} }, "#3.*string expected, got table" },
      { "a number for the address", { "d0", 10 }, "#3.*string expected, got number" },
      { "an empty device name", { "", "10.0.0.1/24" }, "#2.*interface name '' empty" },
      { "a long device name", { "abcdefghijklmnop", "10.0.0.1/24" }, "#2.*too long" },
      { "a device name with /", { "d/0", "10.0.0.1/24" }, "#2.*contains '/'" },
      { "a device name with a space", { "d 0", "10.0.0.1/24" }, "#2.*whitespace" },
      { "an unknown option", { "d0", "10.0.0.1/24", { brd = true } }, "#4.*unknown option 'brd'" },
      { "a bad broadcast", { "d0", "10.0.0.1/24", { broadcast = "10.0.0.300" } },
        "#4.*field 'broadcast'.*not an IPv4" },
      { "an IPv6 broadcast", { "d0", "10.0.0.1/24", { broadcast = "2001:db8::ff" } },
        "#4.*field 'broadcast'.*not an IPv4 address" },
      { "a number as broadcast", { "d0", "10.0.0.1/24", { broadcast = 1 } },
        "#4.*field 'broadcast'.*boolean or string expected, got number" },
      { "a broadcast on IPv6", { "d0", "2001:db8::1/64", { broadcast = true } },
        "#4.*field 'broadcast'.*IPv4 only" },
      { "a string as nodad", { "d0", "2001:db8::1/64", { nodad = "yes" } },
        "#4.*field 'nodad'.*boolean expected" },
      { "a label not starting with the device", { "d0", "10.0.0.1/24", { label = "x0:1" } },
        "#4.*field 'label'.*must be the interface name" },
      { "a label too long", { "d0", "10.0.0.1/24", { label = "d0:abcdefghijklm" } },
        "#4.*field 'label'.*too long" },
      { "a label on IPv6", { "d0", "2001:db8::1/64", { label = "d0:x" } },
        "#4.*field 'label'.*IPv4 only" },
      { "an unknown scope", { "d0", "10.0.0.1/24", { scope = "galaxy" } },
        "#4.*field 'scope'.*unknown scope 'galaxy'" },
      { "options that are not a table", { "d0", "10.0.0.1/24", "nodad" }, "#4.*table expected" },
    }
    for _, case in ipairs(bad) do
      it(case[1], function()
        local ns, name = T.ns("bad")
        pair(name)
        local ok, e = pcall(ns.addr_add, ns, table.unpack(case[2], 1, 3))
        assert.is_false(ok)
        assert.are.equal("string", type(e))
        assert.matches("bad argument " .. case[3], e)
        assert.are.equal(0, count_global(name))
      end)
    end

    it("naming the method and the argument as a script wrote it", function()
      local ns = T.ns("bad")
      local ok, e = pcall(function() ns:addr_add("d0", "10.0.0.1/33") end)
      assert.is_false(ok)
      assert.matches("bad argument #2 to 'addr_add' %('10.0.0.1/33': prefix length out of range", e)
    end)

    it("in addr_del and addrs", function()
      local ns = T.ns("bad")
      assert.matches("#3.*missing prefix length", select(2, pcall(ns.addr_del, ns, "d0", "10.0.0.1")))
      assert.matches("#3.*out of range", select(2, pcall(ns.addr_del, ns, "d0", "10.0.0.1/33")))
      assert.matches("#2.*too long", select(2, pcall(ns.addr_del, ns, "abcdefghijklmnop", "10.0.0.1/8")))
      assert.matches("#2.*field 'family'.*unknown family 'ipx'",
        select(2, pcall(ns.addrs, ns, { family = "ipx" })))
      assert.matches("#2.*field 'dev'.*too long",
        select(2, pcall(ns.addrs, ns, { dev = "abcdefghijklmnop" })))
      assert.matches("#2.*unknown option 'device'", select(2, pcall(ns.addrs, ns, { device = "d0" })))
    end)
  end)

  it("keeps the number of open fds flat over repeated add and delete", function()
    local ns, name = T.ns("fds")
    pair(name)
    ns:addr_add("d0", "192.0.2.1/24")
    ns:addr_del("d0", "192.0.2.1/24")
    ns:addrs()
    local before = fdcount()
    for i = 1, 200 do
      ns:addr_add("d0", "192.0.2.1/24")
      ns:addr_add("d0", "2001:db8::1/64", { nodad = true })
      assert.truthy(find(ns:addrs{ dev = "d0" }, "192.0.2.1/24"))
      ns:addr_del("d0", "192.0.2.1/24")
      ns:addr_del("d0", "2001:db8::1/64")
      pcall(ns.addr_del, ns, "d0", "192.0.2.1/24")
    end
    assert.are.equal(before, fdcount())
    assert.are.equal(0, count_global(name))
  end)
end)
