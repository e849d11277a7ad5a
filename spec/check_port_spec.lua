-- The lab's port checks on a real lab: l:reachable / l:unreachable with
-- tcp= and udp= (how it failed, from whom), the port matrix, and what they
-- leave in the report (TAP, JUnit), under fail_fast, and under --trace.
local netns = require "netns"
local check = require "netns.check"
local report = require "netns.report"
local trace = require "netns.trace"
local T = require "spec.testlib"

-- wan - router - lan, dual stack; the router rejects or drops some ports.
-- The lab lifts the router's ICMP rate limits, all but the routing code's
-- own for "net unreachable" (five at once, then one a second per destination).
local function firewall()
  local l = T.lab({ name = "fw" }, "F")
  l:host("lan", { default = "router" })
  l:host("wan", { default = "router" })
  l:router("router")
  l:link("lan:eth0 192.0.2.1/24 2001:db8:2::1/64", "router:eth0 192.0.2.254/24 2001:db8:2::254/64")
  l:link("wan:eth0 203.0.113.1/24 2001:db8:113::1/64", "router:eth1 203.0.113.254/24 2001:db8:113::254/64")
  l:up()
  local r = l:node("router"):exec({ "nft", "-f", "-" }, { timeout = 10, stdin = [[
table inet f {
  chain forward {
    type filter hook forward priority 0;
    tcp dport 22 drop
    tcp dport 25 reject with icmpx type admin-prohibited
    udp dport 161 drop
  }
}]] })
  assert(r.code == 0, r.stderr)
  assert(l:node("wan"):ping("192.0.2.1", { timeout = 3 }).ok and l:node("wan"):ping("2001:db8:2::1", { timeout = 3 }).ok)
  return l
end

