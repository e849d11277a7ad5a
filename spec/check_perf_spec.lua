-- The lab's throughput check on a real lab: l:throughput{min=, max=}
-- through a tbf rate limit, its failures, and its --trace line. (Latency and
-- loss bounds on l:reachable are impair_spec's.)
local check = require "netns.check"
local perf = require "netns.check_perf"
local report = require "netns.report"
local trace = require "netns.trace"
local T = require "spec.testlib"

local function pair()
  local l = T.lab({ name = "perf" }, "Q")
  l:host("a")
  l:host("b")
  l:link("a:eth0 192.0.2.1/24", "b:eth0 192.0.2.2/24")
  l:up()
  assert(l:node("a"):ping("192.0.2.2", { timeout = 3 }).ok)
  return l
end

describe("performance checks", function()
  before_each(report.reset)
  after_each(function()
    trace.disable()
    report.reset()
    T.cleanup()
  end)

  it("read rates as tc writes them", function()
    assert.are.same({ 8e6, 5e5, 1.5e9, 8e6, 100, 1e6 },
      { perf.rate("8mbit"), perf.rate("500kbit"), perf.rate("1.5Gbit"), perf.rate("1mbps"), perf.rate(100),
        perf.rate("1mbit/s") })
    for _, bad in ipairs{ "8", "8m", "fast", "-1mbit", "8 mbits", 0, true } do
      assert.is_nil(perf.rate(bad), tostring(bad))
    end
    assert.are.equal("7.57 Mbit/s", perf.format(7.57e6))
  end)

  it("pass a throughput bound a rate limit keeps, and fail one it breaks", function()
    local l = pair()
    T.run(("tc -n %s qdisc add dev eth0 root tbf rate 8mbit burst 32kbit latency 50ms"):format(l:node("a").nsname))
    local ok, d = l:throughput("a", "b", { min = "2mbit", max = "16mbit", duration = 1 })
    assert.is_true(ok, tostring(d))
    assert.are.equal("a -> b (192.0.2.2): at least 2 Mbit/s and at most 16 Mbit/s", d.name)
    assert.is_truthy(d.actual:find("^[%d.]+ Mbit/s %(%d+ bytes in [%d.]+ s, %d+ retransmits%)$"), d.actual)
    ok, d = l:throughput("a", "b", { min = "1gbit", bytes = 200000 })
    assert.is_false(ok)
    assert.are.equal("at least 1 Gbit/s", d.expected)
    local f = l:node("b"):exec({ "nft", "-f", "-" }, { stdin = "table inet f {\n chain input {\n"
      .. " type filter hook input priority 0;\n tcp dport 5202 reject with tcp reset\n }\n}" })
    assert.are.equal(0, f.code, f.stderr)
    ok, d = l:throughput("a", "b", { duration = 0.2, port = 5202 })
    assert.is_false(ok)
    assert.are.equal("no transfer: connect to 192.0.2.2 port 5202: Connection refused", d.actual)
    assert.are.equal(3, #report.checks())
    assert.has_error(function() l:throughput("a", "b", { min = "lots" }) end)
    assert.has_error(function() l:throughput("a", "192.0.2.99") end, nil)
    assert.has_error(function() l:throughput("a", "b", { duration = 1, bytes = 5 }) end)
    for _, o in ipairs{ { port = 70000 }, { timeout = 0 }, { bytes = 1.5 }, { source = "192.0.2.300" },
                        { source = "2001:db8::1" } } do
      local ok2, e = pcall(l.throughput, l, "a", "b", o)
      assert.is_false(ok2)
      assert.matches("check_perf_spec%.lua:%d+: bad argument #4 to 'throughput' %(field '", tostring(e))
    end
  end)

  it("show iperf3 under --trace", function()
    local l = pair()
    local lines = {}
    trace.enable(function(s) lines[#lines + 1] = s end)
    l:throughput("a", "b", { bytes = 100000, port = 5299 })
    trace.disable()
    local text = table.concat(lines, "\n")
    local a, b = l:node("a").nsname, l:node("b").nsname
    assert.is_truthy(text:find(("ip netns exec %s iperf3 -s -1 -p 5299 &"):format(b), 1, true), text)
    assert.is_truthy(text:find(("ip netns exec %s iperf3 -c 192.0.2.2 -p 5299 -n 100000"):format(a), 1, true), text)
    local _ = check
  end)
end)
