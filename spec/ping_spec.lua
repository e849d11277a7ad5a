-- ns:ping and netns.ping_many against the real kernel. Topologies are built
-- from outside with iproute2, only inside namespaces these tests make.
local netns = require "netns"
local T = require "spec.testlib"

-- `ip -n NAME ...` lines; fails the test on the first error.
local function ip(name, ...)
  for _, cmd in ipairs({ ... }) do
    local out, ok = T.run(("ip -n %s %s"):format(name, cmd))
    assert(ok, ("ip -n %s %s: %s"):format(name, cmd, out))
  end
end

local function sysctl(name, kv)
  local out, ok = T.run(("ip netns exec %s sysctl -qw %s"):format(name, kv))
  assert(ok, out)
end

-- A veth between namespace a (end ea) and b (end eb), both ends and lo up.
local function wire(a, ea, b, eb)
  ip(a, ("link add %s type veth peer name %s netns %s"):format(ea, eb, b),
     "link set lo up", ("link set %s up"):format(ea))
  ip(b, "link set lo up", ("link set %s up"):format(eb))
end

-- Two hosts on one segment: A 10.0.0.1 (fd00::1), B 10.0.0.2 (fd00::2).
local function segment()
  local A, an = T.ns("a")
  local B, bn = T.ns("b")
  wire(an, "v0", bn, "v0")
  ip(an, "addr add 10.0.0.1/24 dev v0", "addr add fd00::1/64 dev v0 nodad")
  ip(bn, "addr add 10.0.0.2/24 dev v0", "addr add fd00::2/64 dev v0 nodad")
  return A, B, an, bn
end

-- A (10.0.1.2) -- R (10.0.1.1 | 10.0.2.1) -- B (10.0.2.2); forwarding off.
local function routed()
  local A, an = T.ns("a")
  local R, rn = T.ns("r")
  local B, bn = T.ns("b")
  wire(an, "v0", rn, "va")
  wire(rn, "vb", bn, "v0")
  ip(an, "addr add 10.0.1.2/24 dev v0", "route add default via 10.0.1.1")
  ip(rn, "addr add 10.0.1.1/24 dev va", "addr add 10.0.2.1/24 dev vb")
  ip(bn, "addr add 10.0.2.2/24 dev v0", "route add default via 10.0.2.1")
  return A, R, B, an, rn, bn
end

local fd_count = T.fds

