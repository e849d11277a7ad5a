-- netns.capture: tcpdump's text is parsed into packets; a live capture in a
-- namespace sees what crosses an interface, starts only once tcpdump really
-- listens, stops cleanly and leaves no process behind.
local netns = require "netns"
local capture = require "netns.capture"
local report = require "netns.report"
local tools = require "netns.tools"
local T = require "spec.testlib"

local SAMPLE = table.concat({
  "1795945021.573691 00:00:5e:00:53:01 > ff:ff:ff:ff:ff:ff, ethertype ARP (0x0806), length 42: Ethernet (len 6), IPv4 (len 4), Request who-has 192.0.2.2 tell 192.0.2.1, length 28",
  "1795945021.573730 00:00:5e:00:53:02 > 00:00:5e:00:53:01, ethertype ARP (0x0806), length 42: Ethernet (len 6), IPv4 (len 4), Reply 192.0.2.2 is-at 00:00:5e:00:53:02, length 28",
  "1795945021.573733 00:00:5e:00:53:01 > 00:00:5e:00:53:02, ethertype IPv4 (0x0800), length 98: (tos 0x0, ttl 64, id 31651, offset 0, flags [DF], proto ICMP (1), length 84)",
  "    192.0.2.1 > 192.0.2.2: ICMP echo request, id 16266, seq 1, length 64",
  "1795945021.609492 00:00:5e:00:53:01 > 00:00:5e:00:53:02, ethertype IPv6 (0x86dd), length 118: (flowlabel 0xe6f6a, hlim 63, next-header ICMPv6 (58) payload length: 64) 2001:db8::1 > 2001:db8::2: [icmp6 sum ok] ICMP6, echo request, id 16269, seq 1",
  "1795945022.034758 00:00:5e:00:53:01 > 00:00:5e:00:53:02, ethertype IPv4 (0x0800), length 74: (tos 0x0, ttl 64, id 28410, offset 0, flags [DF], proto TCP (6), length 60)",
  "    192.0.2.1.36370 > 192.0.2.2.54321: Flags [S], cksum 0x8432 (incorrect -> 0x3acf), seq 255517399, win 64240, options [mss 1460,sackOK,TS val 3218307599 ecr 0,nop,wscale 10], length 0",
  "1795945022.035248 00:00:5e:00:53:01 > 00:00:5e:00:53:02, ethertype IPv4 (0x0800), length 72: (tos 0x0, ttl 64, id 28412, offset 0, flags [DF], proto TCP (6), length 58)",
  "    192.0.2.1.36370 > 192.0.2.2.54321: Flags [P.], cksum 0x8430 (incorrect -> 0x1a1e), seq 1:7, ack 1, win 63, options [nop,nop,TS val 3218307599 ecr 445524558], length 6",
  "1795945022.128308 00:00:5e:00:53:01 > 00:00:5e:00:53:02, ethertype IPv4 (0x0800), length 45: (tos 0x0, ttl 64, id 26978, offset 0, flags [DF], proto UDP (17), length 31)",
  "    192.0.2.1.34636 > 192.0.2.2.5000: UDP, length 3",
  "1795945022.128336 00:00:5e:00:53:02 > 00:00:5e:00:53:01, ethertype IPv4 (0x0800), length 73: (tos 0xc0, ttl 64, id 42068, offset 0, flags [none], proto ICMP (1), length 59)",
  "    192.0.2.2 > 192.0.2.1: ICMP 192.0.2.2 udp port 5000 unreachable, length 39",
  "\t(tos 0x0, ttl 64, id 26978, offset 0, flags [DF], proto UDP (17), length 31)",
  "    192.0.2.1.34636 > 192.0.2.2.5000: UDP, length 3",
  "1795945022.578850 00:00:5e:00:53:01 > 00:00:5e:00:53:02, ethertype IPv6 (0x86dd), length 94: (flowlabel 0x2ec9e, hlim 64, next-header TCP (6) payload length: 40) 2001:db8::1.56026 > 2001:db8::2.80: Flags [S.], cksum 0x5ba3 (incorrect -> 0xac4b), seq 1718494392, win 64800, length 0",
  "tcpdump: listening on b0, link-type EN10MB (Ethernet), snapshot length 262144 bytes",
}, "\n") .. "\n"

