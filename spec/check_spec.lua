-- netns.check and netns.matrix on real topologies built from outside with
-- `ip` (only inside the test's own namespaces; traffic only to addresses in
-- them): the book's router scenario staged (no route, forwarding off,
-- forwarding on), ICMP errors from a router, state checks, and the all-pairs
-- matrix on a bridge, with waves, permanent neighbours and overflow diagnosis.
local netns = require "netns"
local check = require "netns.check"
local matrix = require "netns.matrix"
local report = require "netns.report"
local T = require "spec.testlib"

local sh = T.sh

-- ns1 - router - ns2, as in the book (IPv4 and IPv6), no routes on the hosts,
-- forwarding off on the router.
local function router_lab()
  local ns1, n1 = T.ns("ns1")
  local router, nr = T.ns("router")
  local ns2, n2 = T.ns("ns2")
  sh("ip -n %s link add ns1-veth0 address 00:00:5e:00:53:01 type veth peer name gw-veth0 netns %s", n1, nr)
  sh("ip -n %s link add ns2-veth0 address 00:00:5e:00:53:02 type veth peer name gw-veth1 netns %s", n2, nr)
  sh("ip -n %s link set gw-veth0 address 00:00:5e:00:53:fe", nr)
  for _, c in ipairs{
    { n1, "ns1-veth0", "192.0.2.1/24", "2001:db8:1::1/64" },
    { nr, "gw-veth0", "192.0.2.254/24", "2001:db8:1::254/64" },
    { nr, "gw-veth1", "198.51.100.254/24", "2001:db8:2::254/64" },
    { n2, "ns2-veth0", "198.51.100.1/24", "2001:db8:2::1/64" },
  } do
    sh("ip -n %s addr add %s dev %s", c[1], c[3], c[2])
    sh("ip -n %s addr add %s dev %s nodad", c[1], c[4], c[2])
    sh("ip -n %s link set %s up", c[1], c[2])
  end
  sh("ip netns exec %s sysctl -qw net.ipv4.ip_forward=0 net.ipv6.conf.all.forwarding=0", nr)
  T.wait_up(n1, nr, n2)
  return {
    ns1 = { name = "ns1", ns = ns1, nsname = n1, kind = "host" },
    router = { name = "router", ns = router, nsname = nr, kind = "router" },
    -- as netns.lab describes nodes: the declared addresses are used first
    ns2 = { name = "ns2", ns = ns2, nsname = n2, kind = "host",
            ifaces = { { name = "ns2-veth0", addrs = { "198.51.100.1/24", "2001:db8:2::1/64" } } } },
  }
end

-- A lab-shaped table (as netns.lab makes) over nodes: l:node(x), l:owner(a).
local function fake_lab(nodes)
  local l = { nodes = nodes }
  function l:node(x)
    if type(x) == "table" then return x end
    local nd = self.nodes[x]
    if not nd then error("unknown node " .. tostring(x)) end
    return nd
  end
  function l:owner(addr)
    for _, nd in pairs(self.nodes) do
      for _, a in ipairs(nd.ns:addrs()) do if a.address == addr then return nd end end
    end
  end
  return l
end

-- A bridge `br0` in its own namespace and n hosts on it, 192.0.2.i/24.
local function bridge_lab(n, extra)
  local br, nb = T.ns("bridge")
  sh("ip -n %s link add br0 type bridge && ip -n %s link set br0 up", nb, nb)
  local nodes = { bridge = { name = "bridge", ns = br, nsname = nb, kind = "switch" } }
  for i = 1, n do
    local ns, name = T.ns("h" .. i)
    sh("ip -n %s link add eth0 address 00:00:5e:00:53:%02x type veth peer name p%d netns %s", name, i, i, nb)
    sh("ip -n %s link set p%d master br0 && ip -n %s link set p%d up", nb, i, nb, i)
    sh("ip -n %s addr add 192.0.2.%d/24 dev eth0 && ip -n %s link set eth0 up", name, i, name)
    nodes["h" .. i] = { name = "h" .. i, ns = ns, nsname = name, kind = "host" }
  end
  if extra then
    -- a host on the bridge but in another subnet: nobody reaches it
    local ns, name = T.ns("lost")
    sh("ip -n %s link add eth0 type veth peer name plost netns %s", name, nb)
    sh("ip -n %s link set plost master br0 && ip -n %s link set plost up", nb, nb)
    sh("ip -n %s addr add 203.0.113.9/24 dev eth0 && ip -n %s link set eth0 up", name, name)
    nodes.lost = { name = "lost", ns = ns, nsname = name, kind = "host" }
  end
  for _, nd in pairs(nodes) do T.wait_up(nd.nsname) end
  return fake_lab(nodes)
