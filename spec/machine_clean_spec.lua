-- Runs last in `make test`: the suite must leave the machine as it found it.
local T = require "spec.testlib"

local snap = os.getenv("NSLAB_TEST_SNAPSHOT") or "build/test-snapshot"

local function lines(cmd)
  local out = T.run(cmd)
  local t = {}
  for l in out:gmatch("[^\n]+") do t[#t + 1] = l end
  table.sort(t)
  return table.concat(t, "\n")
end

local function file(path)
  local f = assert(io.open(path), "no snapshot: run the specs with `make test`")
  local s = f:read("a"):gsub("\n$", "")
  f:close()
  return s
end

describe("after the whole suite", function()
  it("the named namespaces are exactly those there were before", function()
    local before = file(snap .. "/netns.before")
    local now
    -- `ip netns list` reads /run/netns, which changes at once; a short grace
    -- period covers a spec whose background cleanup is still finishing.
    T.wait_until(function()
      now = lines("ip netns list | awk '{print $1}'")
      return now == before
    end, 10)
    assert.are.equal(before, now)
  end)

  it("the host's links are exactly those there were before", function()
    local before = file(snap .. "/links.before")
    local now
    T.wait_until(function()
      now = lines("ip -o link show | awk -F': ' '{print $2}'")
      return now == before
    end, 10)
    assert.are.equal(before, now)
  end)

  it("the run journals under /run/nslab are exactly those there were before", function()
    local before = file(snap .. "/journal.before")
    assert.are.equal(before, lines("ls -A /run/nslab 2>/dev/null"))
  end)
end)
