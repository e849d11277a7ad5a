-- The prompt with a lab up (netns.cli): `nslab -i script.lua` driven through
-- a pipe and through a pty (tmux): node commands with node names turned into
-- addresses, the prompt's commands and checks, readable Lua results, tab
-- completion, Ctrl-C on a running command and on a half-typed line, history,
-- l:cli() from a script, and teardown when the prompt ends.
local T = require "spec.testlib"
local pretty = require "netns.pretty"

local NSLAB = os.getenv("NSLAB") or "build/nslab"
local tmp = T.tmp
local function write(ext, text) return T.tmpfile(text, ext) end

local q = T.q

-- ns1 - router - ns2 on two segments, as the book's chapter 4.
local LAB = [[
local lab = require "netns.lab"
local l <close> = lab.new { name = "%s" }  -- under -i, <close> leaves it to the prompt
l:host("ns1", { default = "router" })
l:host("ns2", { default = "router" })
l:router("router")
l:link("ns1:ns1-veth0 192.0.2.1/24", "router:gw-veth0 192.0.2.254/24")
l:link("ns2:ns2-veth0 198.51.100.1/24", "router:gw-veth1 198.51.100.254/24")
l:up()
%s
]]

local function lab_script(extra)
  local name = T.name("P"):gsub("%-", "_")
  return write(".lua", LAB:format(name, extra or "")), name
end

