-- ns:listen against the real kernel: TCP and UDP listeners that echo, send
-- a fixed reply or stay silent, answer nc from outside too, count what they
-- got, and are closed by close(), <close>, the garbage collector and a lab's
-- teardown, with fds flat over many cycles.
local netns = require "netns"
local T = require "spec.testlib"

local sh = T.sh

local segment = T.segment

-- The listening sockets of a namespace, from outside (ss -H -l -n).
local function ss(name, proto)
  local out = sh("ip netns exec %s ss -H -l -n %s", name, proto == "udp" and "-u" or "-t")
  local t = {}
  for line in out:gmatch("[^\n]+") do t[#t + 1] = line:match("(%S+:%d+)%s+%S+%s*$") end
  return t
end

describe("ns:listen", function()
  after_each(T.cleanup)

  it("echoes TCP to nc from outside, on every address of both families, and counts it", function()
    local A, B, an, bn = segment()
    local l <close> = B:listen{ proto = "tcp", port = 7 }
    assert.are.equal(7, l.port)
    assert.are.equal("tcp", l.proto)
    assert.are.same({ "*:7" }, ss(bn, "tcp"))
    local out = sh("echo hello | ip netns exec %s nc -q1 10.0.0.2 7", an)
    assert.are.equal("hello\n", out)
    out = sh("echo again | ip netns exec %s nc -q1 fd00::2 7", an)
    assert.are.equal("again\n", out)
    assert.is_true(T.wait_until(function() return l:stats().open == 0 end, 5))
    local st = l:stats()
    assert.are.same({ 2, 0, 12, 12, "fd00::1" }, { st.connections, st.open, st.bytes_in, st.bytes_out, st.peer })
    local _ = A
  end)

  it("sends a fixed TCP reply at once and then ends its side", function()
    local _, B, an = segment()
    local l <close> = B:listen{ proto = "tcp", port = 80, reply = "HTTP/1.0 200 OK\r\n\r\nhi\n" }
    local out = sh("ip netns exec %s nc -w 3 10.0.0.2 80 </dev/null", an)
    assert.are.equal("HTTP/1.0 200 OK\r\n\r\nhi\n", out)
    assert.are.equal(1, l:stats().connections)
  end)

  it("answers UDP with an echo, a fixed reply, or nothing", function()
    local A, B = segment()
    local echo <close> = B:listen{ proto = "udp", port = 7 }
    local fixed <close> = B:listen{ proto = "udp", port = 53, addr = "10.0.0.2", reply = "yes" }
    local silent <close> = B:listen{ proto = "udp", port = 9, reply = false }
    local res = netns.probe_many({
      { A, "udp", "10.0.0.2", 7, { payload = "ping" } }, { A, "udp", "fd00::2", 7, { payload = "ping6" } },
      { A, "udp", "10.0.0.2", 53 }, { A, "udp", "10.0.0.2", 9 },
    }, { timeout = 0.5 })
    assert.are.same({ "ping", "ping6", "yes" }, { res[1].reply, res[2].reply, res[3].reply })
    assert.are.equal("timeout", res[4].outcome)
    assert.are.same({ 2, 1, 1 }, { echo:stats().datagrams, fixed:stats().datagrams, silent:stats().datagrams })
    assert.are.equal("10.0.0.2", fixed.addr)
  end)

  it("lets the kernel pick the port when given none", function()
    local A, B = segment()
    local l <close> = B:listen{ proto = "tcp" }
    assert.is_true(l.port > 1023)
    assert.are.equal("connected", A:probe("tcp", "10.0.0.2", l.port).outcome)
    assert.is_truthy(tostring(l):find("netns.Listener %(tcp %* port %d+ in "))
  end)

  it("raises a netns.Error for a port in use or an address the namespace does not have", function()
    local _, B = segment()
    local l <close> = B:listen{ proto = "tcp", port = 80, addr = "10.0.0.2" }
    local ok, e = pcall(B.listen, B, { proto = "tcp", port = 80, addr = "10.0.0.2" })
    assert.is_false(ok)
    assert.are.equal("EADDRINUSE", e.code)
    assert.is_truthy(e.message:find("bind to 10.0.0.2 port 80", 1, true))
    assert.are.equal("EADDRNOTAVAIL", T.errcode(B.listen, B, { proto = "udp", port = 80, addr = "10.9.9.9" }))
    assert.are.equal(1, netns.listeners())
  end)

  it("refuses bad options, naming the field", function()
    local B = T.ns("b")
    for _, c in ipairs{
      { {}, "field 'proto'" }, { { proto = "sctp" }, "field 'proto'" },
      { { proto = "tcp", port = 65536 }, "field 'port'" }, { { proto = "tcp", addr = "1.2.3" }, "field 'addr'" },
      { { proto = "tcp", reply = 5 }, "field 'reply'" }, { { proto = "tcp", reply = "x", echo = false }, "field 'echo'" },
      { { proto = "tcp", colour = 1 }, "unknown option 'colour'" },
    } do
      local ok, e = pcall(B.listen, B, c[1])
      assert.is_false(ok)
      assert.is_truthy(tostring(e):find(c[2], 1, true), tostring(e))
    end
    assert.are.equal(0, netns.listeners())
  end)

  it("is closed by close(), <close> and the garbage collector, and raises when used closed", function()
    local _, B, _, bn = segment()
    local l = B:listen{ proto = "tcp", port = 81 }
    l:close()
    l:close()
    assert.is_true(l.closed)
    assert.has_error(function() l:stats() end, "attempt to use a closed listener")
    do
      local c <close> = B:listen{ proto = "udp", port = 82 }
      assert.are.equal(1, netns.listeners())
    end
    assert.are.equal(0, netns.listeners())
    B:listen{ proto = "tcp", port = 83 }
    collectgarbage()
    collectgarbage()
    assert.are.equal(0, netns.listeners())
    assert.are.same({}, ss(bn, "tcp"))
  end)

  it("keeps fds flat over 100 cycles of listen, connect and close", function()
    local A, B = segment()
    local fds = T.fds()
    for i = 1, 100 do
      local l <close> = B:listen{ proto = i % 2 == 0 and "tcp" or "udp", port = 9000 }
      local r = A:probe(l.proto, "10.0.0.2", 9000)
      assert.is_true(r.ok, r.message)
    end
    assert.are.equal(fds, T.fds())
    assert.are.equal(0, netns.listeners())
  end)

  it("is closed by the lab's teardown (its socket would hold the namespace alive)", function()
    local l = T.lab({ name = "listen" }, "L")
    l:host("a")
    l:host("b")
    l:link("a:eth0 192.0.2.1/24", "b:eth0 192.0.2.2/24")
    l:up()
    local web = l:node("b"):listen{ proto = "tcp", port = 80 }
    local dns = l:listen("b", { proto = "udp", port = 53 })
    assert.is_true(l:reachable("a", "b", { tcp = 80, record = false }))
    assert.are.equal(2, netns.listeners())
    l:down()
    assert.is_true(web.closed and dns.closed)
    assert.are.equal(0, netns.listeners())
  end)

  it("is kept by the lab until teardown, even when the script keeps no reference", function()
    local l = T.lab({ name = "listen" }, "K")
    l:host("a")
    l:host("b")
    l:link("a:eth0 192.0.2.1/24", "b:eth0 192.0.2.2/24")
    l:up()
    l:listen("b", { proto = "tcp", port = 80 })
    collectgarbage()
    collectgarbage()
    assert.are.equal(1, netns.listeners())
    assert.is_true(l:reachable("a", "b", { tcp = 80, record = false }))
    l:down()
    assert.are.equal(0, netns.listeners())
  end)
end)
