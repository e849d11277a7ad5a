-- ns:probe and netns.probe_many against the real kernel: every outcome a
-- TCP connect or a UDP datagram can have (connected, refused, dropped,
-- rejected with each ICMP type nftables can send, local errors), over IPv4
-- and IPv6, from a router too, and many probes at once. Topologies are built
-- from outside with iproute2 and nft, only inside namespaces these tests make.
local netns = require "netns"
local T = require "spec.testlib"

local sh = T.sh

-- nft rules in a namespace (nft reads them on stdin).
local function nft(ns, rules)
  local r = ns:exec({ "nft", "-f", "-" }, { stdin = rules, timeout = 10 })
  assert(r.code == 0, "nft: " .. r.stderr)
end

-- ICMP errors are rate-limited per destination (six at once, then one a
-- second): off in a namespace that sends more at once. (Not in a router: its
-- "net unreachable" has a limit of its own, which icmp_ratelimit=0 starves.)
local function no_ratelimit(name)
  sh("ip netns exec %s sysctl -qw net.ipv4.icmp_ratelimit=0 net.ipv6.icmp.ratelimit=0 "
     .. "net.ipv4.icmp_msgs_burst=10000", name)
end

local function segment()
  local A, B, an, bn = T.segment()
  no_ratelimit(bn)
  return A, B, an, bn
end

-- A (10.1.0.2) -- R (10.1.0.1 | 10.2.0.1) -- B (10.2.0.2), with IPv6 fd01::/64
-- and fd02::/64; R forwards.
local function routed()
  local A, an = T.ns("a")
  local R, rn = T.ns("r")
  local B, bn = T.ns("b")
  sh("ip -n %s link add v0 type veth peer name va netns %s", an, rn)
  sh("ip -n %s link add vb type veth peer name v0 netns %s", rn, bn)
  sh("ip -n %s addr add 10.1.0.2/24 dev v0 && ip -n %s addr add fd01::2/64 dev v0 nodad", an, an)
  sh("ip -n %s addr add 10.1.0.1/24 dev va && ip -n %s addr add fd01::1/64 dev va nodad", rn, rn)
  sh("ip -n %s addr add 10.2.0.1/24 dev vb && ip -n %s addr add fd02::1/64 dev vb nodad", rn, rn)
  sh("ip -n %s addr add 10.2.0.2/24 dev v0 && ip -n %s addr add fd02::2/64 dev v0 nodad", bn, bn)
  for _, n in ipairs{ an, rn, bn } do sh("ip -n %s link set lo up", n) end
  sh("ip -n %s link set v0 up && ip -n %s link set va up && ip -n %s link set vb up && ip -n %s link set v0 up",
     an, rn, rn, bn)
  sh("ip -n %s route add default via 10.1.0.1 && ip -n %s -6 route add default via fd01::1", an, an)
  sh("ip -n %s route add default via 10.2.0.1 && ip -n %s -6 route add default via fd02::1", bn, bn)
  sh("ip netns exec %s sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1", rn)
  T.wait_up(an, rn, bn)
  assert(A:ping("10.2.0.2", { timeout = 3 }).ok and A:ping("fd02::2", { timeout = 3 }).ok)
  return A, R, B, an, rn, bn
end

