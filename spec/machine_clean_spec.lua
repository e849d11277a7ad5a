-- Runs last in `make test`: the suite must leave the machine as it found it.
-- Only what the tests could have made is compared, so that a lab of the
-- developer's (or of another suite) going up or down meanwhile is no
-- failure: namespaces with the specs' prefix (nslt<pid>-, spec/testlib.lua),
-- host links that were not there before, and run journals under /run/nslab
-- that plan such namespaces.
local T = require "spec.testlib"

local snap = os.getenv("NSLAB_TEST_SNAPSHOT") or "build/test-snapshot"

local function set_of(text)
  local t = {}
  for l in text:gmatch("[^\n]+") do t[l] = true end
  return t
end

local function file(path)
  local f = assert(io.open(path), "no snapshot: run the specs with `make test`")
  local s = f:read("a")
  f:close()
  return set_of(s)
end

-- The lines of cmd's output that were not in the snapshot and keep(line) accepts, sorted.
local function new_since(before, cmd, keep)
  local t = {}
  for l in pairs(set_of(T.run(cmd))) do
    if not before[l] and (not keep or keep(l)) then t[#t + 1] = l end
  end
  table.sort(t)
  return table.concat(t, "\n")
end

local function ours(name) return name:match("^nslt%d+%-") ~= nil end

describe("after the whole suite", function()
  it("no namespace of the specs (nslt<pid>-...) is left", function()
    local before = file(snap .. "/netns.before")
    local left
    -- `ip netns list` reads /run/netns, which changes at once; a short grace
    -- period covers a spec whose background cleanup is still finishing.
    T.wait_until(function()
      left = new_since(before, "ip netns list | awk '{print $1}'", ours)
      return left == ""
    end, 10)
    assert.are.equal("", left)
  end)

  it("the host has no link it did not have before", function()
    local before = file(snap .. "/links.before")
    local left
    T.wait_until(function()
      left = new_since(before, "ip -o link show | awk -F': ' '{print $2}'")
      return left == ""
    end, 10)
    assert.are.equal("", left)
  end)

  it("no run journal under /run/nslab plans a namespace of the specs", function()
    local before = file(snap .. "/journal.before")
    local left = new_since(before, "ls -A /run/nslab 2>/dev/null", function(entry)
      local text = T.read("/run/nslab/" .. entry) or ""
      return text:match("\nplan ns nslt%d+%-") ~= nil
    end)
    assert.are.equal("", left)
  end)
end)
