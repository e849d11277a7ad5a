-- netns.report: recording checks, the summary, TAP read by real `prove` and
-- TAP::Parser, and JUnit XML read by real XML parsers (Python's ElementTree
-- and lua-expat).
local report = require "netns.report"
local T = require "spec.testlib"

local function tmpname()
  local p = os.tmpname()
  return p
end

local function slurp(path) return assert(T.read(path)) end
local spit, run = T.write, T.run

-- Runs a program given as text (perl, python3) on a file, via a temporary
-- script file, so no shell quoting is involved.
local function run_script(interp, script, arg)
  local sp = os.tmpname()
  spit(sp, script)
  local out, ok = run(("%s %s %s"):format(interp, sp, arg))
  os.remove(sp)
  return out, ok
end

-- Text no TAP or XML writer handles by accident: markup, quotes, a TAP
-- directive, newlines, a control character, a stray byte, and real UTF-8.
local NASTY = 'a & b <c> "d" \'e\' # TODO not really\nline two\1 \255 ネットワーク'

local function sample()
  report.reset()
  report.record{ name = "ns1 reaches ns2", ok = true, expected = "reply", actual = "reply, TTL 64",
                 where = "lab.lua:10", time = 0.002 }
  report.stage("forwarding off")
  report.record{ name = "ns1 reaches ns3", ok = false, expected = "reply from 198.51.100.1",
                 actual = "100% loss (1 sent, 0 received)", where = "lab.lua:20" }
  report.record{ name = NASTY, ok = false, expected = NASTY, actual = NASTY, where = "x.lua:3" }
  report.stage("forwarding on")
  report.record{ name = "ns1 reaches ns3 again", ok = true }
end

