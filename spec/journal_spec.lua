-- netns.journal: every lab is journalled under /run/nslab with its owner (pid
-- and start time) before anything is made, and marked; clean removes exactly
-- the leftovers of runs whose owner is gone, and nothing else.
local netns = require "netns"
local lab = require "netns.lab"
local journal = require "netns.journal"
local T = require "spec.testlib"

local victims = {}

local function newlab(name)
  local l = lab.new { name = name or "jtest", prefix = T.name("J") .. "-" }
  T.track_lab(l)
  l:host("a"); l:host("b")
  l:link("a 192.0.2.1/24", "b 192.0.2.2/24")
  return l
end

local function cleanup()
  for i = #victims, 1, -1 do
    os.execute("kill -9 " .. victims[i].pid .. " 2>/dev/null")
    victims[i].pipe:close()
    T.track(victims[i].prefix .. "a"); T.track(victims[i].prefix .. "b")
    os.remove(victims[i].journal)
    victims[i] = nil
  end
  T.cleanup()
end

local read = T.read

-- A separate Lua process that brings a lab up and waits: its pid and journal.
local function victim()
  local prefix = T.name("V") .. "-"
  local script = ([[
    local lab = require "netns.lab"
    local l = lab.new { name = "victim", prefix = %q }
    l:host("a"); l:host("b")
    l:link("a 192.0.2.1/24", "b 192.0.2.2/24")
    l:up()
    io.write(require("netns.journal").proc(), " ", l.journal.path, "\n")
    io.flush()
    require("netns").sleep(60)
  ]]):format(prefix)
  local pipe = assert(io.popen("exec lua5.4 -e '" .. script:gsub("'", "'\\''") .. "'"))
  local line = pipe:read("l")
  assert(line, "the victim did not come up")
  local pid, path = line:match("^(%d+) (%S+)$")
  local v = { pid = tonumber(pid), journal = path, prefix = prefix, pipe = pipe }
  victims[#victims + 1] = v
  return v
end

local function kill9(v)
  os.execute("kill -9 " .. v.pid)
  assert.is_true(T.wait_until(function() return not journal.alive(v.pid, select(2, journal.proc(v.pid))) end, 5))
end

local function sink()
  local t = {}
  return { write = function(self, ...) for _, s in ipairs({ ... }) do t[#t + 1] = s end return self end,
    text = function() return table.concat(t) end }
end

describe("the ownership journal", function()
  after_each(cleanup)

  it("knows a process by pid and start time, so a recycled pid is not the owner", function()
    local pid, start = journal.proc()
    assert.are.equal(T.pid, pid)
    assert.matches("^%d+$", start)
    assert.is_true(journal.alive(pid, start))
    assert.is_false(journal.alive(pid, tostring(tonumber(start) + 1)))
    assert.is_false(journal.alive(2 ^ 22 + 7, start))
  end)

  it("is written before the lab is made, records owner and plan, and goes with down", function()
    local l = newlab()
    l:up()
    local text = read(l.journal.path)
    assert.is_not_nil(text)
    local pid, start = journal.proc()
    assert.matches("owner " .. pid .. " " .. start .. "\n", text, 1, true)
    for _, name in ipairs(l:namespaces()) do
      assert.matches("plan ns " .. name .. "\n", text, 1, true)
      assert.are.equal(l.journal.mark, T.ipj("-n", name, "link", "show", "lo")[1].ifalias)
    end
    l:down()
    assert.is_nil(read(l.journal.path))
  end)

  it("clean leaves a live run's lab alone", function()
    local l = newlab()
    l:up()
    local out = sink()
    journal.clean(out)
    for _, name in ipairs(l:namespaces()) do assert.is_true(netns.exists(name)) end
    assert.is_not_nil(read(l.journal.path))
    assert.is_nil(out.text():find(l.journal.id, 1, true))
    l:down()
  end)

  it("clean removes a SIGKILLed run's lab and its journal", function()
    local v = victim()
    assert.is_true(netns.exists(v.prefix .. "a"))
    kill9(v)
    assert.is_true(netns.exists(v.prefix .. "a"))
    local out = sink()
    assert.are.equal(0, journal.clean(out))
    assert.matches("deleted namespace " .. v.prefix:gsub("%p", "%%%0") .. "a", out.text())
    assert.is_false(netns.exists(v.prefix .. "a"))
    assert.is_false(netns.exists(v.prefix .. "b"))
    assert.is_nil(read(v.journal))
  end)

  it("clean spares a namespace of the dead run's name that is not its own", function()
    local v = victim()
    kill9(v)
    -- Someone replaced b by a namespace of their own (ip netns add): no mark.
    local b = v.prefix .. "b"
    assert.is_true(select(2, T.run("ip netns del " .. b)))
    assert.is_true(select(2, T.run("ip netns add " .. b)))
    -- and a carries somebody else's mark
    assert.is_true(select(2, T.run("ip -n " .. v.prefix .. "a link set lo alias nslab:someone-else")))
    local out = sink()
    journal.clean(out)
    assert.is_true(netns.exists(b))
    assert.is_true(netns.exists(v.prefix .. "a"))
    assert.matches("spared namespace " .. b:gsub("%p", "%%%0"), out.text())
  end)

  it("clean goes by the mark alone: a namespace whose mark was removed is spared", function()
    local v = victim()
    kill9(v)
    local a = v.prefix .. "a"
    assert.is_true(select(2, T.run("ip -n " .. a .. " link set lo alias ''")))
    local out = sink()
    journal.clean(out)
    assert.is_true(netns.exists(a))
    assert.is_false(netns.exists(v.prefix .. "b"))
    assert.matches("spared namespace " .. a:gsub("%p", "%%%0"), out.text())
    netns.delete(a)
  end)

  it("list shows live labs with their owner and dead ones as left behind", function()
    local l = newlab("listed")
    l:up()
    local v = victim()
    kill9(v)
    local out = sink()
    journal.list(out)
    local pid = journal.proc()
    assert.matches(l.journal.id:gsub("%p", "%%%0") .. "  lab listed  owner pid " .. pid .. " %(running%)", out.text())
    assert.matches("lab victim  owner pid " .. v.pid .. " is gone", out.text())
    journal.clean(sink())
    l:down()
  end)

end)
