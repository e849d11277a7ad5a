-- Lab descriptions (netns.lab over netns.topo and netns.topo_validate) are
-- validated as a whole, before anything is made, with errors at the script
-- line that declared the bad thing. Needs no root (run by `make check`).
local lab = require "netns.lab"
local T = require "spec.testlib"

local newlab, here, listed, err_of, esc = T.lab, T.here, T.listed, T.err_of, T.esc
local cleanup = T.cleanup

describe("lab descriptions", function()
  after_each(cleanup)

  it("point a link to an unknown node at the link's line, and nothing is created", function()
    local l = newlab()
    l:host("ns1")
    l:link("ns1 192.0.2.1/24", "nope 192.0.2.2/24") local line = here()
    local msg = err_of(l.up, l)
    assert.matches("topo_spec%.lua:" .. line .. ": link: unknown node 'nope'", msg)
    assert.are.same({}, listed(l.prefix))
  end)

  it("refuse a node declared twice at once, naming the first declaration", function()
    local l = newlab()
    l:host("ns1") local first = here()
    local msg = err_of(function() l:router("ns1") end) local line = here()
    assert.matches("topo_spec%.lua:" .. line .. ": router: node 'ns1' already declared at .*topo_spec%.lua:" .. first, msg)
  end)

  it("refuse a duplicate address at its second line", function()
    local l = newlab()
    l:host("a"); l:host("b"); l:host("c")
    l:link("a 192.0.2.1/24", "b 192.0.2.2/24") local first = here()
    l:link("a:a-x 198.51.100.1/24", "c 192.0.2.2/24") local line = here()
    local msg = err_of(l.validate, l)
    assert.matches("topo_spec%.lua:" .. line .. ": address 192%.0%.2%.2/24 on c:c%-eth0 is already on b:b%-eth0 %(.*:" .. first .. "%)", msg)
  end)

  it("blame the later declaration of a duplicate address or MAC, whatever the node order", function()
    local l = newlab()
    l:host("zulu"); l:host("alpha"); l:host("mike"); l:host("echo")
    l:link("alpha 192.0.2.1/24 mac=00:00:5e:00:53:0a", "mike 192.0.2.2/24") local first = here()
    l:link("zulu 192.0.2.1/24", "echo 192.0.2.3/24 mac=00:00:5e:00:53:0a") local line = here()
    local msg = err_of(l.validate, l)
    assert.matches("topo_spec%.lua:" .. line .. ": address 192%.0%.2%.1/24 on zulu:zulu%-eth0 is already on "
      .. "alpha:alpha%-eth0 %(.*:" .. first .. "%)", msg)
    assert.matches("topo_spec%.lua:" .. line .. ": MAC 00:00:5e:00:53:0a on echo:echo%-eth0 is already on "
      .. "alpha:alpha%-eth0 %(.*:" .. first .. "%)", msg)
  end)

  it("refuse the ends of a link that share no subnet (a typo)", function()
    local l = newlab()
    l:host("ns1"); l:router("router")
    l:link("ns1 192.0.2.1/24", "router 192.0.3.254/24") local line = here()
    local msg = err_of(l.validate, l)
    assert.matches("topo_spec%.lua:" .. line .. ": the addresses on this segment share no subnet", msg)
  end)

  it("refuse network and broadcast addresses on interfaces", function()
    local l = newlab()
    l:host("a"); l:host("b")
    l:link("a 192.0.2.0/24", "b 192.0.2.255/24") local line = here()
    local msg = err_of(l.validate, l)
    assert.matches(":" .. line .. ": 192%.0%.2%.0/24 on a:a%-eth0 is the network address", msg)
    assert.matches(":" .. line .. ": 192%.0%.2%.255/24 on b:b%-eth0 is the broadcast address", msg)
  end)

  it("refuse names longer than 15 bytes: explicit ones at once, default ones at validation", function()
    local l = newlab()
    l:host("ns1"); l:host("ns2")
    local msg = err_of(function() l:link("ns1:sixteen-bytes-xx", "ns2") end) local line = here()
    assert.matches(":" .. line .. ": link: interface name 'sixteen%-bytes%-xx' is 16 bytes %(1 to 15 allowed%)", msg)
    l:host("longhostname")
    l:link("longhostname", "ns1") line = here()
    msg = err_of(l.validate, l)
    assert.matches(":" .. line .. ": default interface name 'longhostname%-eth0' .* longer than 15 bytes", msg)
  end)

  it("refuse bad addresses, MACs, MTUs and unknown options at the declaring line", function()
    local l = newlab()
    l:host("a"); l:host("b")
    for _, case in ipairs {
      { function() l:link("a 10.0.0.1/33", "b") end, "bad address '10%.0%.0%.1/33'" },
      { function() l:link("a 10.1/8", "b") end, "bad address '10%.1/8'" },
      { function() l:link("a mac=01:00:5e:00:00:01", "b") end, "multicast" },
      { function() l:link("a", "b", { mtu = 20 }) end, "mtu must be an integer from 68" },
      { function() l:host("c", { colour = "red" }) end, "unknown option 'colour'" },
      { function() l:host("bad/name") end, "bad node name" },
      { function() l:route("a", "10.9.0.0/16 via") end, "cannot read route" },
      { function() l:sysctl("a", "ip_forward", 1) end, "bad sysctl key" },
    } do
      local msg = err_of(case[1])
      assert.matches("^[^:]*topo_spec%.lua:%d+: ", msg)
      assert.matches(case[2], msg)
    end
  end)

  it("refuse a gateway on no subnet of its node, at the route's line", function()
    local l = newlab()
    l:host("ns1"); l:router("router")
    l:link("ns1 192.0.2.1/24", "router 192.0.2.254/24")
    l:route("ns1", "198.51.100.0/24 via 203.0.113.1") local line = here()
    local msg = err_of(l.validate, l)
    assert.matches(":" .. line .. ": route on 'ns1': gateway 203%.0%.113%.1 is on no subnet", msg)
  end)

  it("refuse addresses on switch ports and report every error at once", function()
    local l = newlab()
    l:switch("sw"); l:host("a"); l:host("b")
    l:link("a 192.0.2.1/24", "sw 192.0.2.9/24") local l1 = here()
    l:link("b 192.0.2.1/24", "ghost") local l2 = here()
    local msg = err_of(l.validate, l)
    assert.matches(":" .. l1 .. ": sw:sw%-eth0 is a port of switch 'sw'", msg)
    assert.matches(":" .. l2 .. ": link: unknown node 'ghost'", msg)
  end)

  it("point errors of the data form at the lab.new line", function()
    local l = lab.new { prefix = T.name("L") .. "-", hosts = { "a" }, links = { { "a 192.0.2.1/24", "b 192.0.2.2/24" } } } local line = here()
    T.track_lab(l)
    local msg = err_of(l.validate, l)
    assert.matches("topo_spec%.lua:" .. line .. ": link: unknown node 'b'", msg)
  end)

  it("route to a gateway named by node only in the families the node has on that segment", function()
    local l = newlab()
    l:host("v4", { default = "r" }) local v4line = here()
    l:host("ds", { default = "r" })
    l:router("r")
    l:link("v4 192.0.2.1/24", "r 192.0.2.254/24 2001:db8:1::fe/64")
    l:link("ds 198.51.100.1/24 2001:db8:2::1/64", "r 198.51.100.254/24 2001:db8:2::fe/64")
    l:validate()
    local function gateways(node)
      local t = {}
      for _, r in ipairs(l.nodes[node].resolved) do t[#t + 1] = r.via end
      return t
    end
    assert.are.same({ "192.0.2.254" }, gateways("v4"))
    assert.are.same({ "198.51.100.254", "2001:db8:2::fe" }, gateways("ds"))
    l:route("v4", "2001:db8:9::/48 via r") local line = here()
    local msg = err_of(l.validate, l)
    assert.matches("topo_spec%.lua:" .. line .. ": route on 'v4': gateway node 'r' has no IPv6 address "
      .. "on a subnet 'v4' has on a segment they share", msg)
    assert.is_nil(msg:find(":" .. v4line .. ":", 1, true))
    assert.are.same({}, listed(l.prefix))
  end)

  it("resolve default names, peers, gateways named by node, and the pool", function()
    local l = newlab { pool = { ipv4 = "10.20.0.0/16", ipv6 = "fd00:20::/48" } }
    l:host("ns1", { default = "r" }); l:router("r"); l:host("ns2", { default = "r" })
    l:link("ns1", "r"); l:link("ns2", "r:gw1")
    l:validate()
    assert.are.equal("ns1-eth0", l.nodes.ns1.ifaces[1].name)
    assert.are.equal("r-eth0", l.nodes.r.ifaces[1].name)
    assert.are.equal("gw1", l.nodes.r.ifaces[2].name)
    assert.are.same({ "10.20.0.1/24", "fd00:20::1/64" }, l.nodes.ns1.ifaces[1].addrs)
    assert.are.same({ "10.20.1.2/24", "fd00:20:0:1::2/64" }, l.nodes.r.ifaces[2].addrs)
    assert.are.equal(l.nodes.r, l.nodes.ns1.ifaces[1].peer.node)
    assert.are.equal("10.20.0.2", l.nodes.ns1.resolved[1].via)
    assert.are.equal("fd00:20::2", l.nodes.ns1.resolved[2].via)
    local n, i = l:owner("10.20.1.2")
    assert.are.equal(l.nodes.r, n)
    assert.are.equal("gw1", i.name)
    assert.are.equal("10.20.1.1", l:address("ns2"))
    assert.are.equal(l.nodes.ns1, l:node("ns1"))
    assert.are.equal(l.nodes.ns1, l:node(l.prefix .. "ns1"))
  end)

  it("never reach a node as l.NAME: a method named like a node says how to reach the node", function()
    local l = newlab()
    local router = l:router("router")
    l:host("ns1"); l:host("pool"); l:host("journal")
    assert.is_nil(l.ns1)
    assert.are.equal(router, l:node("router"))
    assert.are.equal(router, l.nodes.router)
    local msg = err_of(function() return l.router:ping("192.0.2.1") end) local line = here()
    assert.matches("topo_spec%.lua:" .. line .. ": l%.router is the lab's method router, not node 'router' "
      .. "%(indexed with 'ping'%): reach the node as l%.nodes%.router or l:node%(\"router\"%)", msg)
    -- still the method: declares another router, errors at the script's line
    local r2 = l:router("r2")
    assert.are.equal(r2, l.nodes.r2)
    msg = err_of(function() l:router("r2") end) line = here()
    assert.matches("topo_spec%.lua:" .. line .. ": router: node 'r2' already declared", msg)
    -- nodes named like the lab's own fields do not stand in for them
    l:link("ns1 192.0.2.1/24", "router 192.0.2.254/24")
    l:validate()
    assert.is_nil(rawget(l, "journal"))
    assert.is_nil(l.journal)
    assert.is_nil(l.pool)
  end)

  it("point errors at the script's line through pcall, wrappers and methods calling methods", function()
    local l = newlab()
    local function declare(name)
      local n = l:host(name) -- the script's own wrapper: its line is blamed
      return n
    end
    local line = here(); local _, msg = pcall(l.host, l, "bad name!")
    assert.matches("^.-topo_spec%.lua:" .. line .. ": ", msg)
    _, msg = pcall(declare, "also bad!")
    assert.matches("^.-topo_spec%.lua:" .. line - 3 .. ": ", msg)
    line = here(); _, msg = pcall(l.forwarding, l, "nobody", true)
    assert.matches("^.-topo_spec%.lua:" .. line .. ": .*nobody", msg)
  end)
end)
