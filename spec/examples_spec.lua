-- The scenarios in examples/: each runs alone under nslab with a prefix no
-- user would pick, exits 0 (every check passed), and leaves nothing behind:
-- no namespace, no journal entry under /run/nslab, no /etc/netns directory
-- (the lab kills the processes it started, or its namespaces would linger).
local T = require "spec.testlib"

local NSLAB = os.getenv("NSLAB") or "build/nslab"

local function lines(cmd)
  local out = T.run(cmd)
  local t = {}
  for l in out:gmatch("[^\n]+") do t[#t + 1] = l end
  table.sort(t)
  return t
end

-- What a run with this prefix may have made. Other specs run at the same
-- time, so only names with the prefix count.
local function leftovers(prefix)
  local t = {}
  for _, n in ipairs(lines("ip netns list | awk '{print $1}'")) do
    if n:find(prefix, 1, true) == 1 then t[#t + 1] = "namespace " .. n end
  end
  for _, n in ipairs(lines("ls -A /etc/netns 2>/dev/null")) do
    if n:find(prefix, 1, true) == 1 then t[#t + 1] = "/etc/netns/" .. n end
  end
  for _, f in ipairs(lines("ls -A /run/nslab 2>/dev/null")) do
    local h = io.open("/run/nslab/" .. f)
    local text = h and h:read("a") or ""
    if h then h:close() end
    if text:find(prefix, 1, true) then t[#t + 1] = "journal /run/nslab/" .. f end
  end
  return t
end

-- Runs a command; returns its output (stdout and stderr) and exit status.
local function run(cmd)
  local out, _, code = T.run(cmd)
  return out, code
end

describe("examples/", function()
  after_each(T.cleanup)

  local list = T.examples()
  it("holds the twelve scenarios of the tour", function()
    local have = {}
    for _, f in ipairs(list) do have[f:match("([^/]+)%.lua$")] = true end
    for _, name in ipairs { "hello_namespace", "one_segment", "router", "two_routers", "mac_rewrite",
      "bridge", "tcp_udp", "http_names", "dhcp", "nat", "ipv6", "firewall" } do
      assert.is_true(have[name], "examples/" .. name .. ".lua is missing")
    end
  end)

  for i, file in ipairs(list) do
    it(("%s runs alone, passes every check and leaves nothing behind"):format(file), function()
      local prefix = ("%sex%d-"):format(T.prefix, i)
      local out, code = run(("%s --no-color --prefix %s %s"):format(NSLAB, prefix, file))
      if code == 77 then
        pending(file .. " skipped: a tool is missing: " .. out)
        return
      end
      assert.are.equal(0, code, file .. " exited " .. tostring(code) .. ":\n" .. out)
      assert.is_nil(out:find("FAIL", 1, true), out)
      assert.are.same({}, leftovers(prefix), "left behind")
    end)
  end

  it("--trace shows the book's commands for router.lua", function()
    local prefix = T.prefix .. "tr-"
    local out, code = run(("%s --no-color --trace --prefix %s examples/router.lua"):format(NSLAB, prefix))
    assert.are.equal(0, code, out)
    for _, want in ipairs {
      "ip netns add " .. prefix .. "ns1",
      "type veth peer name gw-veth0",
      "addr add 192.0.2.254/24",
      "ip -n " .. prefix .. "ns1 route add default via 192.0.2.254",
      "ip netns exec " .. prefix .. "router sysctl -w net.ipv4.ip_forward=1",
      "ip netns exec " .. prefix .. "ns1 ping",
      "ip netns delete " .. prefix .. "router",
    } do
      assert.is_truthy(out:find(want, 1, true), "trace lacks: " .. want .. "\n" .. out)
    end
  end)

  it("--trace shows the tools a scenario runs, by the names the book uses", function()
    local prefix = T.prefix .. "tr2-"
    local out, code = run(("%s --no-color --trace --prefix %s examples/tcp_udp.lua"):format(NSLAB, prefix))
    if code == 77 then return pending("tools missing: " .. out) end
    assert.are.equal(0, code, out)
    assert.is_truthy(out:find("ip netns exec " .. prefix .. "ns2 nc -l 54321", 1, true), out)
    assert.is_truthy(out:find("ip netns exec " .. prefix .. "ns2 tcpdump -i ns2-veth0", 1, true), out)
  end)

  it("a missing tool stops a scenario before it builds anything, with exit status 77", function()
    local out, code = run(("%s --no-color -e 'require(\"netns.tools\").need{\"nc\", \"nslab-no-such-tool\"}'")
      :format(NSLAB))
    assert.are.equal(77, code, out)
    assert.is_truthy(out:find("needs nslab-no-such-tool", 1, true), out)
    assert.is_truthy(out:find("apt-get install nslab-no-such-tool", 1, true), out)
    assert.is_nil(out:find("needs nc", 1, true), out)
  end)
end)
