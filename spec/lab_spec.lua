-- netns.lab: up creates everything in order, a failure in the middle leaves
-- nothing; down (and <close>, and the end of a Lua process) leaves nothing,
-- checked from outside with `ip`. (Descriptions: spec/topo_spec.lua.)
local netns = require "netns"
local lab = require "netns.lab"
local T = require "spec.testlib"


local newlab, here, listed, err_of, esc = T.lab, T.here, T.listed, T.err_of, T.esc
local cleanup = T.cleanup

describe("lab up and down", function()
  after_each(cleanup)

  local function router_lab(extra)
    local l = newlab()
    l:host("ns1", { default = "router", etc = { hosts = true } })
    l:host("ns2", { default = "router" })
    l:router("router")
    l:link("ns1:ns1-veth0 192.0.2.1/24 2001:db8:1::1/64 mac=00:00:5e:00:53:01",
      "router:gw-veth0 192.0.2.254/24 2001:db8:1::fe/64")
    l:link("ns2:ns2-veth0 198.51.100.1/24 2001:db8:2::1/64",
      "router:gw-veth1 198.51.100.254/24 2001:db8:2::fe/64")
    if extra then extra(l) end
    return l
  end

  it("create namespaces, links, addresses, routes, sysctls and /etc files, seen from outside", function()
    local l = router_lab()
    l:up()
    local p = l.prefix
    assert.are.same({ p .. "ns1", p .. "ns2", p .. "router" }, (function()
      local t = listed(p); table.sort(t); return t end)())
    local links = T.ipj("-n", p .. "ns1", "-d", "link", "show")
    local by = {}
    for _, k in ipairs(links) do by[k.ifname] = k end
    assert.are.equal("00:00:5e:00:53:01", by["ns1-veth0"].address)
    assert.matches("^nslab:", by.lo.ifalias)
    assert.truthy(by.lo.flags and table.concat(by.lo.flags, ","):find("UP"))
    local addrs = T.run("ip -n " .. p .. "ns1 addr show dev ns1-veth0")
    assert.matches("inet 192%.0%.2%.1/24 brd 192%.0%.2%.255", addrs)
    assert.matches("inet6 2001:db8:1::1/64 scope global nodad", addrs)
    assert.matches("default via 192%.0%.2%.254", (T.run("ip -n " .. p .. "ns1 route")))
    assert.matches("default via 2001:db8:1::fe", (T.run("ip -n " .. p .. "ns1 -6 route")))
    assert.are.equal("1\n", (T.run("ip netns exec " .. p .. "router sysctl -n net.ipv4.ip_forward")))
    assert.are.equal("1\n", (T.run("ip netns exec " .. p .. "router sysctl -n net.ipv6.conf.all.forwarding")))
    local hosts = T.run("ip netns exec " .. p .. "ns1 cat /etc/hosts")
    assert.matches("198%.51%.100%.1\tns2", hosts)
    assert.is_true(l.nodes.ns1:ping("198.51.100.1", { count = 3, interval = 0.2, timeout = 3 }).ok)
    assert.is_true(l.nodes.ns1:ping("2001:db8:2::1", { count = 3, interval = 0.2, timeout = 3 }).ok)
    l:down()
    assert.are.same({}, listed(p))
    assert.is_nil(io.open("/etc/netns/" .. p .. "ns1/hosts"))
    assert.is_nil(io.open(l.journal.path))
  end)

  it("put each switch's bridge in a namespace of its own, with the ports enslaved", function()
    local l = newlab()
    l:switch("bridge", { bridge = "br0" })
    for i = 1, 3 do
      l:host("ns" .. i)
      l:link(("ns%d 192.0.2.%d/24"):format(i, i), "bridge")
    end
    local t0 = netns.now()
    l:up()
    local took = netns.now() - t0
    local ports = T.ipj("-n", l.prefix .. "bridge", "link", "show", "master", "br0")
    assert.are.equal(3, #ports)
    -- Each step of up, timed, in the order they ran.
    local steps, sum = {}, 0
    for _, t in ipairs(l.timings) do
      steps[#steps + 1] = t.step
      assert.is_true(t.seconds >= 0, t.step)
      sum = sum + t.seconds
    end
    assert.are.same({ "namespaces", "bridges", "links", "addresses", "carrier" }, steps)
    assert.is_true(sum <= took, ("%g > %g"):format(sum, took))
    assert.is_true(l.nodes.ns1:ping("192.0.2.3", { count = 3, interval = 0.2, timeout = 3 }).ok)
    l:down()
    assert.are.same({}, listed(l.prefix))
  end)

  it("bring up a lab addressed from the pool, reachable over IPv4 and IPv6", function()
    local l = newlab { pool = { ipv4 = "10.30.0.0/16", ipv6 = "fd00:30::/48" } }
    l:host("ns1", { default = "r" }); l:router("r"); l:host("ns2", { default = "r" })
    l:link("ns1", "r"); l:link("ns2", "r")
    l:up()
    local opts = { count = 3, interval = 0.2, timeout = 3 }
    assert.is_true(l.nodes.ns1:ping(l:address("ns2"), opts).ok)
    assert.is_true(l.nodes.ns1:ping(l:address("ns2", "inet6"), opts).ok)
    assert.matches("inet6 fd00:30:0:1::1/64", (T.run("ip -n " .. l.prefix .. "ns2 addr show")))
    l:down()
  end)

  it("put a switch at a router: the bridge carries the router's address", function()
    local l = newlab()
    l:router("router")
    l:switch("lan", { at = "router", bridge = "br-lan", addrs = "192.0.2.254/24" })
    l:host("ns1", { default = "router" })
    l:link("ns1 192.0.2.1/24", "lan")
    l:up()
    assert.are.equal(1, #listed(l.prefix .. "router"))
    assert.are.same({}, listed(l.prefix .. "lan"))
    assert.is_true(l.nodes.ns1:ping("192.0.2.254", { count = 3, interval = 0.2, timeout = 3 }).ok)
    l:down()
  end)

  it("remove everything when a step fails in the middle, naming the step and the line", function()
    local l = router_lab(function(x)
      x:sysctl("ns2", "net.ipv4.conf.nosuchdev.forwarding", 1)
    end)
    local line = here() - 2
    local msg, e = err_of(l.up, l)
    assert.matches(":" .. line .. ": lab '.*': up failed at step 'sysctls'", msg)
    assert.matches("ENOENT", msg)
    assert.matches("everything it had created was removed", msg)
    assert.are.equal("sysctls", e.step)
    assert.are.same({}, listed(l.prefix))
    assert.is_nil(io.open(l.journal.path))
    assert.is_nil(io.open("/etc/netns/" .. l.prefix .. "ns1/hosts"))
  end)

  it("remove everything when the kernel refuses a route declared last", function()
    local l = router_lab(function(x)
      x:route("ns2", "203.0.113.0/24 via 198.51.100.254")
      x:route("ns2", "203.0.113.0/24 via 198.51.100.254")
    end)
    local line = here() - 2
    local msg, e = err_of(l.up, l)
    assert.matches(":" .. line .. ": lab '.*': up failed at step 'routes'", msg)
    assert.are.equal("EEXIST", e.code)
    assert.are.same({}, listed(l.prefix))
  end)

  it("come up with an IPv4-only host whose default gateway by name is dual-stack", function()
    local l = newlab()
    l:host("v4", { default = "r" })
    l:router("r")
    l:host("ds", { default = "r" })
    l:link("v4:v4-veth0 192.0.2.1/24", "r:gw-veth0 192.0.2.254/24 2001:db8:1::fe/64")
    l:link("ds:ds-veth0 198.51.100.1/24 2001:db8:2::1/64", "r:gw-veth1 198.51.100.254/24 2001:db8:2::fe/64")
    l:up()
    local v6 = T.ipj("-n", l.nodes.v4.nsname, "-6", "route", "show", "default")
    assert.are.same({}, v6)
    assert.are.equal("192.0.2.254", T.ipj("-n", l.nodes.v4.nsname, "route", "show", "default")[1].gateway)
    assert.are.equal("2001:db8:2::fe", T.ipj("-n", l.nodes.ds.nsname, "-6", "route", "show", "default")[1].gateway)
    assert.is_true(l.nodes.v4:ping("198.51.100.1", { timeout = 3 }).ok)
  end)

  it("refuse a name that exists and is not the lab's, and never delete it", function()
    local l = router_lab()
    local theirs = l.prefix .. "ns2"
    T.track(theirs)
    assert.is_true(select(2, T.run("ip netns add " .. theirs)))
    local msg = err_of(l.up, l)
    assert.matches("namespace '" .. esc(theirs) .. "' %(node 'ns2'%) already exists and is not this lab's", msg)
    assert.are.same({ theirs }, listed(l.prefix))
  end)

  it("refuse an /etc/netns directory not of the lab, also for a node that declares no files", function()
    local l = router_lab()
    local dir = "/etc/netns/" .. l.prefix .. "ns2"
    netns.mkdir("/etc/netns")
    netns.mkdir(dir)
    local f = assert(io.open(dir .. "/hosts", "w"))
    f:write("203.0.113.9 foreign\n")
    f:close()
    local ok, msg = pcall(l.up, l)
    os.remove(dir .. "/hosts")
    netns.rmdir(dir)
    assert.is_false(ok)
    assert.matches(esc(dir) .. " %(node 'ns2'%) already exists and is not this lab's", tostring(msg))
    assert.are.same({}, listed(l.prefix))
  end)

  it("come up and go down three times in a row, and a new lab with the same names at once", function()
    local l = router_lab()
    for _ = 1, 3 do
      l:up()
      assert.are.equal(3, #listed(l.prefix))
      assert.is_true(l.nodes.ns1:ping("198.51.100.1", { count = 3, interval = 0.2, timeout = 3 }).ok)
      l:down()
      assert.are.same({}, listed(l.prefix))
    end
    local again = lab.new { prefix = l.prefix }
    T.track_lab(again)
    again:host("ns1"); again:host("router")
    again:link("ns1:ns1-veth0 192.0.2.1/24", "router:gw-veth0 192.0.2.254/24")
    again:up()
    again:down()
    assert.are.same({}, listed(l.prefix))
  end)

  it("go down at the end of a <close> block, also when an error unwinds it", function()
    local prefix
    do
      local l <close> = router_lab()
      l:up()
      prefix = l.prefix
      assert.are.equal(3, #listed(prefix))
    end
    assert.are.same({}, listed(prefix))
    local ok = pcall(function()
      local l <close> = router_lab()
      l:up()
      prefix = l.prefix
      error("scenario failed")
    end)
    assert.is_false(ok)
    assert.are.same({}, listed(prefix))
  end)

  it("kill the lab's processes on down", function()
    local l = router_lab()
    l:up()
    local p = l.nodes.ns1:spawn({ "sleep", "60" })
    local pid = p.pid
    l:down()
    assert.are.same({}, listed(l.prefix))
    assert.is_true(T.wait_until(function() return not io.open("/proc/" .. pid .. "/stat") or not p:running() end, 5))
    p:close()
  end)

  it("apply routes and sysctls declared on a lab that is up (a staged scenario)", function()
    local l = newlab()
    l:host("ns1"); l:host("ns2"); l:router("router", { forwarding = false })
    l:link("ns1 192.0.2.1/24", "router 192.0.2.254/24")
    l:link("ns2 198.51.100.1/24", "router 198.51.100.254/24")
    l:up()
    local r = l.nodes.ns1:ping("198.51.100.1", { count = 1, timeout = 1 })
    assert.is_false(r.ok)
    l:default("ns1", "router"); l:default("ns2", "router")
    assert.is_false(l.nodes.ns1:ping("198.51.100.1", { count = 1, timeout = 1 }).ok)
    l:forwarding("router", true)
    r = l.nodes.ns1:ping("198.51.100.1", { count = 3, interval = 0.2, timeout = 3 })
    assert.is_true(r.ok)
    assert.are.equal(63, r.replies[1].ttl)
    local msg = err_of(function() l:route("ns1", "10.9.0.0/16 via 203.0.113.9") end) local line = here()
    assert.matches(":" .. line .. ": route on 'ns1': gateway", msg)
    l:down()
  end)

  it("are torn down by the state's close when a plain Lua script forgets", function()
    local prefix = T.name("G") .. "-"
    local script = os.tmpname()
    local f = assert(io.open(script, "w"))
    f:write(([[
      local lab = require "netns.lab"
      local l = lab.new { prefix = %q }
      l:host("a"); l:host("b")
      l:link("a 192.0.2.1/24", "b 192.0.2.2/24")
      l:up()
      io.write(#require("netns").list() > 0 and "up\n" or "none\n")
    ]]):format(prefix))
    f:close()
    T.track(prefix .. "a"); T.track(prefix .. "b")
    local out, ok = T.run("lua5.4 " .. script)
    os.remove(script)
    assert.is_true(ok, out)
    assert.are.equal("up\n", out)
    assert.are.same({}, listed(prefix))
  end)
end)
