-- The README's Lua examples run as shown (with a test prefix on namespace
-- names), so the manual cannot drift from the code.
local T = require "spec.testlib"

local NSLAB = os.getenv("NSLAB") or "build/nslab"

local function blocks()
  local text = assert(T.read("README.md"))
  local out = {}
  for code in text:gmatch("```lua\n(.-)```") do out[#out + 1] = code end
  return out
end

describe("the README", function()
  after_each(T.cleanup)

  local list = blocks()
  it("has Lua examples", function() assert.is_true(#list >= 2) end)

  for i, code in ipairs(list) do
    it("example " .. i .. " runs and exits 0: " .. code:match("^[^\n]*"), function()
      local prefix = T.name("rd") .. "-"
      -- Raw netns calls name their namespaces themselves: prefix those too.
      local src = code:gsub('netns%.create%("', 'netns.create("' .. prefix)
      local path = os.tmpname()
      local f = assert(io.open(path, "w"))
      f:write(src)
      f:close()
      local out, ok = T.run(("%s --prefix %s %s"):format(NSLAB, prefix, path))
      os.remove(path)
      -- Whatever happened, remove what it made (after noting what was left).
      local left = {}
      for name in T.run("ip netns list"):gmatch("(%S+)[^\n]*\n") do
        if name:find(prefix, 1, true) then left[#left + 1] = name; T.track(name) end
      end
      assert.is_true(ok, out)
      assert.is_nil(out:find("FAIL", 1, true), out)
      assert.are.same({}, left)
    end)
  end
end)
