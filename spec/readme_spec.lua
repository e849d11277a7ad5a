-- The Lua examples of the README and of doc/ run as shown (with a test
-- prefix on namespace names), so the manual cannot drift from the code.
-- Every README block runs; in doc/, a block runs when it is a script of its
-- own, one that starts by requiring a module (`local netns = require
-- "netns"`). Fragments that continue an example start with a comment saying
-- what they need (`-- lab: the ns1 - router - ns2 lab of lab.md, up`).
local T = require "spec.testlib"

local NSLAB = os.getenv("NSLAB") or "build/nslab"

local function blocks(path, all)
  local text = assert(T.read(path))
  local out = {}
  for code in text:gmatch("```lua\n(.-)```") do
    if all or code:match("^local [%w_]+ = require[ (]") then out[#out + 1] = code end
  end
  return out
end

local docs = {}
for _, dir in ipairs { "doc", "doc/api" } do
  for _, f in ipairs(require("netns").readdir(dir)) do
    if f:match("%.md$") then docs[#docs + 1] = dir .. "/" .. f end
  end
end

describe("the manual (README.md, doc/)", function()
  after_each(T.cleanup)

  local list = {}
  for i, code in ipairs(blocks("README.md", true)) do list[#list + 1] = { "README.md", i, code } end
  it("has Lua examples", function() assert.is_true(#list >= 2) end)
  for _, doc in ipairs(docs) do
    for i, code in ipairs(blocks(doc)) do list[#list + 1] = { doc, i, code } end
  end

  for _, ex in ipairs(list) do
    local doc, i, code = table.unpack(ex)
    it(doc .. " example " .. i .. " runs and exits 0: " .. code:match("^[^\n]*"), function()
      local prefix = T.name("rd") .. "-"
      -- Raw netns calls name their namespaces themselves: prefix those too.
      local src = code:gsub('netns%.(%w+)%("', function(f)
        if f == "create" or f == "delete" or f == "open" or f == "exists" then
          return 'netns.' .. f .. '("' .. prefix
        end
      end)
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
