-- The layers of core/ are a build rule, not a habit: the engine's include
-- graph has no circles, an engine file that includes lua.h does not build
-- with the engine's own flags, and the module exports luaopen_netns only.
-- Needs no root (run by `make check`).
local T = require "spec.testlib"

-- The unit of a file: its name without extension and without "_int" (an
-- area's internal header, ping_int.h, belongs to that area).
local function unit(file)
  return (file:gsub("%.[ch]$", ""):gsub("_int$", ""))
end

-- unit -> set of units it includes (from its .c and .h files alike).
local function engine_graph()
  local g = {}
  for _, f in ipairs(require("netns").readdir("core/engine")) do
    if f:match("%.[ch]$") then
      local u = unit(f)
      g[u] = g[u] or {}
      for inc in T.read("core/engine/" .. f):gmatch('#include "([^"]+)"') do
        if unit(inc) ~= u then g[u][unit(inc)] = true end
      end
    end
  end
  return g
end

-- The first circle found as "a -> b -> a", or nil.
local function circle(g)
  local state, path = {}, {}
  local function visit(u)
    state[u] = "open"
    path[#path + 1] = u
    for v in pairs(g[u] or {}) do
      if state[v] == "open" then
        local i = 1
        while path[i] ~= v do i = i + 1 end
        return table.concat(path, " -> ", i) .. " -> " .. v
      end
      if not state[v] then
        local c = visit(v)
        if c then return c end
      end
    end
    path[#path] = nil
    state[u] = "done"
  end
  for u in pairs(g) do
    if not state[u] then
      local c = visit(u)
      if c then return c end
    end
  end
end

local function engine_cc()
  -- --no-print-directory: under `make -C DIR test` the inherited MAKEFLAGS
  -- make the child print "make[1]: Entering directory" around the command.
  local out, ok = T.run("make -s --no-print-directory engine-cc")
  assert(ok, out)
  return (out:gsub("%s+$", ""))
end

-- Compiles text as an engine file would be compiled; returns ok, output.
local function compile(text)
  local src = os.tmpname() .. ".c"
  local f = assert(io.open(src, "w"))
  f:write(text)
  f:close()
  local out, ok = T.run(("%s -fsyntax-only %s"):format(engine_cc(), src))
  os.remove(src)
  os.remove((src:gsub("%.c$", "")))
  return ok == true, out
end

describe("the layout of core/", function()
  it("has no circle in the engine's include graph", function()
    local g = engine_graph()
    assert.is_truthy(g.namespace and g.netlink and g.exec and g.process)
    assert.is_nil(circle(g))
  end)

  it("finds a circle when there is one (the check can fail)", function()
    local c = circle{ a = { b = true }, b = { a = true } }
    assert.is_true(c == "a -> b -> a" or c == "b -> a -> b")
    assert.is_nil(circle{ a = { b = true }, b = { c = true }, c = {} })
  end)

  it("puts entering a namespace below namespace handles and netlink sockets", function()
    local g = engine_graph()
    assert.is_true(g.namespace.netlink and g.netlink.nsenter and g.namespace.nsenter)
    assert.is_nil(next(g.nsenter))
    assert.is_true(g.process.exec)
    assert.is_nil(g.exec.process)
  end)

  it("builds an engine file with the engine's flags, but not one that includes lua.h", function()
    assert.is_true((compile('#include "namespace.h"\nint nsl_probe(void);\nint nsl_probe(void) { return 0; }\n')))
    local ok, out = compile('#include <lua.h>\n#include "namespace.h"\n')
    assert.is_false(ok)
    assert.matches("lua.h", out)
  end)

  it("exports luaopen_netns and nothing else of ours from netns.so", function()
    local so = (os.getenv("B") or "build") .. "/netns.so"
    local out, ok = T.run("nm -D --defined-only " .. so)
    assert(ok, out)
    local ours = {}
    for kind, sym in out:gmatch("%x+ (%u) (%S+)") do
      if kind ~= "U" and kind ~= "w" and kind ~= "A" then ours[#ours + 1] = sym end
    end
    assert.are.same({ "luaopen_netns" }, ours)
  end)
end)