describe("port checks", function()
  before_each(function()
    report.reset()
    check.options.out = false
  end)
  after_each(function()
    check.options.out = nil
    check.options.fail_fast = false
    trace.disable()
    report.reset()
    T.cleanup()
  end)

  it("pass and fail by what happened to the connection, and say so", function()
    local l = firewall()
    local web <close> = l:listen("lan", { proto = "tcp", port = 80 })
    local dns <close> = l:listen("lan", { proto = "udp", port = 53, reply = "ok" })
    local ok, d = l:reachable("wan", "lan", { tcp = 80 })
    assert.is_true(ok, tostring(d))
    assert.are.equal("wan reaches lan (192.0.2.1) tcp/80", d.name)
    assert.is_truthy(d.actual:find("^connected in "))
    ok, d = l:reachable("wan", "lan", { udp = 53, reply = "ok", family = "inet6" })
    assert.is_true(ok, tostring(d))
    assert.is_truthy(d.actual:find("^answered from lan %(2001:db8:2::1%)"))
    ok, d = l:reachable("wan", "lan", { udp = 53, reply = "something else" })
    assert.is_false(ok)
    assert.are.equal('an answer from 192.0.2.1 port 53 saying "something else"', d.expected)
    ok, d = l:reachable("wan", "lan", { tcp = 22, timeout = 0.3 })
    assert.is_false(ok)
    assert.are.equal("a connection to 192.0.2.1 port 22", d.expected)
    assert.are.equal("no answer: timeout after 300 ms", d.actual)
  end)

  it("tell a drop from a refusal and from an ICMP error, and check who sent it", function()
    local l = firewall()
    -- The routing code's "net unreachable", which keeps a limit of its own.
    local ok, d = l:unreachable("wan", "198.51.100.1", { tcp = 80, how = "net unreachable", from = "router" })
    assert.is_true(ok, tostring(d))
    for _, fam in ipairs{ "inet", "inet6" } do
      assert.is_true((l:unreachable("wan", "lan", { family = fam, tcp = 22, how = "timeout", timeout = 0.3 })))
      assert.is_true((l:unreachable("wan", "lan", { family = fam, tcp = 8080, how = "refused" })))
      assert.is_true((l:unreachable("wan", "lan", { family = fam, tcp = 25, how = "prohibited", from = "router" })))
      assert.is_true((l:unreachable("wan", "lan", { family = fam, tcp = 25, how = "rejected" })))
      assert.is_true((l:unreachable("wan", "lan", { family = fam, udp = 161, how = "timeout", timeout = 0.3 })))
      assert.is_true((l:unreachable("wan", "lan", { family = fam, udp = 162, how = "refused", from = "lan" })))
      assert.is_true((l:unreachable("wan", "lan", { family = fam, udp = 162, how = "port unreachable" })))
    end
    ok, d = l:unreachable("wan", "lan", { tcp = 25, how = "refused" })
    assert.is_false(ok)
    assert.are.equal("no connection to 192.0.2.1 port 25: refused", d.expected)
    assert.are.equal("rejected: Packet filtered from router (203.0.113.254)", d.actual)
    assert.are.equal("prohibited", d.how)
    ok, d = l:unreachable("wan", "lan", { tcp = 22, how = "refused", timeout = 0.3 })
    assert.is_false(ok)
    assert.are.equal("timeout", d.how)
    ok, d = l:unreachable("wan", "lan", { tcp = 8080, how = "refused", from = "router" })
    assert.is_false(ok, "the RST came from lan, not the router")
  end)

  it("refuse bad options at the script's line, before probing", function()
    local l = firewall()
    for _, c in ipairs{
      { { tcp = 0 }, "field 'tcp': port" }, { { tcp = 80, udp = 53 }, "not both" },
      { { tcp = 80, how = "bounced" }, "unknown failure 'bounced'" }, { { udp = 53, ttl = 3 }, "unknown option 'ttl'" },
      { { tcp = 80, payload = 5 }, "field 'payload'" },
    } do
      local ok, e = pcall(l.unreachable, l, "wan", "lan", c[1])
      assert.is_false(ok)
      assert.is_truthy(tostring(e):find(c[2], 1, true), tostring(e))
      assert.is_truthy(tostring(e):find("check_port_spec.lua:%d+: bad argument #4 to 'unreachable'"), tostring(e))
    end
    assert.are.equal(0, #report.checks())
  end)

  it("run a port matrix at once and compare it with the expectation", function()
    local l = firewall()
    local web <close> = l:listen("lan", { proto = "tcp", port = 80 })
    local grid
    local ok, d = l:port_matrix { from = { "wan" }, to = { "lan", "router" }, tcp = { 22, 25, 80 }, udp = 161,
      timeout = 0.5, out = function(s) grid = s end,
      expect = { ["tcp/22"] = "timeout", ["tcp/25"] = "prohibited", ["udp/161"] = "timeout",
                 wan = { router = { ["tcp/22"] = "refused", ["tcp/25"] = "refused", ["tcp/80"] = "refused",
                                    ["udp/161"] = "refused" } } } }
    assert.is_true(ok, tostring(d) .. "\n" .. tostring(grid))
    assert.are.equal(8, #d.probes)
    assert.is_truthy(grid:find("wan %-> lan%s+drop%s+prohib%s+open%s+drop"), grid)
    assert.is_truthy(grid:find("wan %-> router%s+refused%s+refused%s+refused%s+refused"), grid)
    ok, d = l:port_matrix { from = { "wan" }, to = { "lan" }, tcp = 22, timeout = 0.3 }
    assert.is_false(ok)
    assert.are.equal("0 of 1 probes open; not as expected: wan -> lan tcp/22 timeout", d.actual)
    assert.has_error(function() l:port_matrix { tcp = 80, expect = { ["tcp/81"] = true } } end)
    assert.has_error(function() l:port_matrix { tcp = 80, expect = { wan = { lan = { ["tcp/80"] = "maybe" } } } } end)
    assert.has_error(function() l:port_matrix { from = { "wan" } } end)
  end)

  it("are recorded for the report, TAP and JUnit, and stop the run under fail_fast", function()
    local l = firewall()
    l:stage("ports")
    l:unreachable("wan", "lan", { tcp = 8080, how = "refused" })
    l:reachable("wan", "lan", { tcp = 8080 })
    local entries = report.checks()
    assert.are.equal(2, #entries)
    assert.are.same({ true, false }, { entries[1].ok, entries[2].ok })
    assert.are.equal("ports", entries[1].stage)
    local tap = {}
    report.tap(function(s) tap[#tap + 1] = s end)
    tap = table.concat(tap)
    assert.is_truthy(tap:find("ok 1 - [ports] wan cannot reach lan (192.0.2.1) tcp/8080: refused", 1, true), tap)
    assert.is_truthy(tap:find("not ok 2 - [ports] wan reaches lan (192.0.2.1) tcp/8080", 1, true), tap)
    local xml = report.junit_string()
    assert.is_truthy(xml:find("refused: RST from lan", 1, true), xml)
    check.options.fail_fast = true
    local ok, e = pcall(l.reachable, l, "wan", "lan", { tcp = 8080 })
    assert.is_false(ok)
    assert.is_truthy(tostring(e):find("check failed: wan reaches lan (192.0.2.1) tcp/8080", 1, true))
  end)

  it("show the equivalent nc command under --trace", function()
    local l = firewall()
    local lines = {}
    trace.enable(function(s) lines[#lines + 1] = s end)
    l:unreachable("wan", "lan", { tcp = 8080, how = "refused" })
    l:port_matrix { from = { "wan" }, to = { "lan" }, tcp = 8080, udp = 53, expect = false }
    trace.disable()
    local text = table.concat(lines, "\n")
    local wan = l:node("wan").nsname
    assert.is_truthy(text:find(("ip netns exec %s nc -z -w 1 192.0.2.1 8080"):format(wan), 1, true), text)
    assert.is_truthy(text:find("# 2 port probes at once (netns.probe_many), each as:", 1, true), text)
    assert.is_truthy(text:find(("ip netns exec %s nc -u -w 1 192.0.2.1 53"):format(wan), 1, true), text)
    local _ = netns
  end)
end)
