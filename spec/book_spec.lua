-- The examples as the book builds them (its author's scripts/*.sh and the
-- commands of its chapters): a lab left up with --keep has the book's MAC
-- plan, routes and NAT rules, and the book's next commands make sense on it.
local T = require "spec.testlib"
local S = require "spec.labstate"

local NSLAB = os.getenv("NSLAB") or "build/nslab"

local run = S.run

local serial = 0

-- Runs an example with --keep and returns the prefix of its namespaces (or
-- nil when a tool it needs is missing); `nslab clean` removes the lab after
-- the test, whatever happened (the only finally of a test: busted keeps
-- only the last one registered).
local function keep(file)
  serial = serial + 1
  local prefix = ("%sbk%d-"):format(T.prefix, serial)
  finally(function() run(NSLAB .. " clean") end)
  local out, code = run(("%s --no-color --keep --prefix %s %s"):format(NSLAB, prefix, file))
  if code == 77 then
    pending(file .. " skipped: a tool is missing: " .. out)
    return nil, out
  end
  assert.are.equal(0, code, file .. " exited " .. tostring(code) .. ":\n" .. out)
  return prefix, out
end

local function mac(prefix, node, dev)
  return T.ipj("-n", prefix .. node, "link", "show", "dev", dev)[1].address
end