describe("capture.parse", function()
  local p = capture.parse(SAMPLE)

  it("makes one packet per timestamped line, joining the indented lines that continue it", function()
    assert.are.equal(9, #p)
    for _, x in ipairs(p) do assert.is_number(x.time) end
  end)

  it("reads ARP requests and replies", function()
    assert.are.same({ "arp", "request", "192.0.2.1", "192.0.2.2", "00:00:5e:00:53:01", "ff:ff:ff:ff:ff:ff" },
      { p[1].proto, p[1].arp, p[1].src, p[1].dst, p[1].src_mac, p[1].dst_mac })
    assert.are.same({ "reply", "192.0.2.2", "00:00:5e:00:53:02" }, { p[2].arp, p[2].src, p[2].is_at })
  end)

  it("reads an IPv4 ICMP packet with its TTL from the -v header", function()
    assert.are.same({ "IPv4", "inet", "icmp", "echo request", 64, "192.0.2.1", "192.0.2.2", 98 },
      { p[3].ethertype, p[3].family, p[3].proto, p[3].icmp, p[3].ttl, p[3].src, p[3].dst, p[3].length })
  end)

  it("reads IPv6 addresses, the hop limit and ICMPv6 types", function()
    assert.are.same({ "inet6", "icmp6", "echo request", 63, "2001:db8::1", "2001:db8::2" },
      { p[4].family, p[4].proto, p[4].icmp, p[4].ttl, p[4].src, p[4].dst })
  end)

  it("splits ports off IPv4 and IPv6 endpoints and reads TCP flags and payload length", function()
    assert.are.same({ "tcp", "S", 36370, 54321, 0 }, { p[5].proto, p[5].flags, p[5].sport, p[5].dport, p[5].payload })
    assert.are.same({ "P.", 6 }, { p[6].flags, p[6].payload })
    assert.are.same({ "udp", 5000, 3 }, { p[7].proto, p[7].dport, p[7].payload })
    assert.are.same({ "inet6", "2001:db8::1", 56026, "2001:db8::2", 80, "S." },
      { p[9].family, p[9].src, p[9].sport, p[9].dst, p[9].dport, p[9].flags })
  end)

  it("takes an ICMP error's own addresses, not those of the packet it quotes", function()
    assert.are.same({ "icmp", "unreachable", "192.0.2.2", "192.0.2.1" }, { p[8].proto, p[8].icmp, p[8].src, p[8].dst })
  end)

  it("keeps IPv6 addresses with an embedded IPv4 tail whole", function()
    local a, port = capture._split_endpoint("::ffff:192.0.2.1")
    assert.are.same({ "::ffff:192.0.2.1", nil }, { a, port })
    a, port = capture._split_endpoint("::ffff:192.0.2.1.80")
    assert.are.same({ "::ffff:192.0.2.1", 80 }, { a, port })
  end)

  it("ignores tcpdump's own messages and empty input", function()
    assert.are.same({}, capture.parse(""))
    assert.are.same({}, capture.parse(nil))
    assert.are.same({}, capture.parse("tcpdump: listening on x\n3 packets captured\n"))
  end)

  it("matches packets by fields (MACs without case) or by a function", function()
    assert.are.equal(2, #capture.filter(p, { proto = "tcp", src = "192.0.2.1" }))
    assert.are.equal(1, #capture.filter(p, { src_mac = "00:00:5E:00:53:02", proto = "arp" }))
    assert.are.equal(9, #capture.filter(p, nil))
    assert.are.equal(2, #capture.filter(p, function(x) return x.family == "inet6" end))
    assert.are.equal(1, #capture.filter(p, { ttl = function(v) return v == 63 end }))
  end)

  it("formats a packet on one line", function()
    assert.are.equal("00:00:5e:00:53:01 > 00:00:5e:00:53:02  192.0.2.1.36370 > 192.0.2.2.54321  tcp [S] ttl 64",
      capture.format(p[5]))
    assert.are.equal("00:00:5e:00:53:02 > 00:00:5e:00:53:01  192.0.2.2  arp reply is-at 00:00:5e:00:53:02",
      capture.format(p[2]))
  end)
end)

describe("capture.expect", function()
  local p = capture.parse(SAMPLE)
  before_each(report.reset)
  after_each(report.reset)

  it("records a passing and a failing check with what was captured", function()
    assert.is_true((capture.expect(p, { proto = "arp", arp = "request" }, "an ARP request")))
    assert.is_false((capture.expect(p, { proto = "icmp", icmp = "echo reply" }, "an echo reply")))
    local c = report.checks()
    assert.are.equal(2, #c)
    assert.is_true(c[1].ok)
    assert.is_false(c[2].ok)
    assert.matches("a packet like {icmp=echo reply proto=icmp}", c[2].expected, 1, true)
    assert.matches("0 matching; captured:", c[2].actual, 1, true)
    assert.matches("capture_spec.lua:%d+", c[2].where)
  end)

  it("with none=true passes only when nothing matches, and can ask for a count", function()
    assert.is_true((capture.expect(p, { proto = "sctp" }, "no SCTP", { none = true })))
    assert.is_false((capture.expect(p, { proto = "tcp" }, "no TCP", { none = true })))
    assert.is_true((capture.expect(p, { proto = "tcp" }, "three TCP", { count = 3 })))
    assert.is_false((capture.expect(p, { proto = "tcp" }, "four TCP", { count = 4 })))
  end)

  it("refuses a missing name or a non-list", function()
    assert.has_error(function() capture.expect(p, {}) end, "bad argument #3 to 'expect' (check name expected)")
    assert.has_error(function() capture.expect(42, {}, "x") end)
  end)
end)

describe("a live capture", function()
  local have_tcpdump = tools.find("tcpdump") ~= nil
  local ns1, ns2
  before_each(function()
    ns1, ns2 = T.ns("c1"), T.ns("c2")
    ns1:link_add { name = "a0", kind = "veth", mac = "00:00:5e:00:53:01", up = true,
                   peer = { name = "b0", ns = ns2, mac = "00:00:5e:00:53:02" } }
    ns2:link_set("b0", { up = true })
    ns1:addr_add("a0", "192.0.2.1/24")
    ns2:addr_add("b0", "192.0.2.2/24")
  end)
  after_each(T.cleanup)

  local function alive(pid)
    local f = io.open("/proc/" .. pid .. "/stat")
    if not f then return false end
    local s = f:read("a")
    f:close()
    return not s:match("^%d+ %b() Z")
  end

  it("sees ARP and ICMP with MACs and addresses, then stops and leaves no process", function()
    if not have_tcpdump then return pending("tcpdump not installed") end
    local cap = capture.start(ns2, "b0", { filter = "arp or icmp" })
    local pid = cap.proc.pid
    assert.is_true(alive(pid))
    local r = ns1:ping("192.0.2.2", { count = 2, interval = 0.1 })
    assert.are.equal(2, r.received)
    assert.is_truthy(cap:wait({ icmp = "echo reply" }, { count = 2 }))
    local pkts = cap:stop()
    assert.is_false(alive(pid))
    assert.are.equal(1, #capture.filter(pkts, { arp = "request", src = "192.0.2.1", dst = "192.0.2.2" }))
    local req = capture.filter(pkts, { icmp = "echo request" })
    assert.are.equal(2, #req)
    assert.are.same({ "00:00:5e:00:53:01", "00:00:5e:00:53:02", 64 }, { req[1].src_mac, req[1].dst_mac, req[1].ttl })
    assert.are.equal(#pkts, cap.stats.captured)
    assert.are.equal(pkts, cap:stop()) -- idempotent
  end)

  it("misses nothing sent right after start returns", function()
    if not have_tcpdump then return pending("tcpdump not installed") end
    for _ = 1, 3 do
      local cap = capture.start(ns2, "b0", { filter = "icmp" })
      ns1:ping("192.0.2.2", { count = 1 })
      local pkts = cap:stop()
      assert.are.equal(1, #capture.filter(pkts, { icmp = "echo request" }))
    end
  end)

  it("is stopped by <close>", function()
    if not have_tcpdump then return pending("tcpdump not installed") end
    local pid
    do
      local cap <close> = capture.start(ns2, "b0")
      pid = cap.proc.pid
    end
    assert.is_false(alive(pid))
  end)

  it("writes a pcap file with pcap=", function()
    if not have_tcpdump then return pending("tcpdump not installed") end
    local path = os.tmpname()
    local cap = capture.start(ns2, "b0", { filter = "icmp", pcap = path })
    ns1:ping("192.0.2.2", { count = 1 })
    local pkts = cap:stop()
    assert.are.equal(2, #pkts)
    local f = assert(io.open(path, "rb"))
    local magic = f:read(4)
    f:close()
    os.remove(path)
    assert.is_truthy(magic == "\xd4\xc3\xb2\xa1" or magic == "\xa1\xb2\xc3\xd4" or magic == "\x4d\x3c\xb2\xa1",
      "not a pcap file")
  end)

  it("raises tcpdump's own reason when the interface does not exist, leaving nothing running", function()
    if not have_tcpdump then return pending("tcpdump not installed") end
    local ok, e = pcall(capture.start, ns2, "nosuch0")
    assert.is_false(ok)
    assert.matches("capture on nosuch0 in " .. ns2.name .. ": tcpdump exited", e, 1, true)
    assert.matches("nosuch0", e)
    assert.are.same({}, ns2:pids())
  end)

  it("raises on a bad filter expression", function()
    if not have_tcpdump then return pending("tcpdump not installed") end
    local ok, e = pcall(capture.start, ns2, "b0", { filter = "icmp and and" })
    assert.is_false(ok)
    assert.matches("tcpdump exited", e, 1, true)
    assert.matches("syntax error", e, 1, true)
    assert.are.same({}, ns2:pids())
  end)

  it("refuses bad arguments before starting anything", function()
    assert.has_error(function() capture.start("ns2", "b0") end,
      "bad argument #1 to 'start' (lab node or netns.Namespace expected, got string)")
    assert.has_error(function() capture.start(ns2, "a-name-longer-than-15") end,
      "bad argument #2 to 'start' (interface name expected, got a-name-longer-than-15)")
    assert.has_error(function() capture.start(ns2, "b0", { filtre = "icmp" }) end,
      "bad argument #3 to 'start' (unknown option 'filtre')")
    assert.has_error(function() capture.start(ns2, "b0", { filter = 5 }) end,
      "bad argument #3 to 'start' (field 'filter': string expected)")
    assert.has_error(function() capture.start(ns2, "b0", { direction = "up" }) end,
      "bad argument #3 to 'start' (field 'direction': \"in\", \"out\" or \"inout\")")
    assert.are.same({}, ns2:pids())
  end)
end)

describe("netns.tools", function()
  after_each(T.cleanup)

  it("finds programs in PATH and in the system's sbin directories", function()
    local p = tools.find("sh")
    assert.is_truthy(p and p:match("/sh$"))
    assert.is_nil(tools.find("nslab-no-such-program"))
    assert.are.same({ "nslab-no-such-program" }, tools.missing { "sh", "nslab-no-such-program" })
  end)

  it("waits for a server's port and reports a server that died first", function()
    local ns = T.ns("tw")
    ns:link_set("lo", { up = true })
    local p = ns:spawn({ "sh", "-c", "echo boom >&2; exit 3" })
    local ok, why = tools.wait_port(ns, 54321, { process = p, name = "the test server", timeout = 3 })
    assert.is_false(ok)
    assert.matches("the test server exited", why, 1, true)
    assert.matches("boom", why, 1, true)
    p:close()
    ok, why = tools.wait_port(ns, 54321, { timeout = 0.2 })
    assert.is_false(ok)
    assert.matches("nothing listens on tcp port 54321", why, 1, true)
    assert.has_error(function() tools.wait_port(ns, 0) end)
    assert.has_error(function() tools.wait_port(ns, 80, { proto = "sctp" }) end)
  end)

  it("writes a file and sets its mode, with no node, as examples.md documents", function()
    local path = os.tmpname()
    local function mode() return (T.run("stat -c %a " .. path):gsub("%s+$", "")) end
    tools.write(path, "#!/bin/sh\n", "0644")
    assert.are.equal("644", mode())
    tools.write(path, "#!/bin/sh\nexit 0\n", "755")
    assert.are.equal("755", mode())
    assert.are.equal("#!/bin/sh\nexit 0\n", tools.read(path))
    tools.write(path, "x", tonumber("600", 8))
    assert.are.equal("600", mode())
    assert.has_error(function() tools.write(path, "y", "rwx") end,
      "bad argument #3 to 'write' (mode such as \"0644\" or \"755\" expected, got 'rwx')")
    assert.has_error(function() tools.write(path, "y", "17777") end)
    assert.are.equal("x", tools.read(path))   -- a refused call leaves the file alone
    os.remove(path)
    local ok, e = pcall(netns.chmod, path, 420)
    assert.is_false(ok)
    assert.are.equal("ENOENT", e.code)
  end)

  it("makes and removes a temporary directory", function()
    local ns = T.ns("td")
    local path
    do
      local tmp <close> = tools.tempdir(ns, "spec")
      path = tmp.path
      tools.write(path .. "/f", "x")
      assert.are.equal("x", tools.read(path .. "/f"))
    end
    assert.is_nil(io.open(path .. "/f"))
  end)
end)
