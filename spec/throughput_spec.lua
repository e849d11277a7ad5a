-- src:throughput against the real kernel: a TCP bulk transfer over a
-- perfect veth and through a tbf rate limit, by duration and by byte count,
-- with TCP_INFO's numbers; failures to connect as data; bad arguments.
-- Rates are not asserted to any precision here (speed is the benchmark's);
-- the tbf case only checks the transfer is held to the order of the limit.
local netns = require "netns"
local T = require "spec.testlib"

local sh = T.sh

local segment = T.segment

describe("ns:throughput", function()
  after_each(T.cleanup)

  it("sends for a duration over a perfect veth and reports what TCP_INFO says", function()
    local A, B = segment()
    local fds = T.fds()
    local r = A:throughput(B, "10.0.0.2", { duration = 0.5 })
    assert.is_true(r.ok, r.error)
    assert.is_true(r.bytes > 0)
    assert.is_true(r.seconds >= 0.5)
    assert.are.equal(r.bytes * 8 / r.seconds, r.bits_per_second)
    assert.is_true(math.type(r.retransmits) == "integer" and r.retransmits >= 0)
    assert.is_true(r.mss > 0 and r.cwnd > 0 and r.rtt >= 0)
    assert.are.same({ "10.0.0.2", "10.0.0.1" }, { r.dst, r.source })
    assert.are.equal(fds, T.fds())
  end)

  it("sends exactly the bytes asked for, over IPv6 too", function()
    local A, B = segment()
    for _, dst in ipairs{ "10.0.0.2", "fd00::2" } do
      local r = A:throughput(B, dst, { bytes = 3000000, block = 65536 })
      assert.is_true(r.ok, r.error)
      assert.are.equal(3000000, r.bytes)
    end
  end)

  it("is held to the order of a tbf rate limit on the sender's link", function()
    local A, B, an = segment()
    sh("tc -n %s qdisc add dev v0 root tbf rate 8mbit burst 32kbit latency 50ms", an)
    local r = A:throughput(B, "10.0.0.2", { duration = 1.5 })
    assert.is_true(r.ok, r.error)
    assert.is_true(r.bits_per_second > 2e6 and r.bits_per_second < 16e6, tostring(r.bits_per_second))
  end)

  it("reports a connection it cannot make as data, with the errno", function()
    local A, B = segment()
    local r = A:throughput(B, "10.0.0.2", { duration = 0.2, port = 5201, source = "10.0.0.9" })
    assert.are.same({ false, "EADDRNOTAVAIL" }, { r.ok, r.code })
    -- a filter in the receiver rejects the connection
    local f = B:exec({ "nft", "-f", "-" }, { stdin = "table inet f {\n chain input {\n"
      .. " type filter hook input priority 0;\n tcp dport 5202 reject with tcp reset\n }\n}" })
    assert.are.equal(0, f.code, f.stderr)
    r = A:throughput(B, "10.0.0.2", { duration = 0.2, port = 5202 })
    assert.are.same({ false, "ECONNREFUSED" }, { r.ok, r.code })
    assert.is_truthy(r.error:find("connect to 10.0.0.2 port 5202: Connection refused", 1, true))
  end)

  it("raises for a listener it cannot make and for bad arguments", function()
    local A, B = segment()
    local ok, e = pcall(A.throughput, A, B, "10.0.0.9", { duration = 0.1 })
    assert.is_false(ok)
    assert.are.equal("EADDRNOTAVAIL", e.code)
    for _, c in ipairs{
      { { duration = 0 }, "field 'duration'" }, { { bytes = 0 }, "field 'bytes'" },
      { { bytes = 10, duration = 1 }, "not both" }, { { port = 70000 }, "field 'port'" },
      { { block = 0 }, "field 'block'" }, { { source = "fd00::1" }, "field 'source'" },
      { { speed = 1 }, "unknown option 'speed'" },
    } do
      ok, e = pcall(A.throughput, A, B, "10.0.0.2", c[1])
      assert.is_false(ok)
      assert.is_truthy(tostring(e):find(c[2], 1, true), tostring(e))
    end
    assert.has_error(function() A:throughput("b", "10.0.0.2") end)
  end)
end)