describe("ns:probe", function()
  after_each(T.cleanup)

  it("connects to a listening TCP port and says how long it took and from where", function()
    local A, B = segment()
    local l <close> = B:listen{ proto = "tcp", port = 8080 }
    for _, dst in ipairs{ "10.0.0.2", "fd00::2" } do
      local r = A:probe("tcp", dst, 8080)
      assert.are.same({ "tcp", dst, 8080, "connected", true },
        { r.proto, r.dst, r.port, r.outcome, r.ok })
      assert.is_true(r.time >= 0 and r.time < 1000)
      assert.are.equal(dst == "10.0.0.2" and "10.0.0.1" or "fd00::1", r.source)
      assert.is_true(r.source_port > 0)
      assert.is_nil(r.code)
    end
    assert.is_true(T.wait_until(function() return l:stats().connections == 2 end, 5))
  end)

  it("reports a closed TCP port as refused (a RST, no ICMP error)", function()
    local A = segment()
    for _, dst in ipairs{ "10.0.0.2", "fd00::2" } do
      local r = A:probe("tcp", dst, 9)
      assert.are.same({ "refused", false, "ECONNREFUSED", dst }, { r.outcome, r.ok, r.code, r.from })
      assert.is_nil(r.icmp_type)
    end
  end)

  it("reports a port an nftables rule drops as a timeout after the timeout", function()
    local A, B = segment()
    nft(B, [[
table inet f {
  chain input {
    type filter hook input priority 0;
    tcp dport 81 drop
    udp dport 81 drop
  }
}]])
    for _, dst in ipairs{ "10.0.0.2", "fd00::2" } do
      for _, proto in ipairs{ "tcp", "udp" } do
        local r = A:probe(proto, dst, 81, { timeout = 0.3 })
        assert.are.same({ "timeout", false }, { r.outcome, r.ok })
        assert.is_true(r.time >= 299, tostring(r.time))
      end
    end
  end)

  it("reports `reject with tcp reset` as refused", function()
    local A, B = segment()
    nft(B, "table inet f {\n chain input {\n type filter hook input priority 0;\n tcp dport 82 reject with tcp reset\n }\n}")
    assert.are.equal("refused", A:probe("tcp", "10.0.0.2", 82).outcome)
    assert.are.equal("refused", A:probe("tcp", "fd00::2", 82).outcome)
  end)

  it("reports each ICMP type of `reject with icmp type` with its code, kind and sender", function()
    local A, B = segment()
    local v4 = {
      { "net-unreachable", 0, "net_unreachable" }, { "host-unreachable", 1, "host_unreachable" },
      { "prot-unreachable", 2, "protocol_unreachable" }, { "port-unreachable", 3, "port_unreachable" },
      { "net-prohibited", 9, "prohibited" }, { "host-prohibited", 10, "prohibited" },
      { "admin-prohibited", 13, "prohibited" },
    }
    local v6 = {
      { "no-route", 0, "net_unreachable" }, { "admin-prohibited", 1, "prohibited" },
      { "addr-unreachable", 3, "host_unreachable" }, { "port-unreachable", 4, "port_unreachable" },
      { "policy-fail", 5, "prohibited" }, { "reject-route", 6, "prohibited" },
    }
    local rules = {}
    for i, t in ipairs(v4) do
      rules[#rules + 1] = ("meta nfproto ipv4 tcp dport %d reject with icmp type %s"):format(1000 + i, t[1])
    end
    for i, t in ipairs(v6) do
      rules[#rules + 1] = ("meta nfproto ipv6 tcp dport %d reject with icmpv6 type %s"):format(2000 + i, t[1])
    end
    nft(B, "table inet f {\n chain input {\n type filter hook input priority 0;\n"
      .. table.concat(rules, "\n") .. "\n }\n}")
    local list = {}
    for i in ipairs(v4) do list[#list + 1] = { A, "tcp", "10.0.0.2", 1000 + i } end
    for i in ipairs(v6) do list[#list + 1] = { A, "tcp", "fd00::2", 2000 + i } end
    local res = netns.probe_many(list, { timeout = 2 })
    for i, t in ipairs(v4) do
      local r = res[i]
      assert.are.same({ t[1], "icmp", 3, t[2], t[3], "10.0.0.2" },
        { t[1], r.outcome, r.icmp_type, r.icmp_code, r.kind, r.from })
    end
    for i, t in ipairs(v6) do
      local r = res[#v4 + i]
      assert.are.same({ t[1], "icmp", 1, t[2], t[3], "fd00::2" },
        { t[1], r.outcome, r.icmp_type, r.icmp_code, r.kind, r.from })
    end
  end)

  it("reports the icmpx types of an inet table in each family's own ICMP", function()
    local A, B = segment()
    local types = { { "port-unreachable", 3, 4 }, { "admin-prohibited", 13, 1 }, { "no-route", 0, 0 },
                    { "host-unreachable", 1, 3 } }
    local rules = {}
    for i, t in ipairs(types) do
      rules[#rules + 1] = ("tcp dport %d reject with icmpx type %s"):format(3000 + i, t[1])
    end
    nft(B, "table inet f {\n chain input {\n type filter hook input priority 0;\n"
      .. table.concat(rules, "\n") .. "\n }\n}")
    local list = {}
    for i in ipairs(types) do
      list[#list + 1] = { A, "tcp", "10.0.0.2", 3000 + i }
      list[#list + 1] = { A, "tcp", "fd00::2", 3000 + i }
    end
    local res = netns.probe_many(list, { timeout = 2 })
    for i, t in ipairs(types) do
      local r4, r6 = res[2 * i - 1], res[2 * i]
      assert.are.same({ t[1], "icmp", 3, t[2] }, { t[1], r4.outcome, r4.icmp_type, r4.icmp_code })
      assert.are.same({ t[1], "icmp", 1, t[3] }, { t[1], r6.outcome, r6.icmp_type, r6.icmp_code })
    end
  end)

  it("gets UDP answered, refused (ICMP port unreachable) and silent, over both families", function()
    local A, B = segment()
    local dns <close> = B:listen{ proto = "udp", port = 53, reply = "answer" }
    local sink <close> = B:listen{ proto = "udp", port = 54, reply = false }
    for _, dst in ipairs{ "10.0.0.2", "fd00::2" } do
      local r = A:probe("udp", dst, 53, { payload = "question" })
      assert.are.same({ "answered", true, "answer", 6, dst }, { r.outcome, r.ok, r.reply, r.reply_len, r.from })
      r = A:probe("udp", dst, 55)
      assert.are.same({ "refused", false, "port_unreachable", dst, "ECONNREFUSED" },
        { r.outcome, r.ok, r.kind, r.from, r.code })
      r = A:probe("udp", dst, 54, { timeout = 0.3 })
      assert.are.same({ "timeout", false }, { r.outcome, r.ok })
    end
    assert.are.equal(2, dns:stats().datagrams)
    assert.are.equal(16, dns:stats().bytes_in)
    assert.are.equal(2, sink:stats().datagrams)
  end)

  it("reports the ICMP error a router sends, with the router as its sender", function()
    local A, R = routed()
    nft(R, "table inet f {\n chain forward {\n type filter hook forward priority 0;\n"
      .. "tcp dport 25 reject with icmpx type admin-prohibited\n udp dport 514 reject\n }\n}")
    -- The routing code's "net unreachable" first: it has the smaller share of
    -- the router's per-destination ICMP budget, which the rejects then use.
    local res = netns.probe_many({
      { A, "tcp", "198.51.100.7", 80 }, { A, "tcp", "2001:db8::7", 80 },
      { A, "tcp", "10.2.0.2", 25 }, { A, "tcp", "fd02::2", 25 },
      { A, "udp", "10.2.0.2", 514 }, { A, "udp", "fd02::2", 514 },
    }, { timeout = 2 })
    table.insert(res, table.remove(res, 1))
    table.insert(res, table.remove(res, 1))
    assert.are.same({ "icmp", "prohibited", "10.1.0.1" }, { res[1].outcome, res[1].kind, res[1].from })
    assert.are.same({ "icmp", "prohibited", "fd01::1" }, { res[2].outcome, res[2].kind, res[2].from })
    assert.are.same({ "refused", "port_unreachable", "10.1.0.1" }, { res[3].outcome, res[3].kind, res[3].from })
    assert.are.same({ "refused", "port_unreachable", "fd01::1" }, { res[4].outcome, res[4].kind, res[4].from })
    -- the router has no route to these: Destination Net Unreachable from it
    assert.are.same({ "icmp", "net_unreachable", "10.1.0.1" }, { res[5].outcome, res[5].kind, res[5].from })
    assert.are.same({ "icmp", "net_unreachable", "fd01::1" }, { res[6].outcome, res[6].kind, res[6].from })
  end)

  it("reports what the source itself refuses as a local error with its errno", function()
    local A = segment()
    local r = A:probe("tcp", "198.51.100.7", 80)
    assert.are.same({ "local", "ENETUNREACH" }, { r.outcome, r.code })
    r = A:probe("udp", "198.51.100.7", 53)
    assert.are.same({ "local", "ENETUNREACH" }, { r.outcome, r.code })
    r = A:probe("tcp", "10.0.0.2", 80, { source = "10.0.0.9" })
    assert.are.same({ "local", "EADDRNOTAVAIL", "bind to source 10.0.0.9: Cannot assign requested address" },
      { r.outcome, r.code, r.message })
    r = A:probe("tcp", "10.0.0.2", 80, { dev = "nosuch0" })
    assert.are.same({ "local", "ENODEV" }, { r.outcome, r.code })
  end)

  it("binds to the source address and device it is given", function()
    local A, B, an = segment()
    sh("ip -n %s addr add 10.0.0.11/24 dev v0", an)
    local l <close> = B:listen{ proto = "tcp", port = 8080 }
    local r = A:probe("tcp", "10.0.0.2", 8080, { source = "10.0.0.11", dev = "v0" })
    assert.are.same({ "connected", "10.0.0.11" }, { r.outcome, r.source })
    assert.is_true(T.wait_until(function() return l:stats().peer == "10.0.0.11" end, 5))
  end)

  it("runs hundreds of probes from several namespaces at once, each with its own outcome", function()
    local A, B, an, bn = segment()
    local C, cn = T.ns("c")
    sh("ip -n %s link add v1 type veth peer name v1 netns %s", cn, bn)
    sh("ip -n %s addr add 10.0.1.1/24 dev v1 && ip -n %s link set v1 up", cn, cn)
    sh("ip -n %s addr add 10.0.1.2/24 dev v1 && ip -n %s link set v1 up", bn, bn)
    T.wait_up(cn)
    local fds = T.fds()
    local open = {}
    local ls = {}
    for p = 5000, 5009 do
      open[p] = true
      ls[#ls + 1] = B:listen{ proto = "tcp", port = p }
    end
    local list = {}
    for p = 4900, 5099 do
      list[#list + 1] = { A, "tcp", "10.0.0.2", p }
      list[#list + 1] = { C, "tcp", "10.0.1.2", p }
    end
    local res = netns.probe_many(list, { timeout = 3 })
    assert.are.equal(400, #res)
    for i, r in ipairs(res) do
      local want = open[list[i][4]] and "connected" or "refused"
      assert.are.equal(want, r.outcome, ("%s port %d"):format(list[i][3], list[i][4]))
    end
    for _, l in ipairs(ls) do
      assert.is_true(T.wait_until(function() return l:stats().connections == 2 end, 5))
      l:close()
    end
    assert.are.equal(fds, T.fds())
    local _ = an
  end)

  it("refuses bad arguments before sending anything, naming the argument", function()
    local A = T.ns("a")
    local cases = {
      { function() A:probe("sctp", "10.0.0.2", 80) end, "#1 to 'probe' %(invalid option 'sctp'%)" },
      { function() A:probe("tcp", "10.0.0.300", 80) end, "#2" },
      { function() A:probe("tcp", "10.0.0.2", 0) end, "#3.*out of range" },
      { function() A:probe("tcp", "10.0.0.2", 65536) end, "#3.*out of range" },
      { function() A:probe("tcp", "10.0.0.2", 1.5) end, "#3" },
      { function() A:probe("tcp", "10.0.0.2", 80, { tiemout = 1 }) end, "unknown option 'tiemout'" },
      { function() A:probe("tcp", "10.0.0.2", 80, { timeout = 0 }) end, "field 'timeout'" },
      { function() A:probe("tcp", "10.0.0.2", 80, { source = "fd00::1" }) end, "field 'source': IPv6 address" },
      { function() A:probe("udp", "10.0.0.2", 80, { payload = ("x"):rep(65001) }) end, "field 'payload'" },
      { function() A:probe("tcp", "10.0.0.2", 80, { dev = ("x"):rep(16) }) end, "field 'dev'" },
      { function() netns.probe_many({ { A, "tcp", "10.0.0.2", 80 }, { A, "tcp", "10.0.0.2" } }) end,
        "item 2: %[4%]: port" },
      { function() netns.probe_many({ { A, "icmp", "10.0.0.2", 80 } }) end, "item 1: %[2%]: protocol" },
      { function() netns.probe_many({ { "a", "tcp", "10.0.0.2", 80 } }) end, "item 1: %[1%]: netns.Namespace" },
      { function() netns.probe_many({ { A, "tcp", "10.0.0.2", 80, { nope = 1 } } }) end,
        "item 1: unknown option 'nope'" },
    }
    for i, c in ipairs(cases) do
      local ok, e = pcall(c[1])
      assert.is_false(ok, "case " .. i)
      assert.is_truthy(tostring(e):find(c[2]), ("case %d: %s"):format(i, tostring(e)))
    end
    assert.are.same({}, netns.probe_many({}))
  end)
end)
