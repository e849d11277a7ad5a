-- Where a lab turns IPv6 off (lab.new{ipv6=}): never where the lab gives an
-- IPv6 address or route; by default on switch ports, and in big labs on every
-- namespace without IPv6; checked from outside with `ip -j`.
local lab = require "netns.lab"
local updown = require "netns.lab_updown"
local T = require "spec.testlib"

local function newlab(desc) return T.lab(desc, "L6") end

-- The families of the addresses on dev in namespace ns, as `ip` lists them.
local function families(ns, dev)
  local fams = {}
  for _, l in ipairs(T.ipj("-n", ns, "addr", "show", "dev", dev)) do
    for _, a in ipairs(l.addr_info or {}) do fams[a.family] = true end
  end
  return fams
end

local function disabled(ns, dev)
  local out = T.run(("ip netns exec %s cat /proc/sys/net/ipv6/conf/%s/disable_ipv6"):format(ns, dev))
  return out:match("^1") ~= nil
end

-- host a on a switch, host b on a with an IPv6 address
local function star(l)
  l:switch("sw")
  l:host("a")
  l:host("b")
  l:link("sw:p1", "a:eth0 192.0.2.1/24")
  l:link("a:eth1 2001:db8::1/64", "b:eth0 2001:db8::2/64")
  l:up()
  return l
end

describe("a lab's IPv6", function()
  after_each(T.cleanup)
  local saved = updown.IPV6_AUTO_MAX
  after_each(function() updown.IPV6_AUTO_MAX = saved end)

  it("by default stays on in a small lab's hosts and goes off on switch ports", function()
    local l = star(newlab())
    local a = l.prefix .. "a"
    assert.is_true(families(a, "eth0").inet6, "link-local fe80:: on a host, as the book shows")
    assert.is_false(disabled(a, "eth0"))
    assert.is_nil(families(l.prefix .. "sw", "p1").inet6)
    assert.is_true(disabled(l.prefix .. "sw", "p1"))
  end)

  it("by default goes off in a big lab's namespaces that have no IPv6, and only there", function()
    updown.IPV6_AUTO_MAX = 2 -- this lab has 4 namespaces: big
    local l = newlab()
    l:switch("sw")
    l:host("a")
    l:host("b")
    l:host("c")
    l:link("sw:p1", "a:eth0 192.0.2.1/24")
    l:link("sw:p2", "c:eth0 192.0.2.3/24")
    l:link("a:eth1 2001:db8::1/64", "b:eth0 2001:db8::2/64")
    l:up()
    local a, b, c = l.prefix .. "a", l.prefix .. "b", l.prefix .. "c"
    assert.is_true(disabled(c, "eth0"))
    assert.is_nil(families(c, "eth0").inet6)
    -- a has an IPv6 address (on eth1): on everywhere in a
    assert.is_false(disabled(a, "eth0"))
    assert.is_true(families(b, "eth0").inet6)
    assert.is_true(disabled(l.prefix .. "sw", "p1"))
    -- c is silent (no IPv6): its switch was told where it is, as if learnt
    local mac = l:node("c").ns:link_get("eth0").mac
    local found
    for _, e in ipairs(l:node("sw").ns:fdb { dev = "p2" }) do
      if e.mac == mac then found = e end
    end
    assert.is_truthy(found, "sw knows c's MAC on p2 right after up")
    assert.is_false(found.permanent)
    assert.is_true(l:reachable("c", "192.0.2.1"))
  end)

  it("with ipv6=false goes off in every namespace without an IPv6 address or route", function()
    local l = newlab { ipv6 = false }
    l:host("v4only")
    l:host("v6")
    l:link("v4only 192.0.2.1/24", "v6 192.0.2.2/24 2001:db8::2/64")
    l:up()
    assert.is_nil(families(l.prefix .. "v4only", "v4only-eth0").inet6)
    assert.is_true(disabled(l.prefix .. "v4only", "v4only-eth0"))
    assert.is_true(families(l.prefix .. "v6", "v6-eth0").inet6)
    -- lo keeps ::1: only interfaces made after the switch lose IPv6
    assert.is_true(families(l.prefix .. "v4only", "lo").inet6)
    assert.is_true(l:reachable("v4only", "192.0.2.2"))
  end)

  it("with ipv6=true keeps the kernel's default everywhere, switch ports included", function()
    local l = star(newlab { ipv6 = true })
    assert.is_false(disabled(l.prefix .. "sw", "p1"))
  end)

  it("refuses any other value, naming the option", function()
    local ok, e = pcall(lab.new, { ipv6 = "yes" })
    assert.is_false(ok)
    assert.matches("lab_ipv6_spec%.lua:%d+: lab.new: ipv6 must be true, false or \"auto\", got yes", tostring(e))
  end)
end)