end

local function quiet() check.options.out = function() end end

describe("netns.check", function()
  before_each(function()
    report.reset()
    quiet()
  end)
  after_each(function()
    check.options.fail_fast = false
    check.options.out = nil
    report.reset()
    T.cleanup()
  end)

  it("follows the book's router scenario stage by stage", function()
    local n = router_lab()
    check.stage("no route")
    assert.is_true((check.reachable(nil, n.ns1.ns, "192.0.2.254", { ttl = 64 })))
    local ok, d = check.unreachable(nil, n.ns1, "198.51.100.1", { how = "network unreachable" })
    assert.is_true(ok, tostring(d))
    assert.equal("no reply: Network is unreachable", d.actual)
    -- a failed expectation is recorded, not raised
    ok, d = check.reachable(nil, n.ns1, "198.51.100.1")
    assert.is_false(ok)
    assert.equal("reply from 198.51.100.1", d.expected)
    assert.equal("no reply: Network is unreachable", d.actual)
    assert.equal("ns1 reaches 198.51.100.1: expected reply from 198.51.100.1, got no reply: "
      .. "Network is unreachable", tostring(d))

    check.stage("forwarding off")
    sh("ip -n %s route add default via 192.0.2.254", n.ns1.nsname)
    sh("ip -n %s route add default via 198.51.100.254", n.ns2.nsname)
    ok, d = check.unreachable(nil, n.ns1, "198.51.100.1", { how = "timeout", timeout = 0.3 })
    assert.is_true(ok, tostring(d))
    assert.equal("no reply: timeout, 100% loss (1 sent, 0 received)", d.actual)
    ok, d = check.unreachable(nil, n.ns1, "198.51.100.1", { how = "net unreachable", timeout = 0.3 })
    assert.is_false(ok, "a timeout is not a net unreachable")

    check.stage("forwarding on")
    sh("ip netns exec %s sysctl -qw net.ipv4.ip_forward=1", n.router.nsname)
    ok, d = check.reachable(nil, n.ns1, n.ns2, { hops = 1 })
    assert.is_true(ok, tostring(d))
    assert.equal(63, d.ttl)
    assert.equal("ns1 reaches ns2 (198.51.100.1) with TTL 63", d.name)
    -- a passing check reads "<name>: <actual>", as check.md says
    assert.equal("ns1 reaches ns2 (198.51.100.1) with TTL 63: " .. d.actual, tostring(d))
    assert.truthy(d.actual:find("^reply from 198.51.100.1, TTL 63"), d.actual)
    ok, d = check.reachable(nil, n.ns1, n.ns2, { ttl = 64 })
    assert.is_false(ok)
    assert.equal("reply from 198.51.100.1, TTL 64", d.expected)
    assert.truthy(d.actual:find("^reply from 198.51.100.1, TTL 63"), d.actual)

    local list = report.checks()
    assert.equal(7, #list)
    assert.equal("no route", list[3].stage)
    assert.equal("forwarding off", list[4].stage)
    assert.equal("forwarding off", list[5].stage)
    assert.equal("forwarding on", list[6].stage)
    assert.equal(3, report.failed())
    for _, c in ipairs(list) do assert.truthy(c.where:find("^spec/check_spec.lua:%d+$"), c.where) end
  end)

  it("checks IPv6 by address and by node, with the hop limit", function()
    local n = router_lab()
    sh("ip -n %s -6 route add default via 2001:db8:1::254", n.ns1.nsname)
    sh("ip -n %s -6 route add default via 2001:db8:2::254", n.ns2.nsname)
    sh("ip netns exec %s sysctl -qw net.ipv6.conf.all.forwarding=1", n.router.nsname)
    -- on-link first (as the book does); a few echoes, since NDP on links
    -- that just came up may lose the first one
    local ok, d = check.reachable(nil, n.ns1, "2001:db8:1::254", { ttl = 64, count = 3, interval = 0.2 })
    assert.is_true(ok, tostring(d))
    ok, d = check.reachable(nil, n.ns2, "2001:db8:2::254", { ttl = 64, count = 3, interval = 0.2 })
    assert.is_true(ok, tostring(d))
    ok, d = check.reachable(nil, n.ns1, "2001:db8:2::1", { ttl = 63, count = 3, interval = 0.2 })
    assert.is_true(ok, tostring(d))
    ok, d = check.reachable(nil, n.ns2, n.ns1, { family = "inet6", hops = 1, count = 3, interval = 0.2 })
    assert.is_true(ok, tostring(d))
    assert.equal("ns2 reaches ns1 (2001:db8:1::1) with TTL 63", d.name)
  end)

  it("names the router that sent an ICMP error, and how it failed", function()
    local n = router_lab()
    local lab = fake_lab(n)
    sh("ip -n %s route add default via 192.0.2.254", n.ns1.nsname)
    sh("ip netns exec %s sysctl -qw net.ipv4.ip_forward=1", n.router.nsname)
    -- 203.0.113.1 is nowhere: the router has no route to it
    local ok, d = check.unreachable(lab, "ns1", "203.0.113.1", { how = "net unreachable", from = "router" })
    assert.is_true(ok, tostring(d))
    assert.equal("no reply: Destination Net Unreachable from router (192.0.2.254)", d.actual)
    assert.equal("ns1 cannot reach 203.0.113.1: net unreachable from router", d.name)
    ok = check.unreachable(lab, "ns1", "203.0.113.1", { from = "192.0.2.254" })
    assert.is_true(ok)
    ok, d = check.unreachable(lab, "ns1", "203.0.113.1", { how = "net unreachable", from = "ns2" })
    assert.is_false(ok)
    assert.equal("no reply: net unreachable from ns2", d.expected)
    -- TTL 1: the router says the time to live was exceeded
    sh("ip -n %s route add default via 198.51.100.254", n.ns2.nsname)
    ok, d = check.unreachable(lab, "ns1", "ns2", { send_ttl = 1, how = "ttl exceeded", from = lab.nodes.router })
    assert.is_true(ok, tostring(d))
    assert.truthy(d.actual:find("Time to live exceeded", 1, true), d.actual)
    assert.is_true((check.reachable(lab, "ns1", "ns2")))
    ok, d = check.unreachable(lab, "ns1", "ns2")
    assert.is_false(ok)
    assert.equal("no reply", d.expected)
  end)

  it("checks state: link up, address, route, neighbour MAC, sysctl", function()
    local n = router_lab()
    sh("ip -n %s route add default via 192.0.2.254", n.ns1.nsname)
    sh("ip -n %s route add 10.0.0.0/8 via 192.0.2.254 metric 20", n.ns1.nsname)
    sh("ip -n %s link add d0 type veth peer name d1", n.ns1.nsname)
    local function expect(ok, d) assert.is_true(ok, tostring(d)) end
    local function refute(ok, d) assert.is_false(ok, tostring(d)); return d end
    expect(check.expect_link_up(nil, n.ns1, "ns1-veth0"))
    local d = refute(check.expect_link_up(nil, n.ns1, "d0"))
    assert.equal("down (operstate DOWN)", d.actual)
    d = refute(check.expect_link_up(nil, n.ns1, "nope0"))
    assert.equal("no such link", d.actual)

    expect(check.expect_addr(nil, n.ns1, "ns1-veth0", "192.0.2.1/24"))
    expect(check.expect_addr(nil, n.ns1, "192.0.2.1"))
    expect(check.expect_addr(nil, n.ns1, "ns1-veth0", "2001:db8:1:0::1/64"))
    d = refute(check.expect_addr(nil, n.ns1, "ns1-veth0", "192.0.2.1/25"))
    assert.equal("192.0.2.1/24 on ns1-veth0", d.actual)
    assert.equal("192.0.2.1/25 on ns1-veth0", d.expected)

    expect(check.expect_route(nil, n.ns1, "default", { via = "192.0.2.254" }))
    expect(check.expect_route(nil, n.ns1, "10.0.0.0/8", { via = "192.0.2.254", metric = 20, dev = "ns1-veth0" }))
    expect(check.expect_route(nil, n.ns1, "10.1.2.3", { via = "192.0.2.254" }))  -- the covering route
    expect(check.expect_route(nil, n.ns1, "192.0.2.0/24", { dev = "ns1-veth0" }))
    expect(check.expect_route(nil, n.ns1, "2001:db8:1::/64", { dev = "ns1-veth0" }))
    d = refute(check.expect_route(nil, n.ns1, "default", { via = "192.0.2.99" }))
    assert.equal("default via 192.0.2.99", d.expected)
    assert.equal("default via 192.0.2.254 dev ns1-veth0", d.actual)
    d = refute(check.expect_route(nil, n.ns2, "198.51.100.128/25"))
    assert.equal("no route to 198.51.100.128/25", d.actual)

    sh("ip -n %s neigh flush all", n.ns1.nsname)
    assert.is_true((check.reachable(nil, n.ns1, "192.0.2.254")))
    expect(check.expect_neigh(nil, n.ns1, "192.0.2.254", "00:00:5E:00:53:FE"))
    expect(check.expect_neigh(nil, n.ns1, "192.0.2.254", nil, { dev = "ns1-veth0" }))
    d = refute(check.expect_neigh(nil, n.ns1, "192.0.2.254", "00:00:5e:00:53:02"))
    assert.truthy(d.actual:find("^00:00:5e:00:53:fe %u+ on ns1%-veth0$"), d.actual)
    d = refute(check.expect_neigh(nil, n.ns1, "192.0.2.77"))
    assert.equal("no entry", d.actual)

    expect(check.expect_sysctl(nil, n.router, "net.ipv4.ip_forward", 0))
    expect(check.expect_sysctl(nil, n.router, "net.ipv4.ip_forward", false))
    sh("ip netns exec %s sysctl -qw net.ipv4.ping_group_range='1 0'", n.router.nsname)
    expect(check.expect_sysctl(nil, n.router, "net.ipv4.ping_group_range", "1   0"))
    d = refute(check.expect_sysctl(nil, n.router, "net.ipv4.ip_forward", true))
    assert.equal("1", d.expected)
    assert.equal("0", d.actual)
    -- a key the kernel does not have: the check fails with the kernel's reason
    d = refute(check.expect_sysctl(nil, n.router, "net.ipv4.no_such_thing", 1))
    assert.truthy(d.actual:find("ENOENT", 1, true), d.actual)
  end)

  it("checks that a bridge learned a MAC on a port", function()
    local lab = bridge_lab(2)
    assert.is_true((check.reachable(lab, "h1", "h2")))
    local ok, d = check.expect_fdb(lab, "bridge", "00:00:5e:00:53:01", "p1")
    assert.is_true(ok, tostring(d))
    ok, d = check.expect_fdb(lab, "bridge", "00:00:5E:00:53:02")
    assert.is_true(ok, tostring(d))
    ok, d = check.expect_fdb(lab, "bridge", "00:00:5e:00:53:01", "p2")
    assert.is_false(ok)
    assert.equal("00:00:5e:00:53:01 on p1", d.actual)
    ok, d = check.expect_fdb(lab, "bridge", "00:00:5e:00:53:77")
    assert.is_false(ok)
    assert.equal("not in the FDB", d.actual)
  end)

  it("raises at once on mistakes in the script, naming the argument", function()
    local n = router_lab()
    local lab = fake_lab(n)
    assert.has_error(function() check.reachable(lab, "nobody", "192.0.2.1") end,
      "bad argument #2 to 'reachable' (unknown node 'nobody')")
    assert.has_error(function() check.reachable(nil, "ns1", "192.0.2.1") end,
      "bad argument #2 to 'reachable' (node or netns.Namespace expected, got string (node names need a lab))")
    assert.has_error(function() check.reachable(lab, "ns1", "192.0.2.1", { tll = 3 }) end,
      "bad argument #4 to 'reachable' (unknown option 'tll')")
    assert.has_error(function() check.unreachable(lab, "ns1", "ns2", { how = "lost" }) end,
      "bad argument #4 to 'unreachable' (field 'how': unknown failure 'lost')")
    assert.has_error(function() check.reachable(lab, "ns1", "2001:db8::1", { family = "inet" }) end,
      "bad argument #3 to 'reachable' (2001:db8::1 is not an IPv4 address)")
    assert.has_error(function() check.reachable(lab, "ns1", "192.0.2.300") end,
      "bad argument #3 to 'reachable' (unknown node '192.0.2.300')")
    assert.has_error(function() check.expect_addr(lab, "ns1", "eth0", "10.0.0.1/33") end,
      "bad argument #4 to 'expect_addr' ('10.0.0.1/33': bad prefix length (0-32))")
    assert.has_error(function() check.expect_sysctl(lab, "ns1", "net.ipv4.ip_forward", {}) end,
      "bad argument #4 to 'expect_sysctl' (string, number or boolean expected, got table)")
    assert.has_error(function() check.ping_all(lab, { expect = { ns9 = false } }) end,
      "bad argument #2 to 'ping_all' (field 'expect': unknown node 'ns9')")
    assert.has_error(function() check.ping_all(nil, {}) end,
      "bad argument #1 to 'ping_all' (a lab, or a list of nodes in the option 'nodes', expected)")
    assert.equal(0, #report.checks())
  end)

  it("stops the scenario on a failed check only when asked", function()
    local n = router_lab()
    check.options.fail_fast = true
    local ok, e = pcall(check.unreachable, nil, n.ns1, "192.0.2.254")
    assert.is_false(ok)
    assert.equal("check failed: ns1 cannot reach 192.0.2.254\n  expected: no reply\n" ..
      "  actual:   reply from 192.0.2.254, TTL 64 (1/1 received)", tostring(e))
    assert.equal("ns1 cannot reach 192.0.2.254", e.detail.name)
    check.options.fail_fast = false
    local lab = fake_lab(n)
    lab.stop_on_failure = true
    assert.has_error(function() check.expect_link_up(lab, "ns1", "nope0") end)
    lab.stop_on_failure = false
    assert.is_false((check.expect_link_up(lab, "ns1", "nope0")))
    assert.equal(3, report.failed())
  end)
end)

describe("check.ping_all", function()
  before_each(function()
    report.reset()
    quiet()
  end)
  after_each(function()
    check.options.out = nil
    report.reset()
    T.cleanup()
  end)

  it("reports exactly the unreachable pairs and matches an expected matrix", function()
    local lab = bridge_lab(3, true)
    local printed = {}
    local ok, d = check.ping_all(lab, { timeout = 0.5, out = function(s) printed[#printed + 1] = s end })
    assert.is_false(ok)
    assert.equal(12, #d.pairs)
    local bad = {}
    for _, p in ipairs(d.mismatches) do bad[#bad + 1] = p.src .. ">" .. p.dst end
    table.sort(bad)
    assert.same({ "h1>lost", "h2>lost", "h3>lost", "lost>h1", "lost>h2", "lost>h3" }, bad)
    assert.is_true(d.matrix.h1.h2)
    assert.is_false(d.matrix.lost.h3)
    local text = table.concat(printed)
    assert.truthy(text:find("ping_all IPv4: 4 nodes, 12 pairs, 6 reached\n", 1, true), text)
    assert.truthy(text:find("       h1   h2   h3 lost\n" ..
                            "h1      .   ok   ok  --!\n", 1, true), text)
    assert.truthy(text:find("lost  --!  --!  --!    .\n", 1, true), text)
    assert.truthy(text:find("  lost -> h3 (192.0.2.3): no reply: Network is unreachable\n", 1, true), text)

    local expect = { lost = false, h1 = { lost = false }, h2 = { lost = false }, h3 = { lost = false } }
    ok, d = check.ping_all(lab, { expect = expect, timeout = 0.5, out = false })
    assert.is_true(ok, tostring(d))
    assert.equal("6 of 12 pairs reach, as expected", d.actual)
    assert.equal("the expected matrix: 6 of 12 pairs reach", d.expected)
    -- the same with default = false and the reachable pairs listed
    ok, d = check.ping_all(lab, { expect = { h1 = { h2 = true, h3 = true }, h2 = { h1 = true, h3 = true },
                                             h3 = { h1 = true, h2 = true } },
                                  default = false, timeout = 0.5, out = false })
    assert.is_true(ok, tostring(d))
    -- a wrong expectation names the pair
    ok, d = check.ping_all(lab, { expect = { h1 = { h2 = false }, lost = false, h2 = { lost = false },
                                             h3 = { lost = false } }, timeout = 0.5, out = false })
    assert.is_false(ok)
    assert.truthy(d.actual:find("h1 -> h2 reached (expected no reply), h1 -> lost got no reply", 1, true), d.actual)
    assert.equal(2, report.failed())
  end)

  it("runs in waves, flushing learned neighbours between them", function()
    local lab = bridge_lab(4)
    local ok, d = check.ping_all(lab, { waves = 2, out = false })
    assert.is_true(ok, tostring(d))
    assert.equal(2, d.waves)
    assert.is_true(d.flushed > 0)
    assert.equal(12, #d.pairs)
  end)

  it("samples k destinations per node", function()
    local lab = bridge_lab(4)
    local ok, d = check.ping_all(lab, { sample = 2, out = false })
    assert.is_true(ok, tostring(d))
    assert.equal(8, #d.pairs)
    assert.is_nil(d.matrix.h1.h4)
    assert.is_true(d.matrix.h4.h1)
  end)

  it("installs permanent neighbour entries from the MACs the lab has", function()
    local lab = bridge_lab(3)
    assert.equal(6, check.static_neighs(lab))
    local entries = T.ipj("-n", lab.nodes.h1.nsname, "neigh", "show")
    local seen = {}
    for _, e in ipairs(entries) do
      seen[e.dst] = e.lladdr
      assert.same({ "PERMANENT" }, e.state)
    end
    assert.same({ ["192.0.2.2"] = "00:00:5e:00:53:02", ["192.0.2.3"] = "00:00:5e:00:53:03" }, seen)
    -- twice is fine (replace), and ping_all can do it itself
    assert.equal(6, check.static_neighs(lab))
    local ok, d = check.ping_all(lab, { static_neighs = true, out = false })
    assert.is_true(ok, tostring(d))
    assert.equal(1, d.waves)
  end)

  it("diagnoses a full neighbour table as the cause of lost pings", function()
    local lab = bridge_lab(2, true)
    local real = matrix.neigh_stats
    local calls = 0
    -- the host's counters, as they would read if the table overflowed meanwhile
    matrix.neigh_stats = function(fam)
      local st = real(fam)
      calls = calls + 1
      st.table_fulls = calls > 2 and 7 or 3
      st.gc_thresh3 = 1024
      return st
    end
    local printed = {}
    local ok, d = check.ping_all(lab, { timeout = 0.3, out = function(s) printed[#printed + 1] = s end })
    matrix.neigh_stats = real
    assert.is_false(ok)
    assert.is_true(d.overflow)
    assert.truthy(d.diagnosis:find("^neighbour table overflow: the kernel's ARP table, which all namespaces share, was full 4 time%(s%)"), d.diagnosis)
    assert.truthy(d.diagnosis:find("gc_thresh3 = 1024", 1, true))
    assert.truthy(d.diagnosis:find("static_neighs=true", 1, true))
    assert.truthy(table.concat(printed):find("neighbour table overflow", 1, true))
    assert.equal(d.diagnosis, report.checks()[1].detail)
  end)

  it("plans waves from the room left in the shared table", function()
    local lab = bridge_lab(4)
    local real = matrix.neigh_stats
    matrix.neigh_stats = function() return { entries = 1000, table_fulls = 0, gc_thresh3 = 1024 } end
    -- room: max(1024 - 1000 - 32, 1024 // 4) = 256 entries; 12 pairs need 24: one wave
    local ok, d = check.ping_all(lab, { out = false })
    assert.is_true(ok, tostring(d))
    assert.equal(1, d.waves)
    matrix.neigh_stats = function() return { entries = 1000, table_fulls = 0, gc_thresh3 = 16 } end
    -- room 4 entries: two pairs per wave... at least one source (3 pairs) per wave
    ok, d = check.ping_all(lab, { out = false })
    matrix.neigh_stats = real
    assert.is_true(ok, tostring(d))
    assert.equal(4, d.waves)
  end)

  it("reads the real table counters of this host", function()
    local st = matrix.neigh_stats("inet")
    assert.is_number(st.entries)
    assert.is_number(st.table_fulls)
    assert.is_number(st.gc_thresh3)
    assert.is_number(matrix.neigh_stats("inet6").entries)
  end)

  it("works on bare handles given as nodes, without a lab", function()
    local a, an = T.ns("a")
    local b, bn = T.ns("b")
    sh("ip -n %s link add eth0 type veth peer name eth0 netns %s", an, bn)
    sh("ip -n %s addr add 192.0.2.1/24 dev eth0 && ip -n %s link set eth0 up", an, an)
    sh("ip -n %s addr add 192.0.2.2/24 dev eth0 && ip -n %s link set eth0 up", bn, bn)
    T.wait_up(an, bn)
    local ok, d = check.ping_all(nil, { nodes = { { name = "a", ns = a }, b }, out = false })
    assert.is_true(ok, tostring(d))
    assert.is_true(d.matrix.a[bn])
    assert.equal(netns.list and 2 or 2, #d.pairs)
  end)
end)

describe("netns.assertions", function()
  require "netns.assertions"
  after_each(function()
    report.reset()
    T.cleanup()
  end)

  local function message(f)
    local ok, e = pcall(f)
    assert(not ok, "the assertion should have failed")
    return tostring(e)
  end

  it("pass and fail with what was expected and what happened", function()
    local n = router_lab()
    assert.reachable(n.ns1.ns, "192.0.2.254")
    assert.reachable(n.ns1, "192.0.2.254", { ttl = 64 })
    assert.unreachable(n.ns1, "198.51.100.1", { how = "network unreachable" })
    assert.is_not.reachable(n.ns1, "198.51.100.1")
    assert.has_route(n.ns1, "192.0.2.0/24", { dev = "ns1-veth0" })
    assert.has_addr(n.ns1, "ns1-veth0", "192.0.2.1/24")
    assert.has_addr(n.ns1, "192.0.2.1")
    assert.link_up(n.ns1, "ns1-veth0")
    assert.has_sysctl(n.router, "net.ipv4.ip_forward", 0)
    local m = message(function() assert.reachable(n.ns1, "198.51.100.1") end)
    assert.truthy(m:find("ns1 reaches 198.51.100.1\n  expected: reply from 198.51.100.1\n" ..
                         "  actual:   no reply: Network is unreachable", 1, true), m)
    assert.truthy(m:find("^spec/check_spec.lua:%d+: "), m)
    m = message(function() assert.is_not.reachable(n.ns1, "192.0.2.254") end)
    assert.truthy(m:find("expected this not to hold: ns1 reaches 192.0.2.254\n" ..
                         "  actual:   reply from 192.0.2.254, TTL 64 (1/1 received)", 1, true), m)
    m = message(function() assert.has_route(n.ns1, "default", { via = "192.0.2.254" }) end)
    assert.truthy(m:find("ns1 has route default via 192.0.2.254\n  expected: default via 192.0.2.254\n" ..
                         "  actual:   no route to default", 1, true), m)
    m = message(function() assert.link_up(n.ns1, "nope0") end)
    assert.truthy(m:find("ns1: link nope0 is up\n  expected: up\n  actual:   no such link", 1, true), m)
    -- with a lab first, nodes by name
    local lab = fake_lab(n)
    assert.unreachable(lab, "ns1", "ns2", { timeout = 0.2 })
    assert.has_neigh(lab, "ns1", "192.0.2.254", "00:00:5e:00:53:fe")
    -- nothing was recorded in the run's report
    assert.equal(0, #report.checks())
  end)

  it("register in luassert only and set no globals", function()
    local out, ok = T.run([[lua5.4 -e '
      require "luassert"
      local before = {}
      for k in pairs(_G) do before[k] = true end
      local m = require "netns.assertions"
      for k in pairs(_G) do if not before[k] then print("new global", k) end end
      print(type(require("luassert.namespaces").assertion.has_route))']])
    assert.is_true(ok, out)
    assert.equal("table\n", out)
  end)
end)