describe("the book's labs, left up with --keep", function()
  after_each(T.cleanup)

  for _, file in ipairs { "examples/router.lua", "examples/mac_rewrite.lua" } do
    it(file .. " has the MACs of the book's chapter 4: ns1 :11, gw-veth0 :12, gw-veth1 :21, ns2 :22", function()
      local p = keep(file)
      if not p then return end
      assert.same({ "00:00:5e:00:53:11", "00:00:5e:00:53:12", "00:00:5e:00:53:21", "00:00:5e:00:53:22" },
        { mac(p, "ns1", "ns1-veth0"), mac(p, "router", "gw-veth0"), mac(p, "router", "gw-veth1"),
          mac(p, "ns2", "ns2-veth0") })
    end)
  end

  it("nat.lua has the book's routes and iptables rules, and the book's iptables commands work on it", function()
    local p = keep("examples/nat.lua")
    if not p then return end
    local router = p .. "router"
    local wan = T.ipj("-n", p .. "wan", "route", "show", "default")
    assert.same({ { dst = "default", gateway = "203.0.113.254", dev = "wan-veth0", flags = {} } }, wan)
    -- The rules exactly as the book adds them (the DNAT rule as broad as the book's).
    local rules, ok = T.run(("ip netns exec %s iptables -t nat -S"):format(router))
    assert.is_true(ok, rules)
    local added = {}
    for l in rules:gmatch("[^\n]+") do
      if l:find("^%-A ") then added[#added + 1] = l end
    end
    assert.same({
      "-A PREROUTING -d 203.0.113.254/32 -p tcp -m tcp --dport 54321 -j DNAT --to-destination 192.0.2.1",
      "-A POSTROUTING -s 192.0.2.0/24 -o gw-veth1 -j MASQUERADE",
    }, added)
    local list, lok = T.run(("ip netns exec %s iptables -t nat -L -n"):format(router))
    assert.is_true(lok, list)
    assert.is_nil(list:find("incompatible", 1, true), list)
    assert.truthy(list:find("MASQUERADE%s+%S+%s+%-%-%s+192%.0%.2%.0/24"), list)
    -- The book's own command adds to the same chain, not to a second one.
    local out, aok = T.run(("ip netns exec %s iptables -t nat -A POSTROUTING -s 192.0.2.0/24 -o gw-veth1 -j MASQUERADE")
      :format(router))
    assert.is_true(aok, out)
    local ruleset = T.run(("ip netns exec %s nft list ruleset"):format(router))
    local _, chains = ruleset:gsub("hook postrouting", "")
    assert.equal(1, chains, ruleset)
  end)

  it("dhcp.lua sets the lease as dhclient-script does and releases it: the kept client is as the book's dhcp.sh leaves it",
    function()
      local p, out = keep("examples/dhcp.lua")
      if not p then return end
      assert.truthy(out:find("PASS  the lease is set as dhclient-script sets it: broadcast 192.0.2.255, dynamic", 1, true), out)
      assert.truthy(out:find("PASS  dnsmasq logged the DHCPRELEASE", 1, true), out)
      local client = T.ipj("-n", p .. "client", "addr", "show", "dev", "c-veth0")[1]
      local v4 = {}
      for _, a in ipairs(client.addr_info) do
        if a.family == "inet" then v4[#v4 + 1] = a["local"] end
      end
      assert.same({}, v4)
      assert.equal("UP", client.operstate)
      assert.same({}, T.ipj("-n", p .. "client", "-4", "route", "show"))
      assert.equal("00:00:5e:00:53:02", mac(p, "client", "c-veth0"))
      local server = T.ipj("-n", p .. "server", "-4", "addr", "show", "dev", "s-veth0")[1].addr_info
      assert.same({ "192.0.2.254", 24 }, { server[1]["local"], server[1].prefixlen })
    end)
end)

-- The book's double-segment.sh and bridge.sh, command by command, except
-- that each veth is made with its ends already in their namespaces (the
-- book makes it in the host's namespace and moves the ends; a spec never
-- touches the host's interfaces). The MACs are set after the links are up,
-- as the book does.
local BOOK = {
  ["examples/router.lua"] = [[
ip netns add PFXns1
ip netns add PFXrouter
ip netns add PFXns2
ip -n PFXns1 link add ns1-veth0 type veth peer name gw-veth0 netns PFXrouter
ip -n PFXns2 link add ns2-veth0 type veth peer name gw-veth1 netns PFXrouter
ip netns exec PFXns1 ip link set ns1-veth0 up
ip netns exec PFXrouter ip link set gw-veth0 up
ip netns exec PFXrouter ip link set gw-veth1 up
ip netns exec PFXns2 ip link set ns2-veth0 up
ip netns exec PFXns1 ip address add 192.0.2.1/24 dev ns1-veth0
ip netns exec PFXrouter ip address add 192.0.2.254/24 dev gw-veth0
ip netns exec PFXrouter ip address add 198.51.100.254/24 dev gw-veth1
ip netns exec PFXns2 ip address add 198.51.100.1/24 dev ns2-veth0
ip netns exec PFXns1 ip route add default via 192.0.2.254
ip netns exec PFXns2 ip route add default via 198.51.100.254
ip netns exec PFXrouter sysctl -q net.ipv4.ip_forward=1
ip netns exec PFXns1 ip link set dev ns1-veth0 address 00:00:5E:00:53:11
ip netns exec PFXrouter ip link set dev gw-veth0 address 00:00:5E:00:53:12
ip netns exec PFXrouter ip link set dev gw-veth1 address 00:00:5E:00:53:21
ip netns exec PFXns2 ip link set dev ns2-veth0 address 00:00:5E:00:53:22
]],
  ["examples/bridge.lua"] = [[
ip netns add PFXns1
ip netns add PFXns2
ip netns add PFXns3
ip netns add PFXbridge
ip -n PFXns1 link add ns1-veth0 type veth peer name ns1-br0 netns PFXbridge
ip -n PFXns2 link add ns2-veth0 type veth peer name ns2-br0 netns PFXbridge
ip -n PFXns3 link add ns3-veth0 type veth peer name ns3-br0 netns PFXbridge
ip netns exec PFXns1 ip link set ns1-veth0 up
ip netns exec PFXns2 ip link set ns2-veth0 up
ip netns exec PFXns3 ip link set ns3-veth0 up
ip netns exec PFXbridge ip link set ns1-br0 up
ip netns exec PFXbridge ip link set ns2-br0 up
ip netns exec PFXbridge ip link set ns3-br0 up
ip netns exec PFXns1 ip address add 192.0.2.1/24 dev ns1-veth0
ip netns exec PFXns2 ip address add 192.0.2.2/24 dev ns2-veth0
ip netns exec PFXns3 ip address add 192.0.2.3/24 dev ns3-veth0
ip netns exec PFXns1 ip link set dev ns1-veth0 address 00:00:5E:00:53:01
ip netns exec PFXns2 ip link set dev ns2-veth0 address 00:00:5E:00:53:02
ip netns exec PFXns3 ip link set dev ns3-veth0 address 00:00:5E:00:53:03
ip netns exec PFXbridge ip link add dev br0 type bridge
ip netns exec PFXbridge ip link set br0 up
ip netns exec PFXbridge ip link set ns1-br0 master br0
ip netns exec PFXbridge ip link set ns2-br0 master br0
ip netns exec PFXbridge ip link set ns3-br0 master br0
]],
}

-- Each difference doc/examples.md lists ("Differences from the book"): the
-- words of its row, and how it shows in a state line (labstate's form
-- "<node> <what> ..."): the line rewritten so both labs agree, false to
-- leave the line out, or the line itself where it is not concerned.
local function sub(line, pat, rep) return (line:gsub(pat, rep)) end
local DIFFERENCES = {
  { doc = "`lo` is up in every namespace of a lab, with `127.0.0.1/8` and `::1`", mask = function(l)
    if l:find("^%S+ link lo ") and not l:find(" ifalias=") then return false end
    if l:find("^%S+ addr lo ") or l:find("^%S+ route .*dev=lo[ }]") or l:find("^%S+ qdisc .*dev=lo[ }]") then
      return false
    end
    return l
  end },
  { doc = "`ip link show lo` has a line `alias nslab:", mask = function(l)
    if l:find("^%S+ link lo ifalias=nslab:") then return false end
    return l
  end },
  { doc = "every IPv4 address has a broadcast address", mask = function(l)
    if l:find("^%S+ addr ") and l:find("family=inet ", 1, true) then return sub(l, "broadcast=%S+ ", "") end
    return l
  end },
  { doc = "`net.ipv6.conf.default.accept_dad = 0`", mask = function(l)
    -- with DAD, a new address is tentative for a second or more
    if l:find("^%S+ addr ") then return sub(l, "tentative=true ", "") end
    return sub(l, "^(%S+ sysctl net%.ipv6%.conf%.%S+%.accept_dad) = %d+$", "%1 = ?")
  end },
  { doc = "`net.ipv4.icmp_ratemask = 0` and `net.ipv6.icmp.ratelimit = 0`", mask = function(l)
    l = sub(l, "^(%S+ sysctl net%.ipv4%.icmp_ratemask) = %d+$", "%1 = ?")
    return sub(l, "^(%S+ sysctl net%.ipv6%.icmp%.ratelimit) = %d+$", "%1 = ?")
  end },
  { doc = "routers have `net.ipv6.conf.all.forwarding = 1`", mask = function(l)
    -- a router has the subnet-router anycast address fe80:: on each link and
    -- joins all-routers (ff02::2, 33:33:00:00:00:02) and fe80::'s
    -- solicited-node group (33:33:ff:00:00:00)
    if l:find("^%S+ route .*type=anycast") or l:find("^%S+ fdb .*mac=33:33:00:00:00:02")
      or l:find("^%S+ fdb .*mac=33:33:ff:00:00:00") then return false end
    return sub(l, "^(%S+ sysctl net%.ipv6%.conf%.%S+%.forwarding) = %d+$", "%1 = ?")
  end },
  { doc = "a veth end has its MAC from the start, and its link-local IPv6 address is made from it", mask = function(l)
    l = sub(l, "local=fe80:[%x:]+", "local=fe80::")
    l = sub(l, "dst=fe80:[%x:]+([ }])", "dst=fe80::%1")
    return sub(l, "mac=33:33:ff:%x%x:%x%x:%x%x", "mac=33:33:ff:?")
  end },
  { doc = "a switch's own namespace (`bridge` in bridge.lua) has IPv6 off", mask = function(l)
    if not l:find("^bridge ") then return l end
    if l:find("^bridge addr .*family=inet6") or l:find("^bridge route .*dst=[^ ]*:")
      or l:find("^bridge fdb .*mac=33:33:") then return false end
    return sub(l, "^(bridge sysctl net%.ipv6%.conf%.%S+%.disable_ipv6) = %d+$", "%1 = ?")
  end },
  { doc = "bridges of `l:switch` have `mcast_snooping 0`", mask = function(l)
    if l:find("^%S+ fdb .*mac=01:00:5e:00:00:6a") or l:find("^%S+ fdb .*mac=33:33:00:00:00:6a") then return false end
    return sub(l, "mcast_snooping=%d", "mcast_snooping=?")
  end },
}

local function mask_all(l)
  for _, d in ipairs(DIFFERENCES) do
    l = d.mask(l)
    if not l then return false end
  end
  return l
end

-- Builds the book's lab beside the example's kept one; returns the rows of
-- DIFFERENCES that explain some difference between the two, after checking
-- that they explain every one.
local function compare(file)
  local p = keep(file)
  if not p then return nil end
  serial = serial + 1
  local book = ("%sbook%d-"):format(T.prefix, serial)
  local script = BOOK[file]:gsub("PFX", book)
  for name in script:gmatch("ip netns add (%S+)") do T.track(name) end
  local out, code = run("set -e\n" .. script)
  assert.are.equal(0, code, out)
  assert.is_nil(S.differences(p, book, 15, mask_all, { "nslab's " .. file, "the book's" }))
  local explained = {}
  local a, b = S.snapshot(p), S.snapshot(book)
  for _, lines in ipairs { S.minus(a, b), S.minus(b, a) } do
    for _, l in ipairs(lines) do
      for i, d in ipairs(DIFFERENCES) do
        if d.mask(l) ~= l then explained[i] = true end
      end
    end
  end
  return explained
end

describe("the examples beside the book's own scripts", function()
  after_each(T.cleanup)

  it("router.lua and bridge.lua differ from double-segment.sh and bridge.sh only as doc/examples.md lists, " ..
    "and each difference it lists is one of theirs", function()
    local text = assert(T.read("doc/examples.md"))
    local section = text:match("\n## Differences from the book\n(.-)\n## ")
    assert.is_truthy(section, "doc/examples.md has no section \"Differences from the book\"")
    for _, d in ipairs(DIFFERENCES) do
      assert.is_truthy(section:find(d.doc, 1, true), "the section lacks: " .. d.doc)
    end
    local explained = {}
    for _, file in ipairs { "examples/router.lua", "examples/bridge.lua" } do
      local e = compare(file)
      if not e then return end
      for i in pairs(e) do explained[i] = true end
    end
    for i, d in ipairs(DIFFERENCES) do
      assert.is_true(explained[i] == true, "no difference of the labs is this one: " .. d.doc)
    end
  end)
end)

-- The last column of doc/examples.md's "Differences from the book": each way
-- it gives to have the book's state does give it.
describe("the ways to turn a difference off", function()
  after_each(T.cleanup)

  local function sysctl(l, node, key)
    return (T.run(("ip netns exec %s sysctl -n %s"):format(l:node(node).nsname, key)):gsub("%s+$", ""))
  end

  it("lab.new{dad=, icmp_ratelimit=, ipv6=}, a router's forwarding and sysctl, lo down, a bridge with snooping",
    function()
      local plain = T.lab({}, "off0")
      plain:switch("sw")
      plain:router("r1", { forwarding = false })
      plain:router("r2", { sysctl = { ["net.ipv6.conf.all.forwarding"] = 0 } })
      plain:link("r1:a 192.0.2.1/24", "sw")
      plain:link("r2:b 192.0.2.2/24", "sw")
      plain:up()
      assert.same({ "0", "0", "1", "0" }, { sysctl(plain, "r1", "net.ipv4.ip_forward"),
        sysctl(plain, "r1", "net.ipv6.conf.all.forwarding"), sysctl(plain, "r2", "net.ipv4.ip_forward"),
        sysctl(plain, "r2", "net.ipv6.conf.all.forwarding") })
      plain:node("r1"):link_set("lo", { up = false })
      assert.equal("DOWN", T.ipj("-n", plain:node("r1").nsname, "link", "show", "lo")[1].operstate)
      local ns = plain:node("r2").ns
      ns:link_add { name = "br9", kind = "bridge", mcast_snooping = true }
      assert.equal(1, T.ipj("-d", "-n", plain:node("r2").nsname, "link", "show", "br9")[1].linkinfo.info_data
        .mcast_snooping)

      local book = T.lab({ dad = true, icmp_ratelimit = true, ipv6 = true }, "off1")
      book:switch("sw")
      book:host("h")
      book:link("h:a 192.0.2.1/24", "sw")
      book:up()
      -- the kernel's own values, from a namespace no lab touched
      local _, fresh = T.ns("fresh")
      local function default(key)
        return (T.run(("ip netns exec %s sysctl -n %s"):format(fresh, key)):gsub("%s+$", ""))
      end
      assert.same({ "1", default("net.ipv4.icmp_ratelimit"), default("net.ipv6.icmp.ratelimit"), "0" },
        { sysctl(book, "h", "net.ipv6.conf.default.accept_dad"),
        sysctl(book, "h", "net.ipv4.icmp_ratelimit"), sysctl(book, "h", "net.ipv6.icmp.ratelimit"),
        sysctl(book, "sw", "net.ipv6.conf.default.disable_ipv6") })
    end)
end)
