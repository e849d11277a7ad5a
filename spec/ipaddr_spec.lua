-- netns.ipaddr: addresses and prefixes as Lua values, parsed as strictly as
-- the core parses them, printed as iproute2 prints them (RFC 5952), with the
-- arithmetic automatic addressing needs. Needs no root (run by `make check`).
local ipaddr = require "netns.ipaddr"

local function text(s, with_prefix)
  return ipaddr.tostring(assert(ipaddr.parse(s)), with_prefix)
end

describe("netns.ipaddr", function()
  it("parses IPv4 and IPv6 addresses, with or without a prefix length", function()
    local a = ipaddr.parse("192.0.2.1/24")
    assert.are.same({ "inet", { 192, 0, 2, 1 }, 24 }, { a.family, a.bytes, a.plen })
    local b = ipaddr.parse("2001:db8::1")
    assert.are.equal("inet6", b.family)
    assert.is_nil(b.plen)
    assert.are.same({ 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1 }, b.bytes)
    assert.are.same({ 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 0, 2, 1 },
      ipaddr.parse("::ffff:192.0.2.1").bytes)
  end)

  it("refuses what libnl would silently accept", function()
    for _, bad in ipairs{ "10.1", "010.0.0.1", "256.0.0.1", "10.0.0.1/33", "10.0.0.1/-1",
                          "10.0.0.1/0x18", "10.0.0.1/024", "10.0.0.1 ", "2001:db8::1::2",
                          "2001:db8::1/129", "1:2:3:4:5:6:7:8:9", "", "::g" } do
      assert.is_nil(ipaddr.parse(bad), bad)
    end
    assert.are.same({ nil, "bad prefix length (0-32)" }, { ipaddr.parse("10.0.0.1/33") })
    assert.are.same({ nil, "string expected, got number" }, { ipaddr.parse(42) })
  end)

  it("requires or refuses a prefix length when asked", function()
    assert.are.same({ nil, "prefix length missing (e.g. /24)" }, { ipaddr.parse("192.0.2.1", true) })
    assert.are.same({ nil, "no prefix length expected" }, { ipaddr.parse("192.0.2.1/24", false) })
    assert.is_table(ipaddr.parse("192.0.2.1/24", true))
  end)

  it("prints IPv6 compressed as RFC 5952 says, and the prefix only when asked", function()
    assert.are.equal("2001:db8::1", text("2001:0db8:0000:0000:0000:0000:0000:0001"))
    assert.are.equal("2001:db8:0:1:1:1:1:1", text("2001:db8:0:1:1:1:1:1"))
    assert.are.equal("2001:0:0:1::1", text("2001:0:0:1:0:0:0:1"))
    assert.are.equal("::", text("::"))
    assert.are.equal("fe80::1/64", text("fe80::1/64", true))
    assert.are.equal("192.0.2.1", text("192.0.2.1/24"))
  end)

  it("knows which network holds an address, and its network and broadcast addresses", function()
    local n = ipaddr.parse("192.0.2.0/24")
    assert.is_true(ipaddr.contains(n, ipaddr.parse("192.0.2.200")))
    assert.is_false(ipaddr.contains(n, ipaddr.parse("192.0.3.1")))
    assert.is_false(ipaddr.contains(n, ipaddr.parse("2001:db8::1")))
    assert.are.equal("192.0.2.0/24", ipaddr.tostring(ipaddr.network(ipaddr.parse("192.0.2.77/24")), true))
    assert.are.equal("2001:db8::/32", ipaddr.tostring(ipaddr.network(ipaddr.parse("2001:db8:1::5/32")), true))
    assert.are.equal("network", ipaddr.special(ipaddr.parse("192.0.2.0/24")))
    assert.are.equal("broadcast", ipaddr.special(ipaddr.parse("192.0.2.255/24")))
    assert.is_nil(ipaddr.special(ipaddr.parse("192.0.2.1/31")))
    assert.is_nil(ipaddr.special(ipaddr.parse("2001:db8::ffff/64")))
    assert.are.equal("network", ipaddr.special(ipaddr.parse("2001:db8::/64")))
  end)

  it("compares prefixes that end inside a byte as bit by bit does", function()
    assert.is_true(ipaddr.contains(ipaddr.parse("10.0.16.0/20"), ipaddr.parse("10.0.31.255")))
    assert.is_false(ipaddr.contains(ipaddr.parse("10.0.16.0/20"), ipaddr.parse("10.0.32.0")))
    assert.is_true(ipaddr.contains(ipaddr.parse("0.0.0.0/0"), ipaddr.parse("203.0.113.9")))
    assert.are.equal("network", ipaddr.special(ipaddr.parse("192.0.2.32/27")))
    assert.are.equal("broadcast", ipaddr.special(ipaddr.parse("192.0.2.63/27")))
    assert.is_nil(ipaddr.special(ipaddr.parse("192.0.2.33/27")))
    assert.are.equal("network", ipaddr.special(ipaddr.parse("10.16.0.0/12")))
    assert.are.equal("broadcast", ipaddr.special(ipaddr.parse("10.31.255.255/12")))
    -- Against a bit-by-bit reference, on addresses near each other (so that
    -- both answers occur) and every prefix length of both families.
    local function bit(b, i) return (b[i // 8 + 1] >> (7 - i % 8)) & 1 end
    local function ref_contains(n, b)
      for i = 0, n.plen - 1 do
        if bit(n.bytes, i) ~= bit(b.bytes, i) then return false end
      end
      return true
    end
    local function ref_special(a, bits)
      if a.plen >= bits - 1 then return nil end
      local zeros, ones = true, true
      for i = a.plen, bits - 1 do
        if bit(a.bytes, i) == 1 then zeros = false else ones = false end
      end
      return zeros and "network" or (ones and bits == 32 and "broadcast") or nil
    end
    local seed = 12345
    local function rnd(n) seed = (seed * 1103515245 + 12345) % 2147483648; return seed % n end
    for _, fam in ipairs({ { bits = 32, n = 4 }, { bits = 128, n = 16 } }) do
      for plen = 0, fam.bits do
        for _ = 1, 20 do
          local x, y = {}, {}
          for i = 1, fam.n do
            x[i] = ({ 0, 255, rnd(256) })[rnd(3) + 1]
            y[i] = rnd(4) == 0 and rnd(256) or x[i]
          end
          local n = { family = fam.bits == 32 and "inet" or "inet6", bytes = x, plen = plen }
          local b = { family = n.family, bytes = y }
          assert.are.equal(ref_contains(n, b), ipaddr.contains(n, b))
          assert.are.equal(ref_special(n, fam.bits), ipaddr.special(n))
        end
      end
    end
  end)

  it("adds to addresses with carries, and refuses to overflow", function()
    local n = ipaddr.parse("10.0.0.0/16")
    assert.are.equal("10.0.1.0", ipaddr.tostring(ipaddr.add(n, 1, 8)))
    assert.are.equal("10.0.1.44", ipaddr.tostring(ipaddr.add(ipaddr.parse("10.0.0.250"), 50, 0)))
    assert.are.equal("fd00:0:0:1::", ipaddr.tostring(ipaddr.add(ipaddr.parse("fd00::/48"), 1, 64)))
    assert.has_error(function() ipaddr.add(ipaddr.parse("255.255.255.255"), 1, 0) end,
      "address arithmetic overflow")
  end)

  it("gives equal addresses equal keys, whatever their spelling or prefix", function()
    assert.are.equal(ipaddr.key(ipaddr.parse("2001:db8::1")), ipaddr.key(ipaddr.parse("2001:DB8:0::1/64")))
    assert.are_not.equal(ipaddr.key(ipaddr.parse("::ffff:192.0.2.1")), ipaddr.key(ipaddr.parse("192.0.2.1")))
  end)

  it("tells MAC addresses", function()
    assert.is_true(ipaddr.is_mac("00:00:5e:00:53:01"))
    assert.is_true(ipaddr.is_mac("00:00:5E:00:53:0A"))
    assert.is_false(ipaddr.is_mac("00:00:5e:00:53"))
    assert.is_false(ipaddr.is_mac("00:00:5e:00:53:01 "))
    assert.is_false(ipaddr.is_mac(42))
  end)
end)
