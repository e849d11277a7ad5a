-- nslab inspect LAB --json and nslab list --json: a lab's live state read
-- from the kernel, compared with iproute2's own JSON dumps; the processes
-- the lab's run started; nslab shell and exec in a node found through the
-- journal.
local T = require "spec.testlib"
local json = require "dkjson"

local NSLAB = os.getenv("NSLAB") or "build/nslab"
local tmp = T.tmp
local function write(ext, text) return T.tmpfile(text, ext) end

describe("inspecting a running lab", function()
  local pidfile, name, prefix

  -- A scenario that builds a lab, starts a process in ns1 and waits.
  before_each(function()
    name = T.name("I"):gsub("%-", "_")
    prefix = T.name("i") .. "-"
    pidfile = tmp(".pid")
    local script = write(".lua", ([[
      local l = require("netns.lab").new { name = "%s" }
      l:host("ns1", { default = "router" })
      l:host("ns2", { default = "router", etc = { hosts = true } })
      l:router("router")
      l:link("ns1:ns1-veth0 192.0.2.1/24", "router:gw-veth0 192.0.2.254/24")
      l:link("ns2:ns2-veth0 198.51.100.1/24 2001:db8:2::1/64", "router:gw-veth1 198.51.100.254/24 2001:db8:2::fe/64")
      l:up()
      local p = l:node("ns1"):spawn({ "sleep", "300" })
      print("ready"); io.stdout:flush()
      p:wait()
    ]]):format(name))
    local out = tmp(".out")
    os.execute(("%s --prefix=%s %s > %s 2>&1 & echo $! > %s"):format(NSLAB, prefix, script, out, pidfile))
    assert(T.wait_until(function() return (T.read(out) or ""):find("ready") ~= nil end, 20), T.read(out))
  end)

  after_each(function()
    local pid = tonumber((T.read(pidfile) or ""):match("%d+"))
    if pid then
      os.execute("kill -TERM " .. pid)
      T.wait_until(function() return T.read("/proc/" .. pid .. "/stat") == nil end, 20)
    end
    for _, n in ipairs({ "ns1", "ns2", "router" }) do T.track(prefix .. n) end
    T.cleanup()
  end)

  it("gives interfaces, MACs, states, addresses and routes as ip -j shows them", function()
    local out, ok = T.run(("%s inspect %s --json"):format(NSLAB, name))
    assert.is_true(ok, out)
    local s = json.decode(out)
    assert.are.equal(name, s.lab)
    assert.is_true(s.owner.running)
    local nodes = {}
    for _, n in ipairs(s.nodes) do nodes[n.node] = n end
    for _, node in ipairs({ "ns1", "ns2", "router" }) do
      local n = nodes[node]
      assert.are.equal(prefix .. node, n.namespace)
      local links = T.ipj("-n", n.namespace, "addr", "show")
      assert.are.equal(#links, #n.interfaces)
      for i, l in ipairs(links) do
        local mine = n.interfaces[i]
        assert.are.equal(l.ifname, mine.name)
        assert.are.equal(l.address, mine.mac)
        assert.are.equal(l.operstate, mine.state)
        assert.are.equal(l.mtu, mine.mtu)
        local theirs, ours = {}, {}
        for _, a in ipairs(l.addr_info) do theirs[#theirs + 1] = a["local"] .. "/" .. a.prefixlen end
        for _, a in ipairs(mine.addresses) do ours[#ours + 1] = a.cidr end
        table.sort(theirs); table.sort(ours)
        assert.are.same(theirs, ours)
      end
      local routes = {}
      for _, r in ipairs(T.ipj("-n", n.namespace, "route", "show")) do
        routes[#routes + 1] = (r.dst == "default" and "default" or r.dst) .. " " .. (r.gateway or "-") .. " " .. (r.dev or "-")
      end
      local ours = {}
      for _, r in ipairs(n.routes) do
        if r.family == "inet" then
          ours[#ours + 1] = r.dst:gsub("/32$", "") .. " " .. (r.via or "-") .. " " .. (r.dev or "-")
        end
      end
      table.sort(routes); table.sort(ours)
      assert.are.same(routes, ours)
    end
    -- the process the run started in ns1, and only there
    local pids = T.run("ip netns pids " .. prefix .. "ns1")
    assert.are.equal(1, #nodes.ns1.processes)
    assert.are.equal(tonumber(pids:match("%d+")), nodes.ns1.processes[1].pid)
    assert.are.same({ "sleep", "300" }, nodes.ns1.processes[1].argv)
    assert.are.same({}, nodes.ns2.processes)
  end)

  it("lists the lab with list --json, and reads it without --json", function()
    local out, ok = T.run(NSLAB .. " list --json")
    assert.is_true(ok, out)
    local found
    for _, l in ipairs(json.decode(out)) do if l.lab == name then found = l end end
    assert.is_truthy(found)
    assert.are.equal(3, #found.nodes)
    out, ok = T.run(NSLAB .. " inspect " .. found.id)
    assert.is_true(ok, out)
    assert.matches("ns2%-veth0%s+UP%s+%S+ 198%.51%.100%.1/24 2001:db8:2::1/64", out)
    assert.matches("process %d+ sleep 300", out)
  end)

  it("runs a command and a shell in a node through the journal, /etc/netns applied", function()
    local out, ok = T.run(("%s exec %s router ip -br addr show dev gw-veth1"):format(NSLAB, name))
    assert.is_true(ok, out)
    assert.matches("198.51.100.254/24", out, 1, true)
    out = T.run(("%s exec %s ns1 sh -c 'exit 7'; echo rc=$?"):format(NSLAB, name))
    assert.matches("rc=7\n", out, 1, true)
    out, ok = T.run(("echo 'echo node=$NSLAB_NODE; ip -br link show dev ns2-veth0; grep ns1 /etc/hosts' | SHELL=/bin/sh %s shell %s ns2")
      :format(NSLAB, name))
    assert.is_true(ok, out)
    assert.matches("node=ns2\nns2%-veth0@if%d+%s+UP.*\n192%.0%.2%.1%s+ns1\n", out)
    out, ok = T.run(("%s exec %s nosuch true"):format(NSLAB, name))
    assert.is_falsy(ok)
    assert.matches("has no node 'nosuch' (nodes: ns1, ns2, router)", out, 1, true)
    out, ok = T.run(("%s inspect %s"):format(NSLAB, name .. "_not"))
    assert.is_falsy(ok)
    assert.matches("no lab '" .. name .. "_not' is up", out, 1, true)
  end)

  it("gives a shell on a terminal (tmux) where Ctrl-C reaches the shell's command, not nslab", function()
    local server = T.name("tmux")
    local rcfile = tmp()
    os.execute(("tmux -L %s new-session -d -x 120 -y 30 'SHELL=/bin/sh %s shell %s ns1; echo $? > %s'")
      :format(server, NSLAB, name, rcfile))
    local function screen() return (T.run("tmux -L " .. server .. " capture-pane -p")) end
    local function wait_for(s)
      assert(T.wait_until(function() return screen():find(s, 1, true) ~= nil end, 20), screen())
    end
    local ok, err = pcall(function()
      wait_for("in node ns1 of lab " .. name)
      os.execute("tmux -L " .. server .. " send-keys 'sleep 100' Enter")
      assert(T.wait_until(function()
        for pid in T.run("ip netns pids " .. prefix .. "ns1"):gmatch("%d+") do
          if (T.read("/proc/" .. pid .. "/cmdline") or ""):find("^sleep%z100%z") then return true end
        end
      end, 10), "sleep 100 did not start in ns1")
      os.execute("tmux -L " .. server .. " send-keys C-c")
      os.execute("tmux -L " .. server .. " send-keys 'echo alive-$NSLAB_NODE' Enter")
      wait_for("alive-ns1")
      os.execute("tmux -L " .. server .. " send-keys 'exit 4' Enter")
      assert(T.wait_until(function() return T.read(rcfile) ~= nil end, 20), screen())
    end)
    os.execute("tmux -L " .. server .. " kill-server 2>/dev/null")
    assert(ok, err)
    assert.are.equal("4\n", T.read(rcfile))
  end)
end)
