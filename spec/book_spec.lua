-- The examples as the book builds them (its author's scripts/*.sh and the
-- commands of its chapters): a lab left up with --keep has the book's MAC
-- plan, routes and NAT rules, and the book's next commands make sense on it.
local T = require "spec.testlib"

local NSLAB = os.getenv("NSLAB") or "build/nslab"

local function run(cmd)
  local p = assert(io.popen(cmd .. " 2>&1"))
  local out = p:read("a")
  local _, _, code = p:close()
  return out, code
end

local serial = 0

-- Runs an example with --keep and returns the prefix of its namespaces (or
-- nil when a tool it needs is missing); `nslab clean` removes the lab after
-- the test, whatever happened.
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
