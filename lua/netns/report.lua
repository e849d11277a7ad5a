-- netns.report: the record of a run's checks, and its three renderings.
--
-- Every check (check.lua, or a script's own via report.record) appends one
-- entry: its name, whether it passed, what was expected and what happened,
-- the script line that made it and the stage it belongs to. At the end the
-- runner renders the list as a summary for people (colour only when asked),
-- as TAP for `prove` and TAP consumers, or as JUnit XML for CI systems.
-- Renderers never change the record, so a run can print several of them.
local report = {}

local checks = {}
local current_stage = nil

local function text(v)
  if v == nil then return "" end
  return tostring(v)
end

-- Appends a check. Fields: name (required), ok (required), expected, actual,
-- where ("file:line"), stage (defaults to the current stage), time (seconds),
-- detail (extra text). Returns the entry.
function report.record(c)
  if type(c) ~= "table" then
    error(("bad argument #1 to 'record' (table expected, got %s)"):format(type(c)), 2)
  end
  if type(c.name) ~= "string" or c.name == "" then
    error("bad argument #1 to 'record' (field 'name': string expected)", 2)
  end
  local e = {
    name = c.name, ok = c.ok and true or false,
    expected = c.expected ~= nil and text(c.expected) or nil,
    actual = c.actual ~= nil and text(c.actual) or nil,
    where = c.where, time = c.time, detail = c.detail,
    stage = c.stage or current_stage,
  }
  checks[#checks + 1] = e
  e.number = #checks
  return e
end

-- Starts a stage: the checks recorded after it belong to it (nil ends it).
function report.stage(name)
  if name ~= nil and type(name) ~= "string" then
    error(("bad argument #1 to 'stage' (string expected, got %s)"):format(type(name)), 2)
  end
  current_stage = name
  return name
end

function report.current_stage() return current_stage end

-- A copy of the list, so callers cannot reorder the record.
function report.checks()
  local t = {}
  for i, c in ipairs(checks) do t[i] = c end
  return t
end

function report.failed()
  local n = 0
  for _, c in ipairs(checks) do if not c.ok then n = n + 1 end end
  return n
end

function report.passed() return #checks - report.failed() end

function report.reset()
  checks = {}
  current_stage = nil
end

-- out: a file (anything with :write) or a function taking a string.
local function writer(out, default)
  out = out or default
  if type(out) == "function" then return out end
  return function(s) out:write(s) end
end

---------------------------------------------------------------- summary

local colors = { pass = "\27[32m", fail = "\27[31m", dim = "\27[2m", bold = "\27[1m", reset = "\27[0m" }

-- Continuation lines of a multi-line value line up under its first line.
local function indent(s, pad)
  return (s:gsub("\n", "\n" .. pad))
end

-- report.summary([out], {color=}): each check with PASS/FAIL, failures with
-- expected versus actual and the line that made them, then one totals line.
function report.summary(out, opts)
  local w = writer(out, io.stdout)
  opts = opts or {}
  local function c(k, s) return opts.color and (colors[k] .. s .. colors.reset) or s end
  local stage = false
  for _, e in ipairs(checks) do
    if e.stage ~= stage then
      stage = e.stage
      if stage then w(c("bold", ("stage: %s"):format(stage)) .. "\n") end
    end
    w(("  %s  %s\n"):format(e.ok and c("pass", "PASS") or c("fail", "FAIL"), e.name))
    if not e.ok then
      local pad = "              "
      if e.expected then w("        expected: " .. indent(e.expected, pad) .. "\n") end
      if e.actual then w("        actual:   " .. indent(e.actual, pad) .. "\n") end
      if e.detail then w("        " .. indent(text(e.detail), "        ") .. "\n") end
      if e.where then w(c("dim", "        at " .. e.where) .. "\n") end
    end
  end
  local failed = report.failed()
  local line = ("%d check%s: %d passed, %d failed"):format(#checks, #checks == 1 and "" or "s",
    #checks - failed, failed)
  w((failed > 0 and c("fail", line) or (#checks > 0 and c("pass", line) or line)) .. "\n")
  return failed == 0
end

---------------------------------------------------------------- TAP

-- A YAML double-quoted scalar: safe for any text, one line.
local function yaml_string(s)
  s = text(s):gsub('[%c"\\]', function(ch)
    if ch == "\n" then return "\\n" elseif ch == "\t" then return "\\t"
    elseif ch == '"' then return '\\"' elseif ch == "\\" then return "\\\\"
    elseif ch == "\r" then return "\\r" end
    return ("\\x%02x"):format(ch:byte())
  end)
  return '"' .. s .. '"'
end

-- A test line's description ends at a newline and "#" starts a directive.
local function tap_description(s)
  return (text(s):gsub("[\r\n]+", " "):gsub("\\", "\\\\"):gsub("#", "\\#"))
end

-- report.tap([out] [, {header=, bail=}]): TAP version 13, a plan, one
-- ok/not ok line per check ("[stage] name"), and for each failure a YAML
-- block with expected, actual, where and stage, as `prove` and TAP::Parser
-- read them. header = false leaves out the version line (nslab prints it
-- before the script runs, so that the script's own output comes after it);
-- bail = a message ends the stream with "Bail out! <its first line>", the
-- TAP way to say the run itself failed, which prove reports as such.
function report.tap(out, opts)
  local w = writer(out, io.stdout)
  opts = opts or {}
  if opts.header ~= false then w("TAP version 13\n") end
  local bail = opts.bail ~= nil and tostring(opts.bail):match("^[^\r\n]*") or nil
  if #checks == 0 then
    if bail then
      w("Bail out! " .. bail .. "\n")
      return false
    end
    w("1..0 # SKIP no checks were recorded\n")
    return true
  end
  w(("1..%d\n"):format(#checks))
  for i, e in ipairs(checks) do
    local name = e.stage and ("[%s] %s"):format(e.stage, e.name) or e.name
    w(("%s %d - %s\n"):format(e.ok and "ok" or "not ok", i, tap_description(name)))
    if not e.ok then
      w("  ---\n")
      w("  message: " .. yaml_string(e.name) .. "\n")
      w("  severity: fail\n")
      if e.expected then w("  expected: " .. yaml_string(e.expected) .. "\n") end
      if e.actual then w("  actual: " .. yaml_string(e.actual) .. "\n") end
      if e.detail then w("  detail: " .. yaml_string(e.detail) .. "\n") end
      if e.where then w("  at: " .. yaml_string(e.where) .. "\n") end
      if e.stage then w("  stage: " .. yaml_string(e.stage) .. "\n") end
      w("  ...\n")
    end
  end
  if bail then
    w("Bail out! " .. bail .. "\n")
    return false
  end
  return report.failed() == 0
end

---------------------------------------------------------------- JUnit

-- Text an XML 1.0 parser accepts: valid UTF-8 (bad bytes become U+FFFD),
-- none of the control characters XML forbids, and the five entities escaped.
local function xml_text(s)
  s = text(s)
  local out, i, n = {}, 1, #s
  while i <= n do
    local ch = s:match("^[\0-\127]", i) or s:match("^[\194-\244][\128-\191]*", i)
    local ok = ch and utf8.len(ch) == 1
    if ok and #ch > 1 then
      local cp = utf8.codepoint(ch)
      ok = not (cp == 0xFFFE or cp == 0xFFFF)
    elseif ok then
      local b = ch:byte()
      ok = b >= 32 or b == 9 or b == 10 or b == 13
    end
    if ok then
      out[#out + 1] = ch
      i = i + #ch
    else
      out[#out + 1] = "\239\191\189"
      i = i + 1
    end
  end
  -- Newlines and tabs as references, so attribute values keep them too.
  return (table.concat(out):gsub('[&<>"\'\n\r\t]', {
    ["&"] = "&amp;", ["<"] = "&lt;", [">"] = "&gt;", ['"'] = "&quot;", ["'"] = "&apos;",
    ["\n"] = "&#10;", ["\r"] = "&#13;", ["\t"] = "&#9;" }))
end

local function suites()
  local list, by = {}, {}
  for _, e in ipairs(checks) do
    local name = e.stage or "checks"
    if not by[name] then
      by[name] = { name = name, cases = {}, failures = 0, time = 0 }
      list[#list + 1] = by[name]
    end
    local s = by[name]
    s.cases[#s.cases + 1] = e
    if not e.ok then s.failures = s.failures + 1 end
    s.time = s.time + (e.time or 0)
  end
  return list
end

-- The JUnit XML document as a string (one testsuite per stage).
function report.junit_string(opts)
  opts = opts or {}
  local suite_name = opts.name or "nslab"
  local b = { '<?xml version="1.0" encoding="UTF-8"?>\n' }
  local total_time = 0
  for _, e in ipairs(checks) do total_time = total_time + (e.time or 0) end
  b[#b + 1] = ('<testsuites name="%s" tests="%d" failures="%d" errors="0" time="%.6f">\n')
    :format(xml_text(suite_name), #checks, report.failed(), total_time)
  for id, s in ipairs(suites()) do
    b[#b + 1] = ('  <testsuite id="%d" name="%s" tests="%d" failures="%d" errors="0" skipped="0" time="%.6f">\n')
      :format(id - 1, xml_text(s.name), #s.cases, s.failures, s.time)
    local classname = xml_text(suite_name .. "." .. s.name)
    for _, e in ipairs(s.cases) do
      local attrs = ('name="%s" classname="%s" time="%.6f"'):format(xml_text(e.name), classname, e.time or 0)
      if e.where then attrs = attrs .. (' file="%s"'):format(xml_text(e.where:match("^(.*):%d+$") or e.where)) end
      if e.ok then
        b[#b + 1] = ("    <testcase %s/>\n"):format(attrs)
      else
        local body = {}
        if e.expected then body[#body + 1] = "expected: " .. e.expected end
        if e.actual then body[#body + 1] = "actual:   " .. e.actual end
        if e.detail then body[#body + 1] = text(e.detail) end
        if e.where then body[#body + 1] = "at " .. e.where end
        local msg = e.actual and ("expected %s, got %s"):format(e.expected or "?", e.actual) or e.name
        b[#b + 1] = ("    <testcase %s>\n      <failure message=\"%s\" type=\"check\">%s</failure>\n    </testcase>\n")
          :format(attrs, xml_text(msg), xml_text(table.concat(body, "\n")))
      end
    end
    b[#b + 1] = "  </testsuite>\n"
  end
  b[#b + 1] = "</testsuites>\n"
  return table.concat(b)
end

-- report.junit(path [, opts]): writes the JUnit XML file; raises with the
-- path and the reason if it cannot be written.
function report.junit(path, opts)
  if type(path) ~= "string" or path == "" then
    error(("bad argument #1 to 'junit' (file name expected, got %s)"):format(type(path)), 2)
  end
  local f, err = io.open(path, "w")
  if not f then error(("write JUnit report: %s"):format(err), 2) end
  local ok, werr = f:write(report.junit_string(opts))
  f:close()
  if not ok then error(("write JUnit report %s: %s"):format(path, werr), 2) end
  return report.failed() == 0
end

return report
