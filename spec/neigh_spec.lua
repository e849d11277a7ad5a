-- Neighbours (ARP/NDP, as `ip neigh`) and the bridge FDB (as `bridge fdb show`).
-- Links and addresses are made with iproute2 from outside, inside the test's
-- own namespaces only, so these specs do not depend on the link/addr areas.
local netns = require "netns"
local T = require "spec.testlib"

local sh = T.sh

local function mac_of(nsname, dev)
  return T.ipj("-n", nsname, "link", "show", "dev", dev)[1].address
end

-- The entries `ip -n NS neigh show` lists for an address, from its JSON.
local function outside(nsname, dst)
  local found = {}
  for _, e in ipairs(T.ipj("-n", nsname, "neigh", "show", "nud", "all")) do
    if e.dst == dst then found[#found + 1] = e end
  end
  return found
end

local function find(list, field, value)
  for _, e in ipairs(list) do
    if e[field] == value then return e end
  end
end

local function ping(from, addr)
  return T.wait_until(function()
    local _, ok = T.run(("ip netns exec %s ping -c1 -W1 %s"):format(from, addr))
    return ok
  end, 10)
end

-- A and B on one veth pair (v0 at each end), 10.201.0.1/24 and .2, and a
-- ping from A so that A has an ARP entry for B.
local function pair()
  local a, an = T.ns("na")
  local b, bn = T.ns("nb")
  sh(("ip -n %s link add v0 type veth peer name v0 netns %s"):format(an, bn))
  sh(("ip -n %s addr add 10.201.0.1/24 dev v0"):format(an))
  sh(("ip -n %s addr add 10.201.0.2/24 dev v0"):format(bn))
  sh(("ip -n %s link set v0 up"):format(an))
  sh(("ip -n %s link set v0 up"):format(bn))
  return a, an, b, bn
end

local nfds = T.fds

describe("ns:neighs", function()
  after_each(T.cleanup)

  it("lists the peer's address with its MAC, state and device after a ping", function()
    local a, an, _, bn = pair()
    assert.is_true(ping(an, "10.201.0.2"))
    local e = find(a:neighs(), "address", "10.201.0.2")
    assert.is_table(e)
    assert.are.equal(mac_of(bn, "v0"), e.mac)
    assert.are.equal("v0", e.dev)
    assert.are.equal("inet", e.family)
    assert.is_false(e.router)
    assert.truthy(({ REACHABLE = 1, STALE = 1, DELAY = 1, PROBE = 1 })[e.state], e.state)
    assert.are.equal(e.state, outside(an, "10.201.0.2")[1].state[1])
  end)

  it("filters by device and family, and leaves NOARP entries out unless all=true", function()
    local a, an = pair()
    assert.is_true(ping(an, "10.201.0.2"))
    assert.is_table(find(a:neighs{ dev = "v0" }, "address", "10.201.0.2"))
    assert.is_table(find(a:neighs{ family = "inet" }, "address", "10.201.0.2"))
    assert.is_nil(find(a:neighs{ dev = "lo" }, "address", "10.201.0.2"))
    for _, e in ipairs(a:neighs{ family = "inet6" }) do
      assert.are.equal("inet6", e.family)
    end
    for _, e in ipairs(a:neighs()) do assert.are_not.equal("NOARP", e.state) end
    a:neigh_add{ dev = "v0", address = "10.201.0.9", mac = "02:00:5e:00:53:09" }
    sh(("ip -n %s neigh add 10.201.0.10 lladdr 02:00:5e:00:53:10 dev v0 nud noarp"):format(an))
    assert.is_nil(find(a:neighs(), "address", "10.201.0.10"))
    local e = find(a:neighs{ all = true }, "address", "10.201.0.10")
    assert.are.equal("NOARP", e.state)
  end)

  it("is empty in a fresh namespace", function()
    local a = T.ns("empty")
    assert.are.same({}, a:neighs())
  end)

  it("raises ENODEV for a device that does not exist", function()
    local a, an = pair()
    local ok, e = pcall(a.neighs, a, { dev = "nope0" })
    assert.is_false(ok)
    assert.are.equal("ENODEV", e.code)
    assert.matches('list neighbours dev "nope0" in ' .. an:gsub("%-", "%%-"), e.message)
  end)
end)

describe("ns:neigh_add and ns:neigh_del", function()
  after_each(T.cleanup)

  it("adds a PERMANENT entry that ip neigh shows from outside", function()
    local a, an = pair()
    a:neigh_add{ dev = "v0", address = "10.201.0.50", mac = "02:00:5e:00:53:50" }
    local o = outside(an, "10.201.0.50")
    assert.are.equal(1, #o)
    assert.are.equal("02:00:5e:00:53:50", o[1].lladdr)
    assert.are.same({ "PERMANENT" }, o[1].state)
    local e = find(a:neighs(), "address", "10.201.0.50")
    assert.are.equal("PERMANENT", e.state)
    assert.are.equal("02:00:5e:00:53:50", e.mac)
  end)

  it("adds IPv6 entries too", function()
    local a, an = pair()
    a:neigh_add{ dev = "v0", address = "2001:db8::50", mac = "02-00-5E-00-53-51" }
    assert.are.equal("02:00:5e:00:53:51", outside(an, "2001:db8::50")[1].lladdr)
    local e = find(a:neighs{ family = "inet6" }, "address", "2001:db8::50")
    assert.are.equal("inet6", e.family)
    assert.are.equal("PERMANENT", e.state)
  end)

  it("refuses an existing entry with EEXIST, and replace=true overwrites it", function()
    local a, an, _, bn = pair()
    assert.is_true(ping(an, "10.201.0.2"))
    local ok, e = pcall(a.neigh_add, a, { dev = "v0", address = "10.201.0.2", mac = "02:00:5e:00:53:02" })
    assert.is_false(ok)
    assert.are.equal("EEXIST", e.code)
    assert.matches('add neighbour 10.201.0.2 dev "v0" in ' .. an:gsub("%-", "%%-") .. ": File exists %(EEXIST%)", e.message)
    a:neigh_add{ dev = "v0", address = "10.201.0.2", mac = mac_of(bn, "v0"), replace = true }
    assert.are.same({ "PERMANENT" }, outside(an, "10.201.0.2")[1].state)
  end)

  it("raises ENODEV for a missing device", function()
    local a = pair()
    local ok, e = pcall(a.neigh_add, a, { dev = "nope0", address = "10.201.0.3", mac = "02:00:5e:00:53:03" })
    assert.is_false(ok)
    assert.are.equal("ENODEV", e.code)
  end)

  it("deletes an entry, and deleting a missing one is ENOENT", function()
    local a, an = pair()
    a:neigh_add{ dev = "v0", address = "10.201.0.60", mac = "02:00:5e:00:53:60" }
    a:neigh_del{ dev = "v0", address = "10.201.0.60" }
    -- A deleted permanent entry may linger as FAILED/NONE; never PERMANENT.
    for _, o in ipairs(outside(an, "10.201.0.60")) do
      assert.are_not.equal("PERMANENT", o.state[1])
    end
    local ok, e = pcall(a.neigh_del, a, { dev = "v0", address = "10.201.0.61" })
    assert.is_false(ok)
    assert.are.equal("ENOENT", e.code)
    assert.matches('delete neighbour 10.201.0.61 dev "v0" in ', e.message, 1, true)
  end)

  it("refuses bad arguments, naming them, and adds nothing", function()
    local a, an = pair()
    local good = { dev = "v0", address = "10.201.0.70", mac = "02:00:5e:00:53:70" }
    local function with(k, v)
      local t = {}
      for kk, vv in pairs(good) do t[kk] = vv end
      t[k] = v
      return t
    end
    local cases = {
      { with("dev", nil), "field 'dev': required" },
      { with("address", nil), "field 'address': required" },
      { with("mac", nil), "field 'mac': required" },
      { with("dev", "a-very-long-name0"), "field 'dev': interface name" },
      { with("dev", "v0/x"), "field 'dev'" },
      { with("dev", 7), "field 'dev': string expected" },
      { with("address", "10.201.0.256"), "field 'address'" },
      { with("address", "10.201.0.70/24"), "prefix length is not allowed" },
      { with("address", "junk"), "field 'address'" },
      { with("mac", "02:00:5e:00:53"), "field 'mac'" },
      { with("mac", "02:00:5e:00:53:70:aa"), "field 'mac'" },
      { with("replace", "yes"), "field 'replace': boolean expected" },
      { with("colour", "red"), "unknown option 'colour'" },
    }
    for _, c in ipairs(cases) do
      local ok, e = pcall(function() a:neigh_add(c[1]) end)
      assert.is_false(ok)
      assert.is_string(e)
      assert.matches("bad argument #1 to 'neigh_add'", e, 1, true)
      assert.matches(c[2], e, 1, true)
    end
    assert.has_error(function() a:neigh_add("v0") end)
    assert.has_error(function() a:neigh_del{ dev = "v0" } end)
    assert.has_error(function() a:neigh_del{ address = "10.201.0.70" } end)
    assert.has_error(function() a:neigh_del{ dev = "v0", address = "10.0.0.1/8" } end)
    assert.are.same({}, outside(an, "10.201.0.70"))
  end)

  it("refuses a closed namespace", function()
    local a = T.ns("closed")
    a:close()
    local ok, e = pcall(a.neighs, a)
    assert.is_false(ok)
    assert.matches("namespace is closed", e)
  end)
end)

describe("ns:neigh_flush", function()
  after_each(T.cleanup)

  it("removes the learned entries and returns how many, keeping permanent ones", function()
    local a, an = pair()
    assert.is_true(ping(an, "10.201.0.2"))
    a:neigh_add{ dev = "v0", address = "10.201.0.80", mac = "02:00:5e:00:53:80" }
    assert.are.equal(1, #outside(an, "10.201.0.2"))
    local n = a:neigh_flush()
    assert.is_true(n >= 1)
    -- As with `ip neigh flush`, the kernel may keep a deleted entry that is
    -- still referenced as FAILED/INCOMPLETE/NONE, but never with its MAC.
    for _, o in ipairs(outside(an, "10.201.0.2")) do assert.is_nil(o.lladdr) end
    assert.is_nil(find(a:neighs(), "mac", "02:00:5e:00:53:02"))
    assert.are.same({ "PERMANENT" }, outside(an, "10.201.0.80")[1].state)
  end)

  it("removes permanent entries too with permanent=true, only of the selected family and device", function()
    local a, an = pair()
    a:neigh_add{ dev = "v0", address = "10.201.0.81", mac = "02:00:5e:00:53:81" }
    a:neigh_add{ dev = "v0", address = "2001:db8::81", mac = "02:00:5e:00:53:82" }
    assert.are.equal(0, a:neigh_flush{ dev = "lo", permanent = true })
    assert.are.equal(1, a:neigh_flush{ family = "inet", permanent = true })
    assert.are.same({}, outside(an, "10.201.0.81"))
    assert.are.equal(1, #outside(an, "2001:db8::81"))
    assert.is_true(a:neigh_flush{ dev = "v0", permanent = true } >= 1)
    assert.are.same({}, outside(an, "2001:db8::81"))
  end)

  it("flushes many entries at once", function()
    local a, an = pair()
    for i = 1, 300 do
      a:neigh_add{ dev = "v0", address = ("10.201.%d.%d"):format(1 + i // 250, 1 + i % 250),
                   mac = ("02:00:5e:00:%02x:%02x"):format(i // 256, i % 256) }
    end
    assert.are.equal(300, #a:neighs{ family = "inet" })
    -- family: the kernel's own IPv6 multicast (NOARP) entries come and go.
    assert.are.equal(300, a:neigh_flush{ family = "inet", permanent = true })
    assert.are.same({}, T.ipj("-n", an, "-4", "neigh", "show"))
  end)

  it("permanent entries are not held to the host-wide gc_thresh3 cap", function()
    local f = assert(io.open("/proc/sys/net/ipv4/neigh/default/gc_thresh3"))
    local cap = f:read("n")
    f:close()
    if cap > 20000 then return end  -- a host raised it: too many to prove it quickly
    local a, an = pair()
    local n = cap + 200
    for i = 1, n do
      a:neigh_add{ dev = "v0", address = ("10.%d.%d.%d"):format(210 + i // 65536, i // 256 % 256, i % 256),
                   mac = "02:00:5e:00:53:01" }
    end
    assert.are.equal(n, #a:neighs{ family = "inet" })
    assert.are.equal(n, #T.ipj("-n", an, "-4", "neigh", "show"))
    assert.are.equal(n, a:neigh_flush{ family = "inet", permanent = true })
  end)

  it("refuses bad options", function()
    local a = pair()
    for _, opts in ipairs{ { family = "inet4" }, { family = 4 }, { dev = "" }, { permanent = 1 },
                           { all = true }, "v0" } do
      local ok, e = pcall(function() return a:neigh_flush(opts) end)
      assert.is_false(ok)
      assert.matches("bad argument #1 to 'neigh_flush'", e, 1, true)
    end
    local ok, e = pcall(a.neighs, a, { permanent = true })
    assert.is_false(ok)
    assert.matches("unknown option 'permanent'", e, 1, true)
  end)
end)

describe("ns:fdb", function()
  after_each(T.cleanup)

  -- A bridge br0 in namespace S with ports p1 and p2, whose far ends e0 sit in
  -- hosts H1 (10.202.0.1) and H2 (10.202.0.2); a ping teaches the bridge both MACs.
  local function star()
    local s, sn = T.ns("sw")
    local _, h1 = T.ns("h1")
    local _, h2 = T.ns("h2")
    sh(("ip -n %s link add br0 type bridge"):format(sn))
    for i, h in ipairs{ h1, h2 } do
      sh(("ip -n %s link add e0 type veth peer name p%d netns %s"):format(h, i, sn))
      sh(("ip -n %s link set p%d master br0"):format(sn, i))
      sh(("ip -n %s link set p%d up"):format(sn, i))
      sh(("ip -n %s addr add 10.202.0.%d/24 dev e0"):format(h, i))
      sh(("ip -n %s link set e0 up"):format(h))
    end
    sh(("ip -n %s link set br0 up"):format(sn))
    assert.is_true(ping(h1, "10.202.0.2"))
    return s, sn, mac_of(h1, "e0"), mac_of(h2, "e0")
  end

  local function entry(list, mac, dev)
    for _, e in ipairs(list) do
      if e.mac == mac and e.dev == dev then return e end
    end
  end

  it("lists the learned MACs on their ports and the ports' own MACs as permanent", function()
    local s, sn, m1, m2 = star()
    local fdb = s:fdb()
    for i, m in ipairs{ m1, m2 } do
      local e = entry(fdb, m, "p" .. i)
      assert.is_table(e, "learned entry for p" .. i)
      assert.are.equal("br0", e.master)
      assert.is_false(e.permanent)
      assert.truthy(e.state == "REACHABLE" or e.state == "STALE", e.state)
      local own = entry(fdb, mac_of(sn, "p" .. i), "p" .. i)
      assert.is_table(own, "own entry for p" .. i)
      assert.is_true(own.permanent)
      assert.are.equal("PERMANENT", own.state)
      assert.are.equal("br0", own.master)
    end
    -- The same entries as `bridge fdb show` prints.
    local out = sh(("bridge -n %s fdb show"):format(sn))
    assert.matches(m1 .. " dev p1 master br0", out, 1, true)
    assert.matches(m2 .. " dev p2 master br0", out, 1, true)
  end)

  it("selects by bridge or by port", function()
    local s, _, m1, m2 = star()
    local br = s:fdb{ dev = "br0" }
    assert.is_table(entry(br, m1, "p1"))
    assert.is_table(entry(br, m2, "p2"))
    for _, e in ipairs(br) do assert.truthy(e.master == "br0" or e.dev == "br0") end
    local p1 = s:fdb{ dev = "p1" }
    assert.is_table(entry(p1, m1, "p1"))
    assert.is_nil(entry(p1, m2, "p2"))
    for _, e in ipairs(p1) do assert.are.equal("p1", e.dev) end
  end)

  it("shows static entries as permanent (NOARP), and self entries with their flags", function()
    local s, sn = star()
    local mac = "02:00:5e:00:53:aa"
    sh(("bridge -n %s fdb add %s dev p1 master static"):format(sn, mac))
    -- A kernel with bridge VLAN support (Debian's) also adds the entry for
    -- each VLAN of the port (VLAN 1 by default, even with vlan_filtering
    -- off): one entry without a VLAN, and maybe copies with one, all static.
    local plain, n = nil, 0
    for _, e in ipairs(s:fdb()) do
      if e.mac == mac and e.dev == "p1" then
        n = n + 1
        assert.is_true(e.permanent)
        assert.are.equal("NOARP", e.state)
        assert.are.equal("br0", e.master)
        if e.vlan == nil then plain = e else assert.are.equal("integer", math.type(e.vlan)) end
      end
    end
    assert.is_table(plain, "no entry without a VLAN")
    -- As many as `bridge fdb show` lists.
    local out = sh(("bridge -n %s fdb show dev p1"):format(sn))
    local listed = select(2, out:gsub(mac .. " ", ""))
    assert.are.equal(listed, n, out)
    local self = 0
    for _, x in ipairs(s:fdb{ dev = "p1" }) do
      for _, f in ipairs(x.flags) do if f == "self" then self = self + 1 end end
      if x.flags[1] == "self" then assert.is_nil(x.master) end
    end
    assert.is_true(self > 0)
  end)

  it("gives the VLAN id of entries when the bridge filters VLANs", function()
    local s, sn = star()
    local _, ok = T.run(("ip -n %s link set br0 type bridge vlan_filtering 1"):format(sn))
    if not ok then
      -- This kernel has no CONFIG_BRIDGE_VLAN_FILTERING: nothing to check.
      return
    end
    sh(("bridge -n %s fdb add 02:00:5e:00:53:ab dev p1 master static vlan 1"):format(sn))
    assert.are.equal(1, entry(s:fdb(), "02:00:5e:00:53:ab", "p1").vlan)
  end)

  it("is empty without a bridge, raises ENODEV for a missing device, refuses bad options", function()
    local a = T.ns("nobr")
    assert.are.same({}, a:fdb{ dev = "lo" })
    local ok, e = pcall(a.fdb, a, { dev = "br9" })
    assert.is_false(ok)
    assert.are.equal("ENODEV", e.code)
    assert.matches('list fdb dev "br9" in ', e.message, 1, true)
    for _, opts in ipairs{ { dev = "x/y" }, { dev = 1 }, { bridge = "br0" }, "br0" } do
      local ok2, e2 = pcall(function() return a:fdb(opts) end)
      assert.is_false(ok2)
      assert.matches("bad argument #1 to 'fdb'", e2, 1, true)
    end
  end)
end)

describe("the neighbour functions", function()
  after_each(T.cleanup)

  it("keep open fds flat over repeated calls", function()
    local a, an = pair()
    assert.is_true(ping(an, "10.201.0.2"))
    sh(("ip -n %s link add br0 type bridge"):format(an))
    local function round()
      a:neighs()
      a:fdb()
      a:neigh_add{ dev = "v0", address = "10.201.0.90", mac = "02:00:5e:00:53:90" }
      a:neigh_del{ dev = "v0", address = "10.201.0.90" }
      a:neigh_flush()
      pcall(a.neighs, a, { dev = "nope0" })
    end
    round()
    collectgarbage()
    local before, socks = nfds(), netns.stats().netlink_sockets
    for _ = 1, 200 do round() end
    collectgarbage()
    assert.are.equal(before, nfds())
    assert.are.equal(socks, netns.stats().netlink_sockets)
  end)
end)