local function gone(prefix)
  for _, n in ipairs(T.ipj("netns", "list")) do
    if n.name:sub(1, #prefix) == prefix then return false end
  end
  return true
end

describe("the prompt through a pipe", function()
  after_each(T.cleanup)

  it("runs a node's command with node names as addresses it can reach, then tears the lab down", function()
    local script = lab_script()
    local prefix = T.name("p") .. "-"
    local input = write(nil, table.concat({
      "ns1 ping -c1 -W3 ns2",          -- ns2 is on another segment: its address, routed
      "router ping -c1 -W3 ns1",       -- the router shares ns1's segment
      "ns1 sh -c 'exit 3'",
      "nodes", "links", "dump ns2", "reachable ns1 ns2 ttl=63", "unreachable ns1 ns2",
      "ns1 ip -br link show dev ns1-veth0", "pingall", "help", "dump nosuch",
    }, "\n") .. "\n")
    local out, ok = T.run(("%s --prefix=%s -i %s < %s"):format(NSLAB, prefix, script, input))
    assert.is_true(ok, out)
    assert.matches("PING 198.51.100.1", out, 1, true)
    assert.matches("1 packets transmitted, 1 received", out, 1, true)
    assert.matches("ttl=63", out, 1, true)
    assert.matches("PING 192.0.2.1 ", out, 1, true)
    assert.matches("(sh: exit 3)", out, 1, true)
    assert.matches("ns1%s+host%s+netns " .. prefix:gsub("%p", "%%%0") .. "ns1%s+ns1%-veth0", out)
    assert.matches("ns1:ns1-veth0 192.0.2.1/24 <-> router:gw-veth0 192.0.2.254/24", out, 1, true)
    assert.matches("ns2%-veth0%s+UP%s+%x%x:%x%x:%x%x:%x%x:%x%x:%x%x 198%.51%.100%.1/24", out)
    assert.matches("route default via 198.51.100.254 dev ns2-veth0", out, 1, true)
    assert.matches("PASS  ns1 reaches ns2 (198.51.100.1) with TTL 63", out, 1, true)
    assert.matches("FAIL  ns1 cannot reach ns2", out, 1, true)
    assert.matches("ns1%-veth0@if%d+%s+UP", out)
    assert.matches("\nPASS  ping_all IPv4 (2 nodes, 2 pairs)\n", out, 1, true) -- pingall: the hosts
    assert.matches("At this prompt:", out, 1, true)
    assert.matches("nslab: no node 'nosuch'\n", out, 1, true)
    -- the prompt's checks are not the script's: nothing in the report, exit 0
    assert.not_matches("checks:", out, 1, true)
    assert.is_true(gone(prefix), "the lab was torn down when the prompt ended")
  end)

  it("evaluates Lua with nodes by name and prints results readably", function()
    local script = lab_script()
    local prefix = T.name("p") .. "-"
    local input = write(nil, table.concat({
      "x = 20", "x + 1", "{ b = { 2, 3 }, a = 'x' }", "ns1.kind, #ns1:links()",
      "lab:address('ns2')", "for i = 1, 2 do", "print('i' .. i)", "end", "error('boom')", "1 + 1",
    }, "\n") .. "\n")
    local out, ok = T.run(("%s --prefix=%s -i %s < %s"):format(NSLAB, prefix, script, input))
    assert.is_true(ok, out)
    assert.matches("\n?21\n", out)
    assert.matches('{ a = "x", b = { 2, 3 } }', out, 1, true)
    assert.matches('"host"\t2', out, 1, true)
    assert.matches('"198.51.100.1"', out, 1, true)
    assert.matches("i1\ni2\n", out, 1, true)
    assert.matches("nslab: stdin:1: boom", out, 1, true)
    assert.matches("\n2\n", out, 1, true)
    assert.is_true(gone(prefix))
  end)

  it("stops at l:cli() in a script with the lab up and goes on after it", function()
    local script = lab_script('print("before"); l:cli(); print("after", l.state)')
    local prefix = T.name("p") .. "-"
    local input = write(nil, "ns1 ip -br addr show dev ns1-veth0\nexit\n")
    local out, ok = T.run(("%s --prefix=%s %s < %s"):format(NSLAB, prefix, script, input))
    assert.is_true(ok, out)
    assert.matches("before\n.*192%.0%.2%.1/24.*after\tup\n", out)
    assert.is_true(gone(prefix))
  end)

  it("works from l:cli() under the stock lua5.4, reading lines with io.read", function()
    local prefix = T.name("s") .. "-"
    local script = write(".lua", ([[
      local lab = require "netns.lab"
      local l <close> = lab.new { name = "stock", prefix = "%s" }
      l:host("a"); l:host("b")
      l:link("a 10.9.0.1/30", "b 10.9.0.2/30")
      l:up()
      l:cli()
      print("done", l.state)
    ]]):format(prefix))
    local input = write(nil, "a ping -c1 -W3 b\n{ 1, 2 }\n")
    local out, ok = T.run(("lua5.4 %s < %s"):format(script, input))
    assert.is_true(ok, out)
    assert.matches("nslab> PING 10.9.0.2", out, 1, true)
    assert.matches("nslab> { 1, 2 }\n", out, 1, true)
    assert.matches("done\tup\n$", out)
    assert.is_true(gone(prefix))
  end)

  it("prompts also after the script's error, with what it had built, and exits 2", function()
    local script = lab_script('error("stage 2 broke")')
    local prefix = T.name("p") .. "-"
    local input = write(nil, "ns1 true\nprint('still', lab.state)\n")
    local out, ok = T.run(("(%s --prefix=%s -i %s < %s 2>&1; echo rc=$?)"):format(NSLAB, prefix, script, input))
    assert.is_true(ok)
    assert.matches("stage 2 broke", out, 1, true)
    assert.matches("still\tup", out, 1, true)
    assert.matches("rc=2\n$", out)
    assert.is_true(gone(prefix))
  end)
end)

describe("netns.pretty", function()
  it("nests, sorts keys (array part first), quotes strings, bounds depth and marks cycles", function()
    local t = { 3, 1, z = true, a = { b = { c = { d = 1 } } }, ["with space"] = "x\ny" }
    t.me = t
    assert.are.equal('{\n  3,\n  1,\n  a = { b = { c = {...} } },\n  me = <cycle>,\n  ["with space"] = "x\\ny",\n  z = true\n}',
      pretty.format(t))
    assert.are.equal("{ 1, 2, ... (3 more) }", pretty.format({ 1, 2, 3, 4, 5 }, { items = 2 }))
    assert.are.equal("netns.Thing", pretty.format(setmetatable({}, { __tostring = function() return "netns.Thing" end })))
  end)
end)

describe("the prompt on a terminal (tmux)", function()
  local server
  after_each(function()
    if server then os.execute("tmux -L " .. server .. " kill-server 2>/dev/null") end
    server = nil
    T.cleanup()
  end)

  local function screen()
    return T.run("tmux -L " .. server .. " capture-pane -p -S -200")
  end
  local function keys(...)
    local t = {}
    for _, k in ipairs({ ... }) do t[#t + 1] = q(k) end
    os.execute("tmux -L " .. server .. " send-keys " .. table.concat(t, " "))
  end
  local function wait_for(pattern, plain)
    local ok = T.wait_until(function() return screen():find(pattern, 1, plain) ~= nil end, 20)
    assert(ok, ("screen never showed %q:\n%s"):format(pattern, screen()))
  end

  it("completes names, stops a running command with Ctrl-C, clears a line, keeps history, tears down at Ctrl-D", function()
    local script = lab_script()
    local prefix = T.name("t") .. "-"
    local hist, rcfile = tmp(), tmp()
    server = T.name("tmux")
    os.execute(("tmux -L %s new-session -d -x 150 -y 50 %s"):format(server,
      q(("NSLAB_HISTORY=%s %s --prefix=%s -i %s; echo $? > %s"):format(hist, NSLAB, prefix, script, rcfile))))
    wait_for("labs up: ", true)
    keys("no", "Tab")                        -- a command
    wait_for("nslab> nodes", true)
    keys("Enter")
    wait_for("router%s+router%s+netns")
    keys("ns1 ip -br link show dev ns1-v", "Tab")  -- an interface of ns1
    wait_for("show dev ns1-veth0", true)
    keys("Enter")
    wait_for("ns1%-veth0@if%d+%s+UP")
    keys("ns1 ping ns", "Tab", "Tab")        -- node names, and ns1's interfaces
    wait_for("ns1%s+ns1%-veth0%s+ns2")
    keys("2", "Enter")
    wait_for("icmp_seq=2 ttl=63", true)
    keys("C-c")                              -- stops ping, not the prompt
    wait_for("packets transmitted", true)
    keys("while true do end", "Enter")      -- Ctrl-C stops a Lua statement too
    wait_for("nslab> while true do end", true)
    keys("C-c")
    wait_for("nslab: interrupted\n", true)
    keys("half a line", "C-c", "40 + 2", "Enter")
    wait_for("\n42\n", true)
    assert.not_matches("half a line40", screen(), 1, true)
    keys("C-d")
    assert(T.wait_until(function() return T.read(rcfile) ~= nil end, 20), screen())
    assert.are.equal("0\n", T.read(rcfile))
    assert.is_true(gone(prefix))
    local h = T.read(hist) or ""
    assert.matches("nodes ?\n", h)
    assert.matches("ns1 ping ns2\n", h, 1, true)
    assert.matches("40 + 2\n", h, 1, true)
  end)

  it("ends on SIGTERM at the prompt: the lab is torn down and nslab exits 143", function()
    local pidfile = tmp()
    local script = lab_script(('local f = io.open("%s", "w"); f:write(io.open("/proc/self/stat"):read("n")); f:close()')
      :format(pidfile))
    local prefix = T.name("t") .. "-"
    local rcfile = tmp()
    server = T.name("tmux")
    os.execute(("tmux -L %s new-session -d -x 150 -y 50 %s"):format(server,
      q(("NSLAB_HISTORY=%s %s --prefix=%s -i %s; echo $? > %s"):format(tmp(), NSLAB, prefix, script, rcfile))))
    wait_for("labs up: ", true)
    assert.is_false(gone(prefix))
    os.execute("kill -TERM " .. assert(tonumber(T.read(pidfile))))
    assert(T.wait_until(function() return T.read(rcfile) ~= nil end, 20), screen())
    assert.are.equal("143\n", T.read(rcfile))
    assert.is_true(gone(prefix))
  end)
end)
