-- netns.trace: each operation shows the iproute2/sysctl command that does the
-- same, before it runs; the commands are exact (run through a shell they
-- build the same thing); disable() restores the module untouched.
local netns = require "netns"
local trace = require "netns.trace"
local T = require "spec.testlib"

local function collect()
  local lines = {}
  return lines, function(l) lines[#lines + 1] = l end
end

describe("netns.trace", function()
  after_each(function()
    trace.disable()
    T.cleanup()
  end)

  it("shows the book's commands for a small lab, in order, as it is built", function()
    local lines, out = collect()
    local n1, n2, nr = T.name("ns1"), T.name("ns2"), T.name("router")
    T.track(n1); T.track(n2); T.track(nr)
    trace.enable(out, { queries = false })
    local ns1, router = netns.create(n1), netns.create(nr)
    ns1:link_add{ name = "ns1-veth0", kind = "veth", mac = "00:00:5e:00:53:11", up = true,
                  peer = { name = "gw-veth0", ns = router, up = true } }
    ns1:addr_add("ns1-veth0", "192.0.2.1/24")
    router:addr_add("gw-veth0", "192.0.2.254/24")
    router:addr_add("gw-veth0", "2001:db8::254/64", { nodad = true })
    ns1:route_add{ dst = "default", via = "192.0.2.254" }
    ns1:route_add{ dst = "198.51.100.0/24", via = "192.0.2.254", dev = "ns1-veth0", metric = 10, table = 100 }
    router:sysctl_set("net.ipv4.ip_forward", 1)
    router:sysctl_set("net.ipv6.conf.all.forwarding", true)
    router:link_add{ name = "br0", kind = "bridge", up = true }
    router:link_add{ name = "p0", kind = "veth", queues = 2, peer = { name = "p1" } }
    router:link_set("p0", { master = "br0", up = true })
    ns1:neigh_add{ dev = "ns1-veth0", address = "192.0.2.254", mac = "00:00:5e:00:53:fe" }
    local ns2 = netns.create(n2)
    ns2:delete()
    trace.disable()
    assert.same({
      "ip netns add " .. n1,
      "ip netns add " .. nr,
      ("ip -n %s link add ns1-veth0 address 00:00:5e:00:53:11 type veth peer name gw-veth0 netns %s"):format(n1, nr),
      ("ip -n %s link set ns1-veth0 up"):format(n1),
      ("ip -n %s link set gw-veth0 up"):format(nr),
      ("ip -n %s addr add 192.0.2.1/24 brd + dev ns1-veth0"):format(n1),
      ("ip -n %s addr add 192.0.2.254/24 brd + dev gw-veth0"):format(nr),
      ("ip -n %s addr add 2001:db8::254/64 dev gw-veth0 nodad"):format(nr),
      ("ip -n %s route add default via 192.0.2.254"):format(n1),
      ("ip -n %s route add 198.51.100.0/24 via 192.0.2.254 dev ns1-veth0 metric 10 table 100"):format(n1),
      ("ip netns exec %s sysctl -w net.ipv4.ip_forward=1"):format(nr),
      ("ip netns exec %s sysctl -w net.ipv6.conf.all.forwarding=1"):format(nr),
      ("ip -n %s link add br0 type bridge"):format(nr),
      ("ip -n %s link set br0 up"):format(nr),
      ("ip -n %s link add p0 numtxqueues 2 numrxqueues 2 type veth peer name p1 numtxqueues 2 numrxqueues 2"):format(nr),
      ("ip -n %s link set dev p0 master br0 up"):format(nr),
      ("ip -n %s neigh add 192.0.2.254 lladdr 00:00:5e:00:53:fe dev ns1-veth0 nud permanent"):format(n1),
      "ip netns add " .. n2,
      "ip netns delete " .. n2,
    }, lines)
  end)

  it("prints commands that build the same thing when a shell runs them", function()
    local lines, out = collect()
    local a, b = T.name("a"), T.name("b")
    T.track(a); T.track(b)
    -- trace a build, then tear it down and replay the trace through sh
    trace.enable(out, { queries = false })
    local na, nb = netns.create(a, { mark = "nslab:trace-spec" }), netns.create(b)
    na:link_add{ name = "a-eth0", kind = "veth", mtu = 1400, up = true,
                 peer = { name = "b-eth0", ns = nb, mac = "00:00:5e:00:53:02", up = true } }
    na:addr_add("a-eth0", "192.0.2.1/24")
    na:route_add{ dst = "198.51.100.0/24", via = "192.0.2.2" }
    nb:sysctl_set("net.ipv4.ip_forward", 1)
    nb:link_add{ name = "br0", kind = "bridge", mcast_snooping = false, stp = true, ageing_time = 42 }
    trace.disable()
    na:close(); nb:close()
    netns.delete(a); netns.delete(b)
    for _, l in ipairs(lines) do
      local o, ok = T.run(l)
      assert(ok, l .. ": " .. o)
    end
    -- The kernel sets the operstate a moment after the link is up: wait for it.
    local l
    T.wait_until(function()
      l = T.ipj("-n", b, "link", "show", "b-eth0")[1]
      return l.operstate == "UP"
    end, 10)
    assert.equal("00:00:5e:00:53:02", l.address)
    assert.equal("UP", l.operstate)
    assert.equal(1400, T.ipj("-n", a, "link", "show", "a-eth0")[1].mtu)
    local addrs = T.ipj("-n", a, "addr", "show", "a-eth0")[1].addr_info
    assert.equal("192.0.2.1", addrs[1]["local"])
    assert.equal("192.0.2.255", addrs[1].broadcast)
    local out2 = T.run(("ip -n %s route show 198.51.100.0/24"):format(a))
    assert.truthy(out2:find("via 192.0.2.2 dev a-eth0", 1, true), out2)
    assert.equal("1\n", (T.run(("ip netns exec %s sysctl -n net.ipv4.ip_forward"):format(b))))
    local br = T.ipj("-d", "-n", b, "link", "show", "br0")[1].linkinfo.info_data
    assert.same({ 0, 1, 4200 }, { br.mcast_snooping, br.stp_state, br.ageing_time })
    assert.equal("nslab:trace-spec", T.ipj("-n", a, "link", "show", "lo")[1].ifalias)
  end)

  it("shows queries as show commands unless asked not to", function()
    local lines, out = collect()
    local ns, name = T.ns("q")
    trace.enable(out)
    ns:addrs{ dev = "lo" }
    ns:routes{ family = "inet6" }
    ns:sysctl_get("net.ipv4.ip_forward")
    ns:neighs()
    trace.enable(out, { queries = false })  -- enabling again only changes options
    ns:links()
    assert.same({
      ("ip -n %s addr show dev lo"):format(name),
      ("ip -n %s -6 route show"):format(name),
      ("ip netns exec %s sysctl -n net.ipv4.ip_forward"):format(name),
      ("ip -n %s neigh show"):format(name),
    }, lines)
  end)

  it("marks an operation that failed, and the error is the operation's own", function()
    local lines, out = collect()
    local ns, name = T.ns("f")
    trace.enable(out)
    local ok, e = pcall(ns.route_add, ns, { dst = "198.51.100.0/24", via = "203.0.113.1" })
    assert.is_false(ok)
    assert.equal("ENETUNREACH", e.code)
    assert.equal(("ip -n %s route add 198.51.100.0/24 via 203.0.113.1"):format(name), lines[1])
    assert.truthy(lines[2]:find("^# failed: .*Network is unreachable"), lines[2])
    -- after a failure the method is still traced
    ns:addrs()
    assert.equal(("ip -n %s addr show"):format(name), lines[3])
  end)

  it("leaves argument errors exactly as without tracing", function()
    local ns = T.ns("e")
    local function err(f) local _, e = pcall(f); return tostring(e) end
    local function bad1() ns:addr_add("lo", "10.0.0.1/33") end
    local function bad2() netns.create(("x"):rep(300)) end
    local function bad3() ns:route_add{ dst = "198.51.100.0/24", via = "203.0.113.1" } end
    local plain, plain2, plain3 = err(bad1), err(bad2), err(bad3)
    trace.enable(function() end)
    assert.equal(plain, err(bad1))
    assert.equal(plain2, err(bad2))
    assert.equal(plain3, err(bad3))
    assert.truthy(plain3:find("^spec/trace_spec.lua:%d+: add route"), plain3)
    assert.truthy(plain:find("bad argument #2 to 'addr_add'", 1, true), plain)
  end)

  it("traces methods through the method hook, leaving netns.Namespace as it is, and restores the module on disable", function()
    local ns = T.ns("h")
    local before_m, before_f = {}, {}
    for k, v in pairs(netns.Namespace) do before_m[k] = v end
    for k, v in pairs(netns) do before_f[k] = v end
    trace.enable(function() end)
    assert.is_true(trace.enabled())
    assert.are.equal(before_m.addr_add, netns.Namespace.addr_add)
    assert.are_not.equal(before_m.addr_add, ns.addr_add)
    assert.are.equal(ns.addr_add, netns.method("addr_add"))
    assert.are_not.equal(before_f.create, netns.create)
    trace.disable()
    assert.are.equal(before_m.addr_add, ns.addr_add)
    assert.is_false(trace.enabled())
    for k, v in pairs(before_m) do assert.equal(v, netns.Namespace[k], k) end
    for k, v in pairs(before_f) do assert.equal(v, netns[k], k) end
  end)

  it("writes lines to a file, stderr by default", function()
    local path = os.tmpname()
    local f = assert(io.open(path, "w"))
    local ns, name = T.ns("w")
    trace.enable(f)
    ns:link_add{ name = "br0", kind = "bridge" }
    trace.disable()
    f:close()
    f = assert(io.open(path))
    assert.equal(("ip -n %s link add br0 type bridge\n"):format(name), f:read("a"))
    f:close()
    os.remove(path)
  end)

  describe("commands for operations", function()
    local ns, name
    before_each(function() ns, name = T.ns("c") end)

    it("ping and ping_many as ping -c N", function()
      assert.equal(("ip netns exec %s ping -c 1 192.0.2.2"):format(name),
        trace.command("ping", ns, "192.0.2.2"))
      assert.equal(("ip netns exec %s ping -c 3 -i 0.2 -W 2 -t 5 -I 192.0.2.1 2001:db8::2"):format(name),
        trace.command("ping", ns, "2001:db8::2", { count = 3, interval = 0.2, timeout = 2, ttl = 5, source = "192.0.2.1" }))
      assert.equal(("# 2 pings at once (netns.ping_many), each as:\n" ..
        "ip netns exec %s ping -c 1 -W 0.5 192.0.2.2\nip netns exec %s ping -c 2 -W 0.5 192.0.2.3"):format(name, name),
        trace.command("ping_many", { { ns, "192.0.2.2" }, { ns, "192.0.2.3", { count = 2 } } }, { timeout = 0.5 }))
    end)

    it("exec with the input it is fed as a here-document", function()
      assert.equal(("ip netns exec %s nft -f - <<'EOF'\nflush ruleset\nEOF"):format(name),
        trace.command("exec", ns, { "nft", "-f", "-" }, { stdin = "flush ruleset" }))
      assert.equal(("ip netns exec %s cat <<'EOF_'\nEOF\nEOF_"):format(name),
        trace.command("exec", ns, { "cat" }, { stdin = "EOF\n" }))
      assert.equal(("ip netns exec %s true"):format(name), trace.command("exec", ns, { "true" }))
    end)

    it("links of every kind", function()
      assert.equal(("ip -n %s link add v10 link eth0 type vlan id 10"):format(name),
        trace.command("link_add", ns, { name = "v10", kind = "vlan", link = "eth0", id = 10 }))
      assert.equal(("ip -n %s link add mv0 link eth0 type macvlan mode bridge"):format(name),
        trace.command("link_add", ns, { name = "mv0", kind = "macvlan", link = "eth0", mode = "bridge" }))
      assert.equal(("ip -n %s link add vx0 type vxlan id 42 remote 192.0.2.2 local 192.0.2.1 dev eth0 dstport 4789"):format(name),
        trace.command("link_add", ns, { name = "vx0", kind = "vxlan", id = 42, remote = "192.0.2.2",
                                         ["local"] = "192.0.2.1", dev = "eth0" }))
      assert.equal(("ip -n %s link set dev eth0 name wan0 mtu 1400 nomaster down"):format(name),
        trace.command("link_set", ns, "eth0", { name = "wan0", mtu = 1400, master = false, up = false }))
      assert.equal(("ip -n %s link del eth0"):format(name), trace.command("link_del", ns, "eth0"))
    end)

    it("bridges with every option they are made with, in ip's names and units", function()
      assert.equal(("ip -n %s link add br0 type bridge mcast_snooping 0 stp_state 1 ageing_time 1050"):format(name),
        trace.command("link_add", ns, { name = "br0", kind = "bridge", mcast_snooping = false, stp = true,
                                         ageing_time = 10.5 }))
      assert.equal(("ip -n %s link add br1 type bridge mcast_snooping 1 stp_state 0 ageing_time 0"):format(name),
        trace.command("link_add", ns, { name = "br1", kind = "bridge", mcast_snooping = true, stp = false,
                                         ageing_time = 0 }))
    end)

    it("a namespace with a mark, and the alias the mark puts on its lo", function()
      assert.equal("ip netns add x\nip -n x link set dev lo alias nslab:lab-1-2",
        trace.command("create", "x", { mark = "nslab:lab-1-2" }))
    end)

    it("routes of other types and families, neighbours, fdb, exec", function()
      assert.equal(("ip -n %s route add blackhole 10.0.0.0/8"):format(name),
        trace.command("route_add", ns, { dst = "10.0.0.0/8", type = "blackhole" }))
      assert.equal(("ip -n %s -6 route add default dev eth0"):format(name),
        trace.command("route_add", ns, { dst = "default", family = "inet6", dev = "eth0" }))
      assert.equal(("ip -n %s route replace default via 2001:db8::1"):format(name),
        trace.command("route_replace", ns, { dst = "default", via = "2001:db8::1" }))
      assert.equal(("ip -n %s route del 198.51.100.0/24"):format(name),
        trace.command("route_del", ns, { dst = "198.51.100.0/24" }))
      assert.equal(("ip -n %s neigh flush all"):format(name), trace.command("neigh_flush", ns))
      assert.equal(("ip -n %s -4 neigh flush dev eth0"):format(name),
        trace.command("neigh_flush", ns, { dev = "eth0", family = "inet" }))
      assert.equal(("ip -n %s neigh del 192.0.2.2 dev eth0"):format(name),
        trace.command("neigh_del", ns, { dev = "eth0", address = "192.0.2.2" }))
      assert.equal(("bridge -n %s fdb show dev eth0"):format(name), trace.command("fdb", ns, { dev = "eth0" }))
      assert.equal(("bridge -n %s fdb replace 02:00:5e:00:53:01 dev p1 master dynamic"):format(name),
        trace.command("fdb_add", ns, { dev = "p1", mac = "02:00:5e:00:53:01" }))
      assert.equal(("ip netns exec %s sh -c 'echo it'\\''s'"):format(name),
        trace.command("exec", ns, { "sh", "-c", "echo it's" }))
      assert.equal(("ip -n %s addr add 192.0.2.1/24 brd 192.0.2.127 dev eth0 label eth0:1"):format(name),
        trace.command("addr_add", ns, "eth0", "192.0.2.1/24", { broadcast = "192.0.2.127", label = "eth0:1" }))
      assert.equal(("ip -n %s addr add 192.0.2.1/24 dev eth0"):format(name),
        trace.command("addr_add", ns, "eth0", "192.0.2.1/24", { broadcast = false }))
    end)

    it("reaches an unnamed namespace through nsenter", function()
      local byp = netns.open_pid(T.pid)
      assert.equal(("nsenter -t %d -n ip link del x"):format(T.pid), trace.command("link_del", byp, "x"))
      byp:close()
    end)
  end)
end)
