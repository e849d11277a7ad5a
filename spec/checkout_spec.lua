-- Plain `busted` in a checkout (no LUA_PATH, no LUA_CPATH, the distribution's
-- `busted` under whatever `lua` is) finds the Lua layer in lua/ and the module
-- in the build directory, through the checkout's .busted file, so an
-- engineer's own specs run with `busted` alone.
local T = require "spec.testlib"

local B = os.getenv("B") or "build"

-- Writes a spec file with the given body and runs plain busted on it from
-- the checkout; returns busted's output and whether it exited 0.
local function busted(body)
  local path = os.tmpname() .. "_spec.lua"
  local f = assert(io.open(path, "w"))
  f:write(body)
  f:close()
  local out, ok = T.run("env -u LUA_PATH -u LUA_CPATH -u LUA_PATH_5_4 -u LUA_CPATH_5_4 busted -o TAP " .. path)
  os.remove(path)
  return out, ok
end

describe("plain busted in a checkout", function()
  it("runs a spec under Lua 5.4 with lua/ and the build's netns.so", function()
    local out, ok = busted([[
describe("an engineer's spec", function()
  it("requires the lab layer and the module of this checkout", function()
    assert.are.equal("Lua 5.4", _VERSION)
    assert.truthy(require("netns").create)
    assert.truthy(require("netns.lab").new)
    assert.are.equal("./lua/netns/lab.lua", package.searchpath("netns.lab", package.path))
    print("cpath: " .. package.searchpath("netns", package.cpath))
  end)
end)
]])
    assert.is_true(ok, out)
    assert.matches("ok 1 - an engineer's spec requires", out, 1, true)
    assert.matches("cpath: ./" .. B .. "/netns.so", out, 1, true)
  end)

  it("exits non-zero when a spec fails", function()
    local out, ok = busted([[
describe("x", function() it("fails", function() assert.are.equal(1, 2) end) end)
]])
    assert.is_not_true(ok, out)
    assert.matches("not ok 1 - x fails", out, 1, true)
  end)
end)