describe("ns:ping", function()
  after_each(T.cleanup)

  it("gets a reply with TTL 64 on one segment", function()
    local A = segment()
    local r = A:ping("10.0.0.2")
    assert.is_true(r.ok)
    assert.are.equal("10.0.0.2", r.dst)
    assert.are.equal(1, r.transmitted)
    assert.are.equal(1, r.received)
    assert.are.equal(0, r.loss)
    assert.are.equal(1, #r.replies)
    assert.are.same({ seq = 1, ttl = 64, from = "10.0.0.2" },
      { seq = r.replies[1].seq, ttl = r.replies[1].ttl, from = r.replies[1].from })
    assert.is_true(r.replies[1].rtt >= 0 and r.replies[1].rtt < 1000)
    assert.are.equal(r.replies[1].rtt, r.rtt.min)
    assert.are.equal(r.rtt.min, r.rtt.max)
    assert.are.equal(0, #r.errors)
    assert.is_nil(r.error)
  end)

  it("reports Network is unreachable as data when there is no route", function()
    local A = T.ns("a")
    local r = A:ping("198.51.100.7", { count = 2, interval = 0.01 })
    assert.is_false(r.ok)
    assert.are.equal(0, r.transmitted)
    assert.are.equal(0, r.received)
    assert.are.equal(100, r.loss)
    assert.is_nil(r.rtt)
    assert.are.equal("Network is unreachable", r.error)
    assert.are.equal(2, #r.errors)
    assert.are.same({ seq = 1, kind = "local", message = "Network is unreachable", code = "ENETUNREACH" },
      r.errors[1])
    assert.are.equal(2, r.errors[2].seq)
    -- Without any IPv6 address the kernel refuses earlier, for want of a source.
    assert.are.equal("Cannot assign requested address", A:ping("2001:db8::7").error)
    local S = segment()
    assert.are.equal("Network is unreachable", S:ping("2001:db8::7").error)
  end)

  it("loses everything across a router that does not forward", function()
    local A = routed()
    local r = A:ping("10.0.2.2", { timeout = 0.3 })
    assert.is_false(r.ok)
    assert.are.equal(1, r.transmitted)
    assert.are.equal(0, r.received)
    assert.are.equal(100, r.loss)
    assert.are.equal(0, #r.errors)
    assert.is_nil(r.error)
  end)

  it("gets TTL 63 across a router that forwards", function()
    local A, _, _, _, rn = routed()
    sysctl(rn, "net.ipv4.ip_forward=1")
    local r = A:ping("10.0.2.2")
    assert.is_true(r.ok, r.error)
    assert.are.equal(63, r.replies[1].ttl)
    assert.are.equal("10.0.2.2", r.replies[1].from)
  end)

  it("reports Destination Net Unreachable from the router that has no route", function()
    local A, _, _, _, rn = routed()
    sysctl(rn, "net.ipv4.ip_forward=1")
    local r = A:ping("198.51.100.7", { timeout = 2 })
    assert.is_false(r.ok)
    assert.are.equal(1, r.transmitted)
    assert.are.equal(100, r.loss)
    assert.is_true(r.errors[1].rtt >= 0)
    r.errors[1].rtt = nil
    assert.are.same({ { seq = 1, kind = "net_unreachable", icmp_type = 3, icmp_code = 0,
                        message = "Destination Net Unreachable", from = "10.0.1.1" } }, r.errors)
    assert.is_nil(r.error)  -- not a local error
  end)

  it("reports Time to live exceeded from the router when ttl=1", function()
    local A, _, _, _, rn = routed()
    sysctl(rn, "net.ipv4.ip_forward=1")
    local r = A:ping("10.0.2.2", { ttl = 1, timeout = 2 })
    assert.is_true(r.errors[1].rtt >= 0)
    r.errors[1].rtt = nil
    assert.are.same({ { seq = 1, kind = "ttl_exceeded", icmp_type = 11, icmp_code = 0,
                        message = "Time to live exceeded", from = "10.0.1.1" } }, r.errors)
    assert.is_true(A:ping("10.0.2.2", { ttl = 2 }).ok)
  end)

  it("pings IPv6 on one segment with hop limit 64", function()
    local A = segment()
    -- The first echo after link-up can wait about a second for neighbour
    -- discovery (iputils' ping shows the same).
    local r = A:ping("fd00::2", { timeout = 3 })
    assert.is_true(r.ok, r.error)
    assert.are.equal(64, r.replies[1].ttl)
    assert.are.equal("fd00::2", r.replies[1].from)
  end)

  it("refuses a link-local destination without dev (Invalid argument), and reaches it with dev", function()
    local A, B, an, bn = segment()
    wire(an, "v1", bn, "v1")
    -- The link-local addresses of both ends of the second link, once DAD is
    -- done with them (A needs its own as the source).
    local function linklocal(ns)
      for _, a in ipairs(ns:addrs { dev = "v1", family = "inet6" }) do
        if a.scope == "link" and not a.tentative then return (a.address:gsub("/%d+$", "")) end
      end
    end
    local ll
    assert.is_true(T.wait_until(function()
      ll = linklocal(B)
      return ll and linklocal(A)
    end, 10))
    local r = A:ping(ll, { timeout = 0.5 })
    assert.is_false(r.ok)
    assert.are.equal(0, r.transmitted)
    assert.are.same({ seq = 1, kind = "local", message = "Invalid argument", code = "EINVAL" }, r.errors[1])
    assert.are.equal("Invalid argument", r.error)
    r = A:ping("ff02::1", { timeout = 0.5 })
    assert.are.equal("EINVAL", r.errors[1] and r.errors[1].code)
    r = A:ping(ll, { dev = "v1", timeout = 3 })
    assert.is_true(r.ok, r.error)
    assert.are.equal(ll, r.replies[1].from)
  end)

  it("sends count echoes at the interval and numbers them from 1", function()
    local A = segment()
    assert.is_true(A:ping("10.0.0.2").ok)
    local t0 = netns.now and netns.now() or os.time()
    local r = A:ping("10.0.0.2", { count = 4, interval = 0.05 })
    local elapsed = (netns.now and netns.now() or os.time()) - t0
    assert.are.equal(4, r.transmitted)
    assert.are.equal(4, r.received)
    local seqs = {}
    for i, p in ipairs(r.replies) do seqs[i] = p.seq end
    assert.are.same({ 1, 2, 3, 4 }, seqs)
    assert.is_true(r.rtt.min <= r.rtt.avg and r.rtt.avg <= r.rtt.max)
    assert.is_true(r.rtt.mdev >= 0)
    if netns.now then assert.is_true(elapsed >= 0.15, "elapsed " .. elapsed) end
  end)

  it("stops at the deadline", function()
    local A = segment()
    local r = A:ping("10.0.0.2", { count = 100, interval = 0.05, deadline = 0.3 })
    assert.is_true(r.transmitted >= 4 and r.transmitted <= 8, "sent " .. r.transmitted)
    assert.are.equal(r.transmitted, r.received)
  end)

  it("uses the source address and the device asked for", function()
    local A, _, an, bn = segment()
    ip(an, "addr add 172.16.9.1/32 dev lo")
    -- B has no route back to 172.16.9.1: its replies go nowhere.
    local r = A:ping("10.0.0.2", { source = "172.16.9.1", timeout = 0.3 })
    assert.are.equal(1, r.transmitted)
    assert.are.equal(0, r.received)
    ip(bn, "route add 172.16.9.1/32 via 10.0.0.1")
    assert.is_true(A:ping("10.0.0.2", { source = "172.16.9.1" }).ok)
    assert.is_true(A:ping("10.0.0.2", { dev = "v0", size = 0 }).ok)
    assert.is_false(A:ping("10.0.0.2", { dev = "lo", timeout = 0.3 }).ok)
  end)

  it("reports a source it does not have and a missing device as data", function()
    local A = segment()
    local r = A:ping("10.0.0.2", { source = "10.0.0.99" })
    assert.is_false(r.ok)
    assert.are.equal(0, r.transmitted)
    assert.are.equal("bind to source 10.0.0.99: Cannot assign requested address", r.error)
    assert.is_nil(r.errors[1].seq)
    r = A:ping("10.0.0.2", { dev = "nope0" })
    assert.are.equal("bind to device nope0: No such device", r.error)
  end)

  it("sends large payloads and counts bytes as ping does", function()
    local A = segment()
    local r = A:ping("10.0.0.2", { size = 4000 })  -- fragmented over MTU 1500
    assert.is_true(r.ok, r.error)
  end)

  describe("refuses bad arguments before sending, naming them:", function()
    local cases = {
      { "10.0.0.256", nil, "#1", "not an IPv4 or IPv6 address" },
      { "10.0.0.2/24", nil, "#1", "prefix length is not allowed" },
      { "", nil, "#1", "empty address" },
      { "10.0.0.2", { count = 0 }, "field 'count'", "out of range (1 to 100000)" },
      { "10.0.0.2", { count = 100001 }, "field 'count'", "out of range" },
      { "10.0.0.2", { count = 1.5 }, "field 'count'", "no integer representation" },
      { "10.0.0.2", { count = "3" }, "field 'count'", "integer expected, got string" },
      { "10.0.0.2", { timeout = 0 }, "field 'timeout'", "out of range" },
      { "10.0.0.2", { timeout = -1 }, "field 'timeout'", "out of range" },
      { "10.0.0.2", { interval = 0.0001 }, "field 'interval'", "out of range" },
      { "10.0.0.2", { deadline = 0 }, "field 'deadline'", "out of range" },
      { "10.0.0.2", { size = -1 }, "field 'size'", "out of range (0 to 65000)" },
      { "10.0.0.2", { size = 65001 }, "field 'size'", "out of range" },
      { "10.0.0.2", { ttl = 0 }, "field 'ttl'", "out of range (1 to 255)" },
      { "10.0.0.2", { ttl = 256 }, "field 'ttl'", "out of range" },
      { "10.0.0.2", { source = "fd00::1" }, "field 'source'", "IPv6 address for an IPv4 destination" },
      { "10.0.0.2", { source = "10.0.0.1/24" }, "field 'source'", "prefix length is not allowed" },
      { "10.0.0.2", { dev = "a-name-too-long-0" }, "field 'dev'", "too long" },
      { "10.0.0.2", { cuont = 3 }, "#2", "unknown option 'cuont'" },
      { "10.0.0.2", "fast", "#2", "options table expected, got string" },
    }
    for _, c in ipairs(cases) do
      it(("%s %s"):format(c[1], c[3]), function()
        local A = T.ns("bad")
        local ok, e = pcall(function() return A:ping(c[1], c[2]) end)
        assert.is_false(ok)
        assert.are.equal("string", type(e))
        assert.matches("bad argument " .. (c[3]:sub(1, 1) == "#" and c[3] or "#2"), e, 1, true)
        assert.matches(c[3], e, 1, true)
        assert.matches(c[4], e, 1, true)
      end)
    end
    it("a number as destination and a closed namespace", function()
      local A = T.ns("bad")
      assert.has_error(function() A:ping(10) end,
        "bad argument #1 to 'ping' (string expected, got number)")
      A:close()
      assert.has_error(function() A:ping("10.0.0.1") end)
    end)
  end)

  it("leaves the fd count flat over 100 pings", function()
    local A = segment()
    assert.is_true(A:ping("10.0.0.2").ok)
    collectgarbage()
    local before = fd_count()
    for _ = 1, 100 do
      assert.is_true(A:ping("10.0.0.2", { timeout = 0.5 }).ok)
    end
    collectgarbage()
    assert.are.equal(before, fd_count())
  end)
end)

describe("netns.ping_many", function()
  after_each(T.cleanup)

  -- Hosts h1..n on a bridge in namespace sw, 10.0.0.i/24; returns handles and names.
  local function star(n)
    local _, sw = T.ns("sw")
    ip(sw, "link add br0 type bridge", "link set br0 up")
    local hosts, names = {}, {}
    for i = 1, n do
      hosts[i], names[i] = T.ns("h" .. i)
      ip(sw, ("link add p%d type veth peer name eth0 netns %s"):format(i, names[i]),
         ("link set p%d master br0 up"):format(i))
      ip(names[i], "link set lo up", ("addr add 10.0.0.%d/24 dev eth0"):format(i), "link set eth0 up")
    end
    return hosts, names
  end

  it("pings a matrix and reports exactly the unreachable pairs", function()
    local hosts, names = star(4)
    -- Host 4's link is down: it has no route to anyone (Network is
    -- unreachable) and nobody gets an answer from it (loss).
    ip(names[4], "link set eth0 down")
    local list = {}
    for i = 1, 4 do
      for j = 1, 4 do
        if i ~= j then list[#list + 1] = { hosts[i], "10.0.0." .. j, i = i, j = j } end
      end
    end
    local res = netns.ping_many(list, { timeout = 0.5 })
    assert.are.equal(#list, #res)
    for k, r in ipairs(res) do
      local i, j = list[k].i, list[k].j
      assert.are.equal("10.0.0." .. j, r.dst)
      if i == 4 then
        assert.is_false(r.ok)
        assert.are.equal("Network is unreachable", r.error)
      elseif j == 4 then
        assert.is_false(r.ok)
        assert.are.equal(1, r.transmitted)
        assert.are.equal(0, r.received)
      else
        assert.is_true(r.ok, ("%d -> %d: %s"):format(i, j, tostring(r.error)))
        assert.are.equal(64, r.replies[1].ttl)
        assert.are.equal("10.0.0." .. j, r.replies[1].from)
      end
    end
  end)

  it("pings a few hundred pairs at once, each matched to its own request", function()
    local hosts = star(12)
    local list = {}
    for rep = 1, 3 do
      for i = 1, 12 do
        for j = 1, 12 do
          if i ~= j then list[#list + 1] = { hosts[i], "10.0.0." .. j } end
        end
      end
    end
    assert.are.equal(396, #list)
    -- Neighbours first (what is tested is the matching, not ARP under
    -- load: in the emulated guest a first burst of 396 could outwait 2 s);
    -- the timeout is a deadline for a failure, not a measure.
    netns.ping_many({ table.unpack(list, 1, 132) }, { timeout = 5 })
    local res = netns.ping_many(list, { timeout = 5 })
    for k, r in ipairs(res) do
      assert.is_true(r.ok, ("pair %d: %s"):format(k, tostring(r.error)))
      assert.are.equal(1, r.received)
      assert.are.equal(0, r.duplicates)
      assert.are.equal(list[k][2], r.replies[1].from)
    end
  end)

  it("takes per-pair options over the common ones, and mixes families", function()
    local A, B = segment()
    assert.is_true(A:ping("fd00::2", { timeout = 3 }).ok)
    local res = netns.ping_many({
      { A, "10.0.0.2" },
      { B, "10.0.0.1", { count = 3, interval = 0.01 } },
      { A, "fd00::2" },
      { B, "198.51.100.1" },
    }, { count = 2, interval = 0.01 })
    assert.are.same({ 2, 3, 2, 0 }, { res[1].received, res[2].received, res[3].received, res[4].received })
    assert.are.equal("Network is unreachable", res[4].error)
    assert.are.same({}, netns.ping_many({}))
  end)

  describe("refuses bad lists before sending, naming the item:", function()
    for _, c in ipairs {
      { function(A) return { { A, "10.0.0.1" }, "x" } end, "#1", "item 2: {ns, dst [, opts]} expected, got string" },
      { function() return { { "ns", "10.0.0.1" } } end, "#1", "item 1: [1]: netns.Namespace expected, got string" },
      { function(A) return { { A } } end, "#1", "item 1: [2]: destination address (string) expected, got nil" },
      { function(A) return { { A, "10.0.0.300" } } end, "#1", "item 1: [2]: '10.0.0.300': not an IPv4 or IPv6 address" },
      { function(A) return { { A, "10.0.0.1" }, { A, "10.0.0.2", { count = 0 } } } end, "#1", "item 2: field 'count': 0 out of range" },
      { function(A) return { { A, "10.0.0.1", { bogus = 1 } } } end, "#1", "item 1: unknown option 'bogus'" },
      { function(A) return { { A, "fd00::1" } }, { source = "10.0.0.1" } end, "#1", "item 1: field 'source': IPv4 address for an IPv6 destination" },
      { function(A) return { { A, "10.0.0.1" } }, { timeout = 99999 } end, "#2", "field 'timeout': 99999.0 out of range" },
    } do
      it(c[3], function()
        local A = T.ns("bad")
        local list, opts = c[1](A)
        local ok, e = pcall(netns.ping_many, list, opts)
        assert.is_false(ok)
        assert.matches("bad argument " .. c[2] .. " to '", e, 1, true)
        assert.matches("ping_many'", e, 1, true)
        assert.matches(c[3], e, 1, true)
      end)
    end
    it("a closed namespace in the list", function()
      local A = T.ns("bad")
      A:close()
      local ok, e = pcall(netns.ping_many, { { A, "10.0.0.1" } })
      assert.is_false(ok)
      assert.matches("item 1: [1]: namespace is closed", e, 1, true)
    end)
  end)
end)