describe("netns.report", function()
  after_each(function() report.reset() end)

  it("records checks with their stage and counts failures", function()
    sample()
    local list = report.checks()
    assert.equal(4, #list)
    assert.is_nil(list[1].stage)
    assert.equal("forwarding off", list[2].stage)
    assert.equal("forwarding on", list[4].stage)
    assert.equal(2, report.failed())
    assert.equal(2, report.passed())
    list[1] = nil  -- a copy: the record itself is untouched
    assert.equal(4, #report.checks())
    report.reset()
    assert.equal(0, #report.checks())
    assert.is_nil(report.current_stage())
  end)

  it("refuses a record without a name or a table", function()
    assert.has_error(function() report.record("x") end,
      "bad argument #1 to 'record' (table expected, got string)")
    assert.has_error(function() report.record{ ok = true } end,
      "bad argument #1 to 'record' (field 'name': string expected)")
    assert.has_error(function() report.stage(42) end,
      "bad argument #1 to 'stage' (string expected, got number)")
  end)

  describe("summary", function()
    it("lists each check, failures with expected and actual, and a totals line", function()
      sample()
      local buf = {}
      local ok = report.summary(function(s) buf[#buf + 1] = s end, { color = false })
      local s = table.concat(buf)
      assert.is_false(ok)
      assert.is_nil(s:find("\27", 1, true))
      assert.truthy(s:find("  PASS  ns1 reaches ns2\n", 1, true))
      assert.truthy(s:find("stage: forwarding off\n  FAIL  ns1 reaches ns3\n" ..
        "        expected: reply from 198.51.100.1\n" ..
        "        actual:   100% loss (1 sent, 0 received)\n" ..
        "        at lab.lua:20\n", 1, true))
      assert.truthy(s:find("stage: forwarding on\n  PASS  ns1 reaches ns3 again\n", 1, true))
      assert.truthy(s:find("4 checks: 2 passed, 2 failed\n$"))
    end)

    it("uses colour only when asked", function()
      sample()
      local buf = {}
      report.summary(function(s) buf[#buf + 1] = s end, { color = true })
      local s = table.concat(buf)
      assert.truthy(s:find("\27[31mFAIL\27[0m", 1, true))
      assert.truthy(s:find("\27[32mPASS\27[0m", 1, true))
    end)

    it("says so when nothing was checked", function()
      local buf = {}
      assert.is_true(report.summary(function(s) buf[#buf + 1] = s end))
      assert.equal("0 checks: 0 passed, 0 failed\n", table.concat(buf))
    end)
  end)

  describe("TAP", function()
    local path
    before_each(function() path = tmpname() end)
    after_each(function() os.remove(path) end)

    local function tap()
      local buf = {}
      report.tap(function(s) buf[#buf + 1] = s end)
      return table.concat(buf)
    end

    it("prints a plan, ok/not ok lines and YAML diagnostics", function()
      sample()
      local s = tap()
      assert.truthy(s:find("^TAP version 13\n1%.%.4\nok 1 %- ns1 reaches ns2\n"))
      assert.truthy(s:find("not ok 2 - [forwarding off] ns1 reaches ns3\n  ---\n", 1, true))
      assert.truthy(s:find('  expected: "reply from 198.51.100.1"\n', 1, true))
      assert.truthy(s:find('  actual: "100% loss (1 sent, 0 received)"\n', 1, true))
      assert.truthy(s:find('  at: "lab.lua:20"\n  stage: "forwarding off"\n  ...\n', 1, true))
      -- the "#" of the name is escaped, so it is not read as a TODO directive
      assert.truthy(s:find("not ok 3 - [forwarding off] a & b <c> \"d\" 'e' \\# TODO", 1, true))
      assert.truthy(s:find("ok 4 - [forwarding on] ns1 reaches ns3 again\n", 1, true))
    end)

    it("is read by prove: failures fail the run, all-passing passes", function()
      sample()
      spit(path, tap())
      local out, ok = run("prove -v --exec cat " .. path)
      assert.is_false(ok, out)
      assert.truthy(out:find("Failed 2/4 subtests", 1, true), out)
      assert.is_nil(out:find("TODO passed", 1, true), out)

      report.reset()
      report.record{ name = "a # b", ok = true }
      report.record{ name = "c", ok = true }
      spit(path, tap())
      out, ok = run("prove --exec cat " .. path)
      assert.is_true(ok, out)
      assert.truthy(out:find("Result: PASS", 1, true), out)
    end)

    it("has YAML blocks TAP::Parser reads back field by field", function()
      sample()
      spit(path, tap())
      local script = [==[
        use TAP::Parser;
        my $p = TAP::Parser->new({ exec => ['cat', $ARGV[0]] });
        while (my $r = $p->next) {
          if ($r->is_yaml) { my $d = $r->data; print "yaml:$d->{expected}|$d->{actual}|$d->{at}\n"; }
          if ($r->is_test) { print "test:", $r->number, ":", ($r->is_ok ? "ok" : "nok"),
                             ":", ($r->has_todo ? "todo" : ""), "\n"; }
        }
        print "errors:", scalar($p->parse_errors), "\n";
      ]==]
      local out = run_script("perl", script, path)
      assert.truthy(out:find("test:1:ok:\ntest:2:nok:\n", 1, true), out)
      assert.truthy(out:find("test:3:nok:\n", 1, true), out)  -- not a TODO
      assert.truthy(out:find("yaml:reply from 198.51.100.1|100% loss (1 sent, 0 received)|lab.lua:20\n", 1, true), out)
      assert.truthy(out:find("yaml:a & b <c> \"d\" 'e' # TODO not really\nline two", 1, true), out)
      assert.truthy(out:find("errors:0\n", 1, true), out)
    end)

    it("skips cleanly when nothing was checked", function()
      spit(path, tap())
      local out, ok = run("prove --exec cat " .. path)
      assert.is_true(ok, out)
    end)
  end)

  describe("JUnit", function()
    local path
    before_each(function() path = tmpname() end)
    after_each(function() os.remove(path) end)

    it("writes XML that ElementTree parses, with the counts and the failures", function()
      sample()
      assert.is_false(report.junit(path))
      local out, ok = run_script("python3", [[
import sys, xml.etree.ElementTree as E
r = E.parse(sys.argv[1]).getroot()
print(r.tag, r.get("tests"), r.get("failures"))
for s in r:
    print("suite", s.get("name"), s.get("tests"), s.get("failures"))
    for c in s:
        f = c.find("failure")
        print("case", repr(c.get("name")), "fail" if f is not None else "pass")
        if f is not None: print("text", repr(f.text))
]], path)
      assert.is_true(ok, out)
      assert.truthy(out:find("testsuites 4 2\n", 1, true), out)
      assert.truthy(out:find("suite checks 1 0\ncase 'ns1 reaches ns2' pass\n", 1, true), out)
      assert.truthy(out:find("suite forwarding off 2 2\n", 1, true), out)
      assert.truthy(out:find("text 'expected: reply from 198.51.100.1\\nactual:   100% loss (1 sent, 0 received)\\nat lab.lua:20'", 1, true), out)
      assert.truthy(out:find("suite forwarding on 1 0\n", 1, true), out)
      -- markup and quotes survive; the bad bytes became U+FFFD; UTF-8 kept
      assert.truthy(out:find("case 'a & b <c> \"d\" \\'e\\' # TODO not really\\nline two\u{FFFD} \u{FFFD} ネットワーク' fail", 1, true), out)
    end)

    it("is accepted by lua-expat, which checks well-formedness strictly", function()
      local lxp = require "lxp"
      sample()
      report.junit(path)
      local names, failures = {}, 0
      local p = lxp.new{
        StartElement = function(_, tag, attrs)
          if tag == "testcase" then names[#names + 1] = attrs.name end
          if tag == "failure" then failures = failures + 1 end
        end,
      }
      local ok, err, line = p:parse(slurp(path))
      assert(ok, ("%s at line %s"):format(tostring(err), tostring(line)))
      assert(p:parse())
      p:close()
      assert.equal(4, #names)
      assert.equal(2, failures)
      assert.equal("ns1 reaches ns3", names[2])
    end)

    it("raises with the path when the file cannot be written", function()
      sample()
      assert.has_error(function() report.junit("/nonexistent-dir/x.xml") end,
        "write JUnit report: /nonexistent-dir/x.xml: No such file or directory")
      assert.has_error(function() report.junit(nil) end,
        "bad argument #1 to 'junit' (file name expected, got nil)")
    end)
  end)
end)
