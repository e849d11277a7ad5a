-- netns.assertions: luassert (busted) assertions over netns.check, so a
-- project's own specs can say
--
--   require "netns.assertions"
--   assert.reachable(ns1, "192.0.2.2")
--   assert.unreachable(lab, "ns1", "ns2", { how = "timeout" })
--   assert.has_route(ns1, "default", { via = "192.0.2.254" })
--   assert.is_not.reachable(ns1, "198.51.100.1")
--
-- Every assertion takes an optional lab first (then nodes may be names),
-- runs the same check as netns.check without recording it in the report,
-- and on failure says what was checked, what was expected and what
-- happened. Requiring the module registers the assertions in luassert's
-- own registry (and their messages in say's); it sets no globals.
local luassert = require "luassert"
local say = require "say"
local check = require "netns.check"
local core = require "netns.check_core"

local M = {}

-- The spec's line: luassert calls the callback some frames below the spec's
-- assert.reachable(...), so the check's position is the first frame outside
-- luassert (and this file).
local function spec_position()
  for level = 3, 40 do
    local info = debug.getinfo(level, "Sl")
    if not info then return nil end
    if info.currentline > 0 and not info.short_src:find("luassert/", 1, true) then
      return ("%s:%d"):format(info.short_src, info.currentline)
    end
  end
end

-- The option table at position i, copied, with record = false.
local function unrecorded(t)
  local c = {}
  if type(t) == "table" then for k, v in pairs(t) do c[k] = v end
  elseif t ~= nil then return t end  -- let the check refuse it
  c.record = false
  return c
end

-- Builds an assertion from fn(lab, args...) -> ok, detail, where nopts is
-- the position (after the lab) of the options table that takes record=false.
local function assertion(name, fn, nopts)
  local key = "assertion.netns_" .. name
  say:set(key .. ".positive", "%s")
  say:set(key .. ".negative", "%s")
  local function callback(state, arguments)
    local lab, first = nil, 1
    if core.is_lab(arguments[1]) then lab, first = arguments[1], 2 end
    local args = {}
    for i = first, arguments.n do args[#args + 1] = arguments[i] end
    args[nopts] = unrecorded(args[nopts])
    local ok, d = core.at(spec_position(), fn, lab, table.unpack(args, 1, math.max(nopts, #args)))
    local msg
    if state.mod then
      msg = ("%s\n  expected: %s\n  actual:   %s"):format(d.name, d.expected or "?", d.actual or "?")
    else
      msg = ("expected this not to hold: %s\n  actual:   %s"):format(d.name, d.actual or "?")
    end
    if d.diagnosis then msg = msg .. "\n" .. d.diagnosis end
    for i = 1, arguments.n do arguments[i] = nil end
    arguments[1], arguments.n, arguments.nofmt = msg, 1, { true }
    return ok
  end
  luassert:register("assertion", name, callback, key .. ".positive", key .. ".negative")
end

-- assert.reachable([lab,] src, dst [, expect])
assertion("reachable", check.reachable, 3)
-- assert.unreachable([lab,] src, dst [, {how=, from=, ...}])
assertion("unreachable", check.unreachable, 3)
-- assert.has_route([lab,] node, dst [, {via=, dev=, metric=, table=, type=}])
assertion("has_route", check.expect_route, 3)
-- assert.has_addr([lab,] node, [dev,] address)
assertion("has_addr", function(lab, nd, dev, addr)
  if type(addr) == "table" then addr = nil end -- the options slot of (node, address)
  return check.expect_addr(lab, nd, dev, addr, { record = false })
end, 3)
-- assert.link_up([lab,] node, ifname)
assertion("link_up", check.expect_link_up, 3)
-- assert.has_neigh([lab,] node, address [, mac [, {dev=}]])
assertion("has_neigh", check.expect_neigh, 4)
-- assert.has_fdb([lab,] bridge_node, mac [, port [, {permanent=}]])
assertion("has_fdb", check.expect_fdb, 4)
-- assert.has_sysctl([lab,] node, key, value)
assertion("has_sysctl", check.expect_sysctl, 4)
-- assert.ping_all([lab,] {nodes=, expect=, ...})
assertion("ping_all", function(lab, opts)
  if type(opts) == "table" and opts.out == nil then opts.out = false end
  return check.ping_all(lab, opts)
end, 1)

M.names = { "reachable", "unreachable", "has_route", "has_addr", "link_up", "has_neigh", "has_fdb",
            "has_sysctl", "ping_all" }

return M
