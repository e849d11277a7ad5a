-- The nslab program ($NSLAB, built by `make`): exit codes, reports, --keep,
-- signals (teardown runs), SIGKILL followed by `nslab clean` (which removes
-- the dead run's lab and spares everything else), `nslab list`, and two runs
-- of the same script side by side with --prefix.
local netns = require "netns"
local journal = require "netns.journal"
local T = require "spec.testlib"

local NSLAB = os.getenv("NSLAB") or "build/nslab"
local have = io.open(NSLAB) ~= nil

local files, jobs, prefixes = {}, {}, {}

local tmp = T.tmp

local read = T.read

local function script(code) return T.tmpfile(code, ".lua") end

local function prefix()
  local p = T.name("C") .. "-"
  prefixes[#prefixes + 1] = p
  return p
end

local q = T.q

-- Runs nslab to the end: output (stdout and stderr), exit code.
local function nslab(args)
  local out = tmp(".out")
  local ok, _, code = os.execute(("%s %s > %s 2>&1"):format(NSLAB, args, out))
  return read(out) or "", ok and 0 or code
end

-- Starts nslab in the background; the job knows its pid, output and code.
local function start(args)
  local base = tmp()
  local j = { out = base .. ".out", rcf = base .. ".rc", pidf = base .. ".pid" }
  files[#files + 1] = j.out; files[#files + 1] = j.rcf; files[#files + 1] = j.pidf
  os.execute(("( %s %s & echo $! > %s; wait $!; echo $? > %s ) > %s 2>&1 &")
    :format(NSLAB, args, j.pidf, j.rcf, j.out))
  assert(T.wait_until(function()
    local s = read(j.pidf)
    j.pid = s and tonumber(s:match("%d+"))
    return j.pid ~= nil
  end, 10), "nslab did not start")
  jobs[#jobs + 1] = j
  return j
end

local function output(j) return read(j.out) or "" end

local function wait_output(j, pattern, deadline)
  return T.wait_until(function() return output(j):find(pattern) ~= nil end, deadline or 20)
end

local function finish(j, deadline)
  local rc
  assert(T.wait_until(function()
    local s = read(j.rcf)
    rc = s and tonumber(s:match("%d+"))
    return rc ~= nil
  end, deadline or 30), "nslab did not finish")
  j.done = true
  return rc, output(j)
end

local ours = T.ours

local function cleanup()
  for _, j in ipairs(jobs) do
    if not j.done and j.pid then os.execute("kill -9 " .. j.pid .. " 2>/dev/null") end
  end
  jobs = {}
  -- Anything a killed job left: only names with our own test prefixes.
  for _, p in ipairs(prefixes) do
    for _, n in ipairs(ours(p)) do T.track(n) end
  end
  prefixes = {}
  T.cleanup()
  os.execute(NSLAB .. " clean > /dev/null 2>&1")
  for _, f in ipairs(files) do os.remove(f) end
  files = {}
end

-- ns1 - router - ns2 with checks; arg[1] chooses what happens next.
local ROUTER = [[
local lab = require "netns.lab"
local l <close> = lab.new { name = "cli" }
l:host("ns1", { default = "router" })
l:host("ns2", { default = arg[1] ~= "nodefault" and "router" or nil })
l:router("router")
l:link("ns1 192.0.2.1/24", "router 192.0.2.254/24")
l:link("ns2 198.51.100.1/24", "router 198.51.100.254/24")
l:up()
l:reachable("ns1", "198.51.100.1")
print("up") io.stdout:flush()
if arg[1] == "error" then error("scenario broke") end
if arg[1] == "exit3" then os.exit(3) end
if arg[1] == "sleep" then require("netns").sleep(60) end
if arg[1] == "nodefault" then l:reachable("ns2", "192.0.2.1") end
]]

describe("nslab", function()
  if not have then
    pending("$NSLAB (" .. NSLAB .. ") is not built yet")
    return
  end
  after_each(cleanup)

  it("exits 0 when every check passed, 1 when one failed, 2 when the script raised", function()
    local s = script(ROUTER)
    local p = prefix()
    local out, code = nslab(("--prefix %s %s"):format(p, s))
    assert.are.equal(0, code, out)
    assert.matches("1 check: 1 passed, 0 failed", out)
    out, code = nslab(("--prefix %s %s nodefault"):format(p, s))
    assert.are.equal(1, code, out)
    assert.matches("FAIL", out)
    out, code = nslab(("--prefix %s %s error"):format(p, s))
    assert.are.equal(2, code, out)
    assert.matches(":11: scenario broke", out)
    assert.matches("stack traceback", out)
    assert.are.same({}, ours(p))
  end)

  it("tears down when the script calls os.exit, and exits with its code", function()
    local p = prefix()
    local out, code = nslab(("--prefix %s %s exit3"):format(p, script(ROUTER)))
    assert.are.equal(3, code, out)
    assert.are.same({}, ours(p))
  end)

  it("exits 2 for bad usage", function()
    local _, code = nslab("--no-such-option")
    assert.are.equal(2, code)
  end)

  it("prints TAP with --tap and writes JUnit with --junit", function()
    local p, junit = prefix(), tmp(".xml")
    local out, code = nslab(("--tap --junit %s --prefix %s %s"):format(junit, p, script(ROUTER)))
    assert.are.equal(0, code, out)
    assert.matches("TAP version 13", out)
    assert.matches("\n1%.%.1\n", out)
    assert.matches("<testsuites", read(junit) or "")
  end)

  it("--tap prints the version line before the script's own output", function()
    local out = T.run(("{ %s --tap %s 2>/dev/null; }"):format(NSLAB, script([[
print("the script speaks")
require("netns.report").record { name = "a check of its own", ok = true }
]])))
    assert.are.equal("TAP version 13\nthe script speaks\n1..1\nok 1 - a check of its own\n", out)
  end)

  it("--tap ends a failed script with Bail out! and its message, which prove reports", function()
    local s = script([[
require("netns.report").record { name = "before the error", ok = true }
error("the script broke")
]])
    local out, code = nslab("--tap " .. s)
    assert.are.equal(2, code, out)
    local stdout = T.run(("{ %s --tap %s 2>/dev/null; }"):format(NSLAB, s))
    assert.matches("\nok 1 %- before the error\nBail out! " .. s:gsub("%p", "%%%0") .. ":2: the script broke\n$", stdout)
    local proved, ok = T.run(("prove --exec %s %s"):format(q(NSLAB .. " --tap"), s))
    assert.is_not_true(ok, proved)
    assert.matches("Bailout called.*the script broke", proved)
    -- an error before any check: no plan, only the bail out
    stdout = T.run(("{ %s --tap %s 2>/dev/null; }"):format(NSLAB, script('error("at once")')))
    assert.matches("^TAP version 13\nBail out! .*: at once\n$", stdout)
  end)

  for _, sig in ipairs({ { "INT", 130 }, { "TERM", 143 } }) do
    it("tears the lab down on SIG" .. sig[1] .. " and exits " .. sig[2], function()
      local p = prefix()
      local j = start(("--prefix %s %s sleep"):format(p, script(ROUTER)))
      assert.is_true(wait_output(j, "up\n"), output(j))
      assert.are.equal(3, #ours(p))
      os.execute(("kill -%s %d"):format(sig[1], j.pid))
      local rc, out = finish(j)
      assert.are.equal(sig[2], rc, out)
      assert.matches("interrupted", out)
      assert.are.same({}, ours(p))
    end)
  end

  it("--keep leaves the lab up and says how to enter it; list shows it; clean removes it", function()
    local p = prefix()
    local out, code = nslab(("--keep --prefix %s %s"):format(p, script(ROUTER)))
    assert.are.equal(0, code, out)
    assert.matches("ip netns exec " .. p:gsub("%p", "%%%0") .. "ns1", out)
    assert.are.equal(3, #ours(p))
    local list = nslab("list")
    assert.matches("kept by pid", list)
    assert.matches(p:gsub("%p", "%%%0") .. "router", list)
    local cl, ccode = nslab("clean")
    assert.are.equal(0, ccode, cl)
    assert.are.same({}, ours(p))
    assert.is_nil(nslab("list"):find(p, 1, true))
  end)

  it("after SIGKILL during up, clean removes that lab only: not `ip netns add`'s, not a live run's", function()
    local N = 200
    local big = script(([[
      local lab = require "netns.lab"
      local l = lab.new { name = "big" }
      l:switch("sw")
      for i = 1, %d do
        l:host("h" .. i)
        l:link(("h%%d 10.1.%%d.%%d/16"):format(i, i // 250, i %% 250 + 1), "sw:p" .. i)
      end
      l:up()
      print("up") io.stdout:flush()
      require("netns").sleep(60)
    ]]):format(N))
    -- a second lab, alive all along
    local live_p = prefix()
    local live = start(("--prefix %s %s sleep"):format(live_p, script(ROUTER)))
    assert.is_true(wait_output(live, "up\n"), output(live))
    -- a namespace of somebody else's
    local foreign = T.name("foreign")
    T.track(foreign)
    assert.is_true(select(2, T.run("ip netns add " .. foreign)))

    local p = prefix()
    local j = start(("--prefix %s %s"):format(p, big))
    local t_end = netns.now() + 20
    while not netns.exists(p .. "sw") and netns.now() < t_end do netns.sleep(0.001) end
    os.execute("kill -9 " .. j.pid)
    finish(j)
    local left = #ours(p)
    assert.is_true(left >= 1)
    assert.is_true(left < N + 1, "the run was not killed during up (all namespaces were made)")
    -- a planned name the dead run never made, now taken by someone else
    local last = p .. "h" .. N
    assert.is_false(netns.exists(last))
    assert.is_true(select(2, T.run("ip netns add " .. last)))

    -- Every namespace it made carries its mark from the start (set before
    -- the name appears), so clean removes them all; the only trace of one
    -- it was creating when killed is an empty file, which clean removes too.
    local out, code = nslab("clean")
    assert.are.equal(0, code, out)
    assert.are.same({ last }, ours(p))
    assert.is_true(netns.exists(foreign))
    assert.are.equal(3, #ours(live_p))
    for _, r in ipairs(journal.all()) do assert.is_not.equal("big", r.lab) end

    os.execute("kill -TERM " .. live.pid)
    local rc = finish(live)
    assert.are.equal(143, rc)
    assert.are.same({}, ours(live_p))
  end)

  it("runs the same script twice at once with different prefixes, both passing", function()
    local s = script(ROUTER .. 'require("netns").sleep(0.5) l:reachable("ns2", "192.0.2.1")\n')
    local p1, p2 = prefix(), prefix()
    local a = start(("--prefix %s %s"):format(p1, s))
    local b = start(("--prefix %s %s"):format(p2, s))
    local ra, oa = finish(a)
    local rb, ob = finish(b)
    assert.are.equal(0, ra, oa)
    assert.are.equal(0, rb, ob)
    assert.matches("2 checks: 2 passed", oa)
    assert.matches("2 checks: 2 passed", ob)
    assert.are.same({}, ours(p1))
    assert.are.same({}, ours(p2))
  end)

  it("runs -e code and tears its labs down", function()
    local p = prefix()
    local out, code = nslab(("--prefix %s -e %s"):format(p, q(
      'local l = require("netns.lab").new{} l:host("a") l:host("b") l:link("a 192.0.2.1/24", "b 192.0.2.2/24") l:up() print(#require("netns").list())')))
    assert.are.equal(0, code, out)
    assert.are.same({}, ours(p))
  end)
end)
