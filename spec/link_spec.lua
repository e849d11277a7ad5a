local netns = require "netns"
local T = require "spec.testlib"

-- What `ip -d -j link show` says about one link in a namespace, or nil.
local function outside(nsname, dev)
  for _, l in ipairs(T.ipj("-n", nsname, "-d", "link", "show")) do
    if l.ifname == dev then return l end
  end
end

-- The link names of a namespace as ip sees them, as one sorted string.
local function ifnames(nsname)
  local t = {}
  for _, l in ipairs(T.ipj("-n", nsname, "link", "show")) do t[#t + 1] = l.ifname end
  table.sort(t)
  return table.concat(t, " ")
end

local has = T.has

-- Adds a link of a kind this kernel may lack (dummy, vlan, vxlan): on
-- EOPNOTSUPP it tries modprobe, and marks the test pending if that fails.
local function add_optional(ns, spec, module)
  local ok, e = pcall(ns.link_add, ns, spec)
  if ok then return end
  if type(e) ~= "table" or e.code ~= "EOPNOTSUPP" then error(e, 0) end
  local out, mok = T.run("modprobe " .. module)
  if not mok then
    pending(("kernel has no %s links and `modprobe %s` failed: %s"):format(spec.kind, module,
      (out:gsub("%s+$", ""))))
  end
  ns:link_add(spec)
end

-- A link to stack a macvlan or vlan on: a dummy where the kernel has them, else a bridge.
local function parent_link(ns, name)
  local ok, e = pcall(ns.link_add, ns, { name = name, kind = "dummy", up = true })
  if ok then return "dummy" end
  if type(e) ~= "table" or e.code ~= "EOPNOTSUPP" then error(e, 0) end
  ns:link_add { name = name, kind = "bridge", up = true }
  return "bridge"
end

local nfds = T.fds

local esc = T.esc

describe("netns links", function()
  after_each(T.cleanup)

  describe("veth", function()
    it("joins two namespaces, each end made directly in its own, with the same name on both", function()
      local a, an = T.ns("a")
      local b, bn = T.ns("b")
      a:link_add { name = "eth0", kind = "veth", up = true, peer = { name = "eth0", ns = b, up = true } }
      local la, lb = outside(an, "eth0"), outside(bn, "eth0")
      assert.truthy(la, "no eth0 in " .. an)
      assert.truthy(lb, "no eth0 in " .. bn)
      assert.are.equal("veth", la.linkinfo.info_kind)
      assert.are.equal("veth", lb.linkinfo.info_kind)
      assert.is_true(has(la.flags, "UP"))
      assert.is_true(has(lb.flags, "UP"))
      -- each end points at the other's index, in another namespace
      assert.are.equal(lb.ifindex, la.link_index)
      assert.are.equal(la.ifindex, lb.link_index)
      assert.is_not_nil(la.link_netnsid)
      local ga, gb = a:link_get("eth0"), b:link_get("eth0")
      assert.are.equal("veth", ga.kind)
      assert.are.equal(gb.index, ga.link_index)
      assert.are.equal(ga.index, gb.link_index)
      assert.are.equal(la.link_netnsid, ga.peer_netnsid)
      assert.is_true(ga.up and gb.up)
      assert.is_true(T.wait_until(function()
        return a:link_get("eth0").running and b:link_get("eth0").operstate == "UP"
      end), "the pair never came up")
      -- nothing of it appeared in the host namespace
      assert.is_nil(T.run("ip -o link show"):match(" eth0@"))
    end)

    it("gives each end one queue, or as many as queues= asks for", function()
      local a, an = T.ns("a")
      local b, bn = T.ns("b")
      a:link_add { name = "q1", kind = "veth", peer = { name = "q1", ns = b } }
      a:link_add { name = "q4", kind = "veth", queues = 4, peer = { name = "q4", ns = b } }
      for _, n in ipairs { an, bn } do
        local one, four = outside(n, "q1"), outside(n, "q4")
        assert.are.same({ 1, 1 }, { one.num_tx_queues, one.num_rx_queues }, "q1 in " .. n)
        assert.are.same({ 4, 4 }, { four.num_tx_queues, four.num_rx_queues }, "q4 in " .. n)
      end
    end)

    it("leaves the far end down unless asked, and puts a pair in one namespace without peer.ns", function()
      local a, an = T.ns("a")
      a:link_add { name = "v0", kind = "veth", peer = { name = "v1" } }
      local l0, l1 = outside(an, "v0"), outside(an, "v1")
      assert.truthy(l0 and l1)
      assert.is_false(has(l0.flags, "UP"))
      assert.is_false(has(l1.flags, "UP"))
      assert.are.equal(l1.ifindex, a:link_get("v0").link_index)
      assert.are.equal("v1", l0.link)
    end)

    it("takes mtu and mac for each end at creation", function()
      local a, an = T.ns("a")
      local b, bn = T.ns("b")
      a:link_add { name = "e0", kind = "veth", mtu = 1400, mac = "02:00:5e:00:53:0a",
                   peer = { name = "e1", ns = b, mtu = 9000, mac = "02-00-5E-00-53-0B" } }
      local la, lb = outside(an, "e0"), outside(bn, "e1")
      assert.are.equal(1400, la.mtu)
      assert.are.equal("02:00:5e:00:53:0a", la.address)
      assert.are.equal(9000, lb.mtu)
      assert.are.equal("02:00:5e:00:53:0b", lb.address)
      assert.are.equal("02:00:5e:00:53:0b", b:link_get("e1").mac)
    end)

    it("a failing add (EEXIST) leaves no half-made peer behind, whichever end exists", function()
      local a, an = T.ns("a")
      local b, bn = T.ns("b")
      a:link_add { name = "x0", kind = "bridge" }
      b:link_add { name = "p1", kind = "bridge" }
      local before_a, before_b = ifnames(an), ifnames(bn)
      local ok, e = pcall(a.link_add, a, { name = "x0", kind = "veth", peer = { name = "p0", ns = b } })
      assert.is_false(ok)
      assert.are.equal("EEXIST", e.code)
      assert.matches("add veth x0/p0 in " .. esc(an) .. ": File exists %(EEXIST%)$", e.message)
      ok, e = pcall(a.link_add, a, { name = "n1", kind = "veth", peer = { name = "p1", ns = b, up = true } })
      assert.is_false(ok)
      assert.are.equal("EEXIST", e.code)
      assert.are.equal(before_a, ifnames(an))
      assert.are.equal(before_b, ifnames(bn))
    end)

    it("deleting one end removes the other, in the other namespace", function()
      local a, an = T.ns("a")
      local b, bn = T.ns("b")
      a:link_add { name = "d0", kind = "veth", peer = { name = "d1", ns = b } }
      a:link_del("d0")
      assert.is_nil(outside(an, "d0"))
      assert.is_true(T.wait_until(function() return outside(bn, "d1") == nil end))
      assert.is_nil(b:link_get("d1"))
    end)
  end)

  describe("bridge", function()
    it("takes ports at creation (master=), by link_set, and lets them go (master=false)", function()
      local a, an = T.ns("a")
      local b = T.ns("b")
      a:link_add { name = "br0", kind = "bridge", up = true }
      assert.are.equal("bridge", outside(an, "br0").linkinfo.info_kind)
      a:link_add { name = "p0", kind = "veth", master = "br0", peer = { name = "q0", ns = b } }
      a:link_add { name = "p1", kind = "veth", peer = { name = "q1", ns = b } }
      assert.are.equal("br0", outside(an, "p0").master)
      assert.is_nil(outside(an, "p1").master)
      a:link_set("p1", { master = "br0" })
      assert.are.equal("br0", outside(an, "p1").master)
      local g = a:link_get("p1")
      assert.are.equal("br0", g.master)
      assert.are.equal(a:link_get("br0").index, g.master_index)
      assert.is_true(has(g.flags, "SLAVE") or g.master ~= nil)
      a:link_set("p0", { master = false })
      assert.is_nil(outside(an, "p0").master)
      assert.is_nil(a:link_get("p0").master)
      assert.is_nil(a:link_get("p0").master_index)
      -- links() names masters too
      for _, l in ipairs(a:links()) do
        if l.name == "p1" then assert.are.equal("br0", l.master) end
        if l.name == "p0" then assert.is_nil(l.master) end
      end
    end)

    it("a missing master is ENODEV naming the master, and nothing is created", function()
      local a, an = T.ns("a")
      local b, bn = T.ns("b")
      local before_a, before_b = ifnames(an), ifnames(bn)
      local ok, e = pcall(a.link_add, a, { name = "p0", kind = "veth", master = "br9",
                                             peer = { name = "q0", ns = b } })
      assert.is_false(ok)
      assert.are.equal("ENODEV", e.code)
      assert.matches('add veth p0/q0 in ' .. esc(an) .. ': master "br9": No such device %(ENODEV%)$', e.message)
      assert.are.equal(before_a, ifnames(an))
      assert.are.equal(before_b, ifnames(bn))
      a:link_add { name = "p0", kind = "veth", peer = { name = "q0", ns = b } }
      ok, e = pcall(a.link_set, a, "p0", { master = "br9" })
      assert.are.equal("ENODEV", e.code)
      assert.matches('master "br9"', e.message, 1, true)
    end)

    it("takes multicast snooping, STP and the FDB ageing time at creation", function()
      local a, an = T.ns("a")
      a:link_add { name = "br0", kind = "bridge", mcast_snooping = false, stp = false, ageing_time = 30 }
      local d = T.ipj("-n", an, "-d", "link", "show", "br0")[1].linkinfo.info_data
      assert.are.equal(0, d.mcast_snooping)
      assert.are.equal(0, d.stp_state)
      assert.are.equal(3000, d.ageing_time)
      a:link_add { name = "br1", kind = "bridge", mcast_snooping = true, ageing_time = 0 }
      d = T.ipj("-n", an, "-d", "link", "show", "br1")[1].linkinfo.info_data
      assert.are.equal(1, d.mcast_snooping)
      assert.are.equal(0, d.ageing_time)
    end)
  end)

  it("dummy", function()
    local a, an = T.ns("a")
    add_optional(a, { name = "dum0", kind = "dummy", up = true, mtu = 1300 }, "dummy")
    local l = outside(an, "dum0")
    assert.are.equal("dummy", l.linkinfo.info_kind)
    assert.are.equal(1300, l.mtu)
    assert.are.equal("dummy", a:link_get("dum0").kind)
  end)

  it("vlan on a dummy parent", function()
    local a, an = T.ns("a")
    add_optional(a, { name = "dum0", kind = "dummy", up = true }, "dummy")
    add_optional(a, { name = "dum0.10", kind = "vlan", link = "dum0", id = 10, up = true }, "8021q")
    local l = outside(an, "dum0.10")
    assert.are.equal("vlan", l.linkinfo.info_kind)
    assert.are.equal(10, l.linkinfo.info_data.id)
    assert.are.equal("dum0", l.link)
    assert.are.equal(a:link_get("dum0").index, a:link_get("dum0.10").link_index)
  end)

  it("macvlan on a dummy (or a bridge where the kernel has no dummy), with a mode", function()
    local a, an = T.ns("a")
    parent_link(a, "low0")
    a:link_add { name = "mv0", kind = "macvlan", link = "low0", mode = "bridge", up = true }
    local l = outside(an, "mv0")
    assert.are.equal("macvlan", l.linkinfo.info_kind)
    assert.are.equal("bridge", l.linkinfo.info_data.mode)
    assert.are.equal("low0", l.link)
    local g = a:link_get("mv0")
    assert.are.equal("macvlan", g.kind)
    assert.are.equal(a:link_get("low0").index, g.link_index)
    -- without a mode, the kernel's default
    a:link_add { name = "mv1", kind = "macvlan", link = "low0" }
    assert.are.equal("vepa", outside(an, "mv1").linkinfo.info_data.mode)
  end)

  it("vxlan with vni, remote, local and port; a multicast group with dev", function()
    local a, an = T.ns("a")
    add_optional(a, { name = "vx0", kind = "vxlan", id = 4242, remote = "192.0.2.9",
                      ["local"] = "192.0.2.1", port = 4790 }, "vxlan")
    local d = outside(an, "vx0").linkinfo.info_data
    assert.are.equal(4242, d.id)
    assert.are.equal("192.0.2.9", d.remote)
    assert.are.equal("192.0.2.1", d["local"])
    assert.are.equal(4790, d.port)
    parent_link(a, "under0")
    a:link_add { name = "vx1", kind = "vxlan", id = 7, group = "239.1.1.1", dev = "under0" }
    d = outside(an, "vx1").linkinfo.info_data
    assert.are.equal("239.1.1.1", d.group)
    assert.are.equal(4789, d.port)
    assert.are.equal("under0", d.link)
    a:link_add { name = "vx6", kind = "vxlan", id = 8, remote = "2001:db8::9" }
    assert.are.equal("2001:db8::9", outside(an, "vx6").linkinfo.info_data.remote6)
  end)

  describe("link_set", function()
    it("changes mtu, mac, up/down and alias, as ip sees them", function()
      local a, an = T.ns("a")
      a:link_add { name = "s0", kind = "veth", peer = { name = "s1" } }
      a:link_set("s0", { mtu = 1280, mac = "02:00:5e:00:53:42", up = true, alias = "nslab test link" })
      local l = outside(an, "s0")
      assert.are.equal(1280, l.mtu)
      assert.are.equal("02:00:5e:00:53:42", l.address)
      assert.is_true(has(l.flags, "UP"))
      assert.are.equal("nslab test link", l.ifalias)
      local g = a:link_get("s0")
      assert.are.equal("nslab test link", g.alias)
      assert.are.equal(1280, g.mtu)
      a:link_set("s0", { up = false, alias = "" })
      assert.is_false(has(outside(an, "s0").flags, "UP"))
      assert.is_nil(a:link_get("s0").alias)
      a:link_set("lo", { alias = "marked" })
      assert.are.equal("marked", a:link_get("lo").alias)
    end)

    it("renames", function()
      local a, an = T.ns("a")
      a:link_add { name = "old0", kind = "bridge" }
      local idx = a:link_get("old0").index
      a:link_set("old0", { name = "new0" })
      assert.is_nil(outside(an, "old0"))
      assert.are.equal(idx, outside(an, "new0").ifindex)
      assert.is_nil(a:link_get("old0"))
    end)

    it("moves a link to another namespace, renamed, enslaved there and up, in one call", function()
      local a, an = T.ns("a")
      local b, bn = T.ns("b")
      b:link_add { name = "br0", kind = "bridge", up = true }
      a:link_add { name = "m0", kind = "veth", peer = { name = "m1" } }
      a:link_set("m1", { ns = b, name = "moved", master = "br0", up = true })
      assert.is_nil(outside(an, "m1"))
      local l = outside(bn, "moved")
      assert.truthy(l)
      assert.are.equal("br0", l.master)
      assert.is_true(has(l.flags, "UP"))
      -- the end left behind now points into the other namespace
      local g = a:link_get("m0")
      assert.are.equal(l.ifindex, g.link_index)
      assert.is_not_nil(g.peer_netnsid)
    end)

    it("on a missing link is ENODEV with the link and the namespace named", function()
      local a, an = T.ns("a")
      local ok, e = pcall(a.link_set, a, "eth9", { up = true })
      assert.is_false(ok)
      assert.are.equal("ENODEV", e.code)
      assert.are.equal("set link eth9 in " .. an .. ": No such device (ENODEV)",
        e.message:match("set link .*"))
    end)
  end)

  describe("link_del, link_get, links", function()
    it("deletes, and deleting a missing link is ENODEV", function()
      local a, an = T.ns("a")
      a:link_add { name = "gone0", kind = "bridge" }
      a:link_del("gone0")
      assert.is_nil(outside(an, "gone0"))
      local ok, e = pcall(a.link_del, a, "gone0")
      assert.is_false(ok)
      assert.are.equal("ENODEV", e.code)
      assert.matches("delete link gone0 in " .. esc(an) .. ": No such device", e.message)
    end)

    it("link_get of a missing link is nil", function()
      local a = T.ns("a")
      assert.is_nil(a:link_get("nothere0"))
    end)

    it("link_state says what link_get says of up, running, carrier, operstate and MAC, or nil", function()
      local a, an = T.ns("a")
      local b = T.ns("b")
      a:link_add { name = "s0", kind = "veth", mac = "02:00:5e:00:53:21", up = true,
                   peer = { name = "s1", ns = b } }
      -- Since 6.7 the kernel settles a link's operstate before it answers a
      -- getlink (linkwatch_sync_dev): a veth up while its peer is down is
      -- never running, even read at once. Before, it reads running until the
      -- kernel's linkwatch has run (as an ioctl does on every kernel).
      local major, minor = T.read("/proc/sys/kernel/osrelease"):match("^(%d+)%.(%d+)")
      if tonumber(major) * 100 + tonumber(minor) >= 607 then
        assert.are.same({ up = true, running = false, carrier = false, operstate = "DOWN",
                          mac = "02:00:5e:00:53:21" }, a:link_state("s0"))
      end
      local function same(ns, name)
        local g, st = ns:link_get(name), ns:link_state(name)
        for _, k in ipairs { "up", "running", "operstate", "mac" } do
          assert.are.equal(g[k], st[k], name .. " " .. k)
        end
        assert.are.equal(has(g.flags, "LOWER_UP"), st.carrier, name .. " carrier")
        return st
      end
      assert.is_true(T.wait_until(function() return a:link_get("s0").operstate == "DOWN" end), "s0 never DOWN")
      assert.is_false(same(a, "s0").running)
      assert.is_false(same(b, "s1").up)
      b:link_set("s1", { up = true })
      assert.is_true(T.wait_until(function()
        return a:link_get("s0").operstate == "UP" and b:link_get("s1").operstate == "UP"
      end), "the veth never UP")
      assert.is_true(same(a, "s0").carrier)
      assert.is_true(same(b, "s1").running)
      assert.are.equal("00:00:00:00:00:00", same(a, "lo").mac)
      assert.is_nil(a:link_state("nothere0"))
      assert.matches("bad argument #1 to 'link_state' %(interface name 'x+' too long",
        (T.err_of(function() return a:link_state(("x"):rep(16)) end)))
      assert.truthy(outside(an, "s0"))
    end)

    it("links() lists every link sorted by index with the documented fields", function()
      local a, an = T.ns("a")
      a:link_add { name = "br0", kind = "bridge", up = true }
      a:link_add { name = "z0", kind = "veth", master = "br0", peer = { name = "a0" } }
      local list = a:links()
      local seen = {}
      for i, l in ipairs(list) do
        if i > 1 then assert.is_true(list[i - 1].index < l.index) end
        seen[l.name] = l
        assert.are.equal("number", type(l.index))
        assert.are.equal("string", type(l.operstate))
        assert.are.equal("table", type(l.flags))
        assert.are.equal("boolean", type(l.up))
        assert.are.equal("boolean", type(l.running))
        assert.are.equal("integer", math.type(l.mtu))
        for _, k in ipairs { "rx_packets", "tx_packets", "rx_bytes", "tx_bytes",
                             "rx_errors", "tx_errors", "rx_dropped", "tx_dropped" } do
          assert.are.equal("integer", math.type(l.stats[k]), k)
          assert.is_true(l.stats[k] >= 0)
        end
      end
      assert.are.equal(#T.ipj("-n", an, "link", "show"), #list)
      assert.are.equal("lo", list[1].name)
      assert.is_nil(seen.lo.kind)
      assert.is_true(has(seen.lo.flags, "LOOPBACK"))
      assert.are.equal("bridge", seen.br0.kind)
      assert.are.equal("br0", seen.z0.master)
      assert.are.equal(seen.a0.index, seen.z0.link_index)
      for _, l in ipairs(T.ipj("-n", an, "link", "show")) do
        assert.are.equal(l.ifindex, seen[l.ifname].index)
        assert.are.equal(l.address, seen[l.ifname].mac)
        assert.are.equal(l.mtu, seen[l.ifname].mtu)
      end
    end)

    it("stats count the packets that crossed a veth", function()
      local a, an = T.ns("a")
      local b, bn = T.ns("b")
      a:link_add { name = "eth0", kind = "veth", up = true, peer = { name = "eth0", ns = b, up = true } }
      assert.is_true(select(2, T.run("ip -n " .. an .. " addr add 10.200.0.1/24 dev eth0")))
      assert.is_true(select(2, T.run("ip -n " .. bn .. " addr add 10.200.0.2/24 dev eth0")))
      assert.is_true(T.wait_until(function() return a:link_get("eth0").operstate == "UP" end))
      local before = b:link_get("eth0").stats.rx_packets
      local out, ok = T.run("ip netns exec " .. an .. " ping -c 3 -i 0.2 -W 2 10.200.0.2")
      assert.is_true(ok, out)
      local sa, sb = a:link_get("eth0").stats, b:link_get("eth0").stats
      assert.is_true(sb.rx_packets >= before + 3)
      assert.is_true(sa.tx_packets >= 3)
      assert.is_true(sa.rx_packets >= 3)
      assert.is_true(sa.tx_bytes >= 3 * 84)
    end)
  end)

  describe("refuses bad input before anything is created:", function()
    local a, an, b, bn
    before_each(function()
      a, an = T.ns("a")
      b, bn = T.ns("b")
      a:link_add { name = "br0", kind = "bridge" }
    end)

    local function refuses(call, ...)
      local pieces = { ... }
      return function()
        local before_a, before_b = ifnames(an), ifnames(bn)
        local ok, e = pcall(call)
        assert.is_false(ok, "no error")
        assert.are.equal("string", type(e), tostring(e))
        assert.matches("bad argument", e, 1, true)
        for _, p in ipairs(pieces) do assert.matches(p, e, 1, true) end
        assert.are.equal(before_a, ifnames(an))
        assert.are.equal(before_b, ifnames(bn))
      end
    end
    local function add(spec) return function() a:link_add(spec) end end
    local function veth(peer, extra)
      local t = { name = "v0", kind = "veth", peer = peer }
      for k, v in pairs(extra or {}) do t[k] = v end
      return t
    end

    it("an ageing time below 10 s", refuses(add { name = "br0", kind = "bridge", ageing_time = 5 },
      "field 'ageing_time'", "at least 10 seconds"))
    it("a bridge option on a veth", refuses(add(veth({ name = "p0" }, { stp = true })),
      "field 'stp'", "only of bridge"))
    it("a 16-byte name", refuses(add { name = ("x"):rep(16), kind = "bridge" },
      "#1 to 'link_add'", "field 'name'", "too long"))
    it("a name with '/'", refuses(add { name = "a/b", kind = "bridge" }, "field 'name'", "'/'"))
    it("a name with ':'", refuses(add { name = "a:b", kind = "bridge" }, "field 'name'", "':'"))
    it("a name with a space", refuses(add { name = "a b", kind = "bridge" }, "field 'name'", "whitespace"))
    it("no name", refuses(add { kind = "bridge" }, "field 'name'", "missing"))
    it("a table for the name", refuses(add { name = {}, kind = "bridge" },
      "field 'name'", "string expected, got table"))
    it("an unknown kind", refuses(add { name = "x0", kind = "tunnelx" },
      "field 'kind'", "unknown kind 'tunnelx'", "veth, bridge"))
    it("no kind", refuses(add { name = "x0" }, "field 'kind'", "missing"))
    it("a bad MAC", refuses(add { name = "x0", kind = "bridge", mac = "02:00:5e:00:53" },
      "field 'mac'", "not a MAC address"))
    it("a MAC with junk", refuses(add { name = "x0", kind = "bridge", mac = "02:00:5e:00:53:01x" },
      "field 'mac'"))
    it("an mtu too small", refuses(add { name = "x0", kind = "bridge", mtu = 67 }, "field 'mtu'", "out of range"))
    it("an mtu too large", refuses(add { name = "x0", kind = "bridge", mtu = 65536 }, "field 'mtu'", "out of range"))
    it("a fractional mtu", refuses(add { name = "x0", kind = "bridge", mtu = 1500.5 }, "field 'mtu'"))
    it("an unknown option", refuses(add { name = "x0", kind = "bridge", colour = "red" },
      "unknown option 'colour'"))
    it("a non-boolean up", refuses(add { name = "x0", kind = "bridge", up = "yes" },
      "field 'up'", "boolean expected"))
    it("a bad master name", refuses(add { name = "x0", kind = "bridge", master = ("m"):rep(20) },
      "field 'master'", "too long"))
    it("a veth without peer", refuses(add { name = "v0", kind = "veth" }, "field 'peer'", "table expected"))
    it("a string for peer", refuses(add { name = "v0", kind = "veth", peer = "v1" },
      "field 'peer'", "table expected, got string"))
    it("a peer without a name", refuses(function() a:link_add(veth { ns = b }) end,
      "field 'peer.name'", "missing"))
    it("a 16-byte peer name", refuses(function() a:link_add(veth { name = ("p"):rep(16), ns = b }) end,
      "field 'peer.name'", "too long"))
    it("a non-Namespace peer ns", refuses(function() a:link_add(veth { name = "v1", ns = bn }) end,
      "field 'peer.ns'", "netns.Namespace expected, got string"))
    it("a closed peer ns", refuses(function()
        local c = netns.open(bn); c:close()
        a:link_add(veth { name = "v1", ns = c })
      end, "field 'peer.ns'", "closed"))
    it("an unknown peer option", refuses(function() a:link_add(veth { name = "v1", ns = b, colour = 1 }) end,
      "unknown option 'peer.colour'"))
    it("a bad peer MAC", refuses(function() a:link_add(veth { name = "v1", ns = b, mac = "zz" }) end,
      "field 'peer.mac'"))
    it("a peer mtu out of range", refuses(function() a:link_add(veth { name = "v1", ns = b, mtu = 0 }) end,
      "field 'peer.mtu'", "out of range"))
    it("both ends with one name in one namespace", refuses(function() a:link_add(veth { name = "v0" }) end,
      "field 'peer.name'", "same as 'name'"))
    it("no queues", refuses(add(veth({ name = "p0" }, { queues = 0 })), "field 'queues'", "out of range"))
    it("queues beyond the kernel's 4096", refuses(add(veth({ name = "p0" }, { queues = 4097 })),
      "field 'queues'", "out of range"))
    it("queues on a bridge", refuses(add { name = "x0", kind = "bridge", queues = 2 },
      "field 'queues'", "only of veth"))
    it("peer on a bridge", refuses(add { name = "x0", kind = "bridge", peer = { name = "y" } },
      "field 'peer'", "not an option of kind 'bridge'"))
    it("id on a bridge", refuses(add { name = "x0", kind = "bridge", id = 3 }, "field 'id'"))
    it("a vlan without link", refuses(add { name = "x0", kind = "vlan", id = 3 }, "field 'link'", "missing"))
    it("a vlan without id", refuses(add { name = "x0", kind = "vlan", link = "br0" }, "field 'id'", "missing"))
    it("a vlan id of 4095", refuses(add { name = "x0", kind = "vlan", link = "br0", id = 4095 },
      "field 'id'", "out of range"))
    it("a bad macvlan mode", refuses(add { name = "x0", kind = "macvlan", link = "br0", mode = "hub" },
      "field 'mode'", "unknown macvlan mode 'hub'"))
    it("a vxlan without vni", refuses(add { name = "x0", kind = "vxlan", remote = "192.0.2.1" },
      "field 'id'", "missing"))
    it("a vni too large", refuses(add { name = "x0", kind = "vxlan", id = 1 << 24 }, "field 'id'", "out of range"))
    it("a unicast group", refuses(add { name = "x0", kind = "vxlan", id = 1, group = "192.0.2.1", dev = "br0" },
      "field 'group'", "not a multicast"))
    it("a group without dev", refuses(add { name = "x0", kind = "vxlan", id = 1, group = "239.0.0.1" },
      "field 'group'", "needs 'dev'"))
    it("a bad remote", refuses(add { name = "x0", kind = "vxlan", id = 1, remote = "10.0.0.256" },
      "field 'remote'"))
    it("a remote with a prefix", refuses(add { name = "x0", kind = "vxlan", id = 1, remote = "10.0.0.1/24" },
      "field 'remote'", "prefix length is not allowed"))
    it("local of another family", refuses(add { name = "x0", kind = "vxlan", id = 1, remote = "192.0.2.1",
      ["local"] = "2001:db8::1" }, "field 'local'", "family"))
    it("port 0", refuses(add { name = "x0", kind = "vxlan", id = 1, port = 0 }, "field 'port'", "out of range"))
    it("dev and link both", refuses(add { name = "x0", kind = "vxlan", id = 1, dev = "br0", link = "br0" },
      "field 'dev'"))
    it("options that are not a table", refuses(function() a:link_add("br1") end, "table expected"))

    it("link_set with a table for the name", refuses(function() a:link_set({}, {}) end,
      "#1 to 'link_set'", "string expected, got table"))
    it("link_set with a bad name", refuses(function() a:link_set("a/b", { up = true }) end, "'/'"))
    it("link_set without options", refuses(function() a:link_set("br0") end, "#2 to 'link_set'", "table expected"))
    it("link_set with an unknown option", refuses(function() a:link_set("br0", { colour = 1 }) end,
      "unknown option 'colour'"))
    it("link_set with master=true", refuses(function() a:link_set("br0", { master = true }) end,
      "field 'master'", "interface name or false expected, got true"))
    it("link_set with a non-Namespace ns", refuses(function() a:link_set("br0", { ns = bn }) end,
      "field 'ns'", "netns.Namespace expected"))
    it("link_set with a 16-byte new name", refuses(function() a:link_set("br0", { name = ("n"):rep(16) }) end,
      "field 'name'", "too long"))
    it("link_set with an mtu out of range", refuses(function() a:link_set("br0", { mtu = 100000 }) end,
      "field 'mtu'", "out of range"))
    it("link_set with a bad MAC", refuses(function() a:link_set("br0", { mac = "02:00" }) end, "field 'mac'"))
    it("link_set with a 256-byte alias", refuses(function() a:link_set("br0", { alias = ("a"):rep(256) }) end,
      "field 'alias'", "too long"))
    it("link_del with a table", refuses(function() a:link_del({}) end, "#1 to 'link_del'", "string expected"))
    it("link_get with a 16-byte name", refuses(function() a:link_get(("g"):rep(16)) end, "too long"))

    it("and link_set changes nothing when one option is bad", function()
      local ok = pcall(a.link_set, a, "br0", { mtu = 1400, mac = "bad" })
      assert.is_false(ok)
      assert.are.equal(1500, outside(an, "br0").mtu)
    end)
  end)

  it("keeps fds and sockets flat over 200 add/set/get/del cycles", function()
    local a = T.ns("a")
    local b = T.ns("b")
    local function cycle()
      a:link_add { name = "c0", kind = "veth", up = true, peer = { name = "c0", ns = b, up = true } }
      pcall(a.link_add, a, { name = "c0", kind = "veth", peer = { name = "c1", ns = b } })
      a:link_set("c0", { mtu = 1400 })
      assert.truthy(a:link_get("c0"))
      assert.truthy(#b:links() >= 2)
      a:link_del("c0")
    end
    cycle()
    collectgarbage()
    local fds, socks = nfds(), netns.stats().netlink_sockets
    for _ = 1, 200 do cycle() end
    collectgarbage()
    assert.are.equal(fds, nfds())
    assert.are.equal(socks, netns.stats().netlink_sockets)
  end)
end)
