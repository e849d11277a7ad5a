-- netns.check_core: every check (check.*, lab methods, tools.expect,
-- capture.expect) records through one path, stops the run on a failure when
-- asked, and raises and records at the script's line. Needs no root.
local core = require "netns.check_core"
local check = require "netns.check"
local report = require "netns.report"
local tools = require "netns.tools"
local capture = require "netns.capture"

local line = require("spec.testlib").here
local SRC = debug.getinfo(1, "S").short_src

describe("netns.check_core", function()
  before_each(function() report.reset() end)
  after_each(function()
    core.options.fail_fast = false
    report.reset()
  end)

  it("records tools.expect and capture.expect at the script's line", function()
    local here = line(); tools.expect("a fact", true, "x", "x")
    local pkts = { { proto = "icmp", src = "192.0.2.1" } }
    local there = line(); capture.expect(pkts, { proto = "tcp" }, "a tcp packet")
    local c = report.checks()
    assert.are.equal(2, #c)
    assert.are.equal(("%s:%d"):format(SRC, here), c[1].where)
    assert.are.equal(("%s:%d"):format(SRC, there), c[2].where)
    assert.is_true(c[1].ok)
    assert.is_false(c[2].ok)
  end)

  it("stops on a failed tools.expect or capture.expect under fail_fast, and only then", function()
    assert.is_false(tools.expect("not yet", false, "1", "2"))
    core.options.fail_fast = true
    local ok, e = pcall(tools.expect, "now", false, "1", "2")
    assert.is_false(ok)
    assert.is_true(core.is_stop(e))
    assert.are.equal("check failed: now\n  expected: 1\n  actual:   2", tostring(e))
    ok, e = pcall(capture.expect, {}, { proto = "udp" }, "no udp")
    assert.is_false(ok)
    assert.is_true(core.is_stop(e))
    assert.are.equal("no udp", e.detail.name)
    assert.are.equal(3, report.failed())
  end)

  it("puts argument errors at the script's line, through pcall and lab methods alike", function()
    local here = line(); local ok, e = pcall(check.reachable, nil, "nobody", "192.0.2.1")
    assert.is_false(ok)
    assert.are.equal(("%s:%d: bad argument #2 to 'reachable' (node or netns.Namespace expected, " ..
      "got string (node names need a lab))"):format(SRC, here), e)
    local fake = { nodes = {}, node = function() error("no such node") end, reachable = check.reachable }
    here = line(); ok, e = pcall(function() return fake:reachable("x", "192.0.2.1") end)
    assert.are.equal(("%s:%d: bad argument #2 to 'reachable' (unknown node 'x')"):format(SRC, here), e)
    here = line(); ok, e = pcall(capture.expect, {}, {}, 42)
    assert.are.equal(("%s:%d: bad argument #3 to 'expect' (check name expected)"):format(SRC, here), e)
  end)

  it("keeps the outer position when a check calls a check, and forgets it afterwards", function()
    local inner = core.api(function() return core.where() end)
    local outer = core.api(function() return inner() end)
    local here = line(); local w = outer()
    assert.are.equal(("%s:%d"):format(SRC, here), w)
    assert.is_nil(core.where())
    pcall(core.api(function() error("boom") end))
    assert.is_nil(core.where())
  end)
end)
