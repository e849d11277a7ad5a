-- The interpreter itself (core/nslab/nslab.c), as lua.c behaves: scripts and their
-- arguments, -e, -i, standard input, -v, -h, error reports; and the module
-- from the stock lua5.4, from the build tree and after `make install`.
local T = require "spec.testlib"

local NSLAB = os.getenv("NSLAB") or "build/nslab"
local BUILD = NSLAB:match("^(.*)/nslab$") or "build"

local q = T.q

local function run(cmd)
  local out, _, rc = T.run(cmd)
  return out, rc
end

local function script(code)
  local p = os.tmpname()
  local f = assert(io.open(p, "w"))
  f:write(code)
  f:close()
  return p
end

describe("nslab, the interpreter", function()
  local files = {}
  after_each(function()
    for _, f in ipairs(files) do os.remove(f) end
    files = {}
  end)
  local function file(code)
    local p = script(code)
    files[#files + 1] = p
    return p
  end

  it("runs a script with its arguments in arg and ...", function()
    local p = file("print(arg[0], arg[1], arg[2], #arg, select('#', ...), ...)")
    local out, rc = run(NSLAB .. " " .. p .. " one two")
    assert.are.equal(0, rc)
    assert.are.equal(p .. "\tone\ttwo\t2\t2\tone\ttwo\n", out)
  end)

  it("has the netns module and the lab layer built in, and sets no globals of its own", function()
    local out, rc = run(NSLAB .. [[ -e "local n = require 'netns'; assert(require 'netns.lab');
      for _, g in ipairs{'netns', 'lab', 'nslab'} do assert(_G[g] == nil, g) end
      print(n._VERSION)"]])
    assert.are.equal(0, rc, out)
    assert.matches("^netns %d+%.%d+%.%d+\n$", out)
  end)

  it("reports an error as 'nslab: file:line: message' with a traceback, and exits 2", function()
    local p = file("local x = 1\nerror('boom')\n")
    local out, rc = run(NSLAB .. " " .. p)
    assert.are.equal(2, rc)
    assert.matches("^nslab: " .. p:gsub("%p", "%%%0") .. ":2: boom\nstack traceback:", out)
  end)

  it("reports a syntax error and exits 2", function()
    local out, rc = run(NSLAB .. " " .. file("local = 1\n"))
    assert.are.equal(2, rc)
    assert.matches("^nslab: .-:1: .*near '='", out)
  end)

  it("reports a missing script and exits 2", function()
    local out, rc = run(NSLAB .. " /nonexistent/script.lua")
    assert.are.equal(2, rc)
    assert.matches("cannot open /nonexistent/script.lua", out, 1, true)
  end)

  it("runs standard input with - and when stdin is not a terminal", function()
    local out, rc = run("echo 'print(6 * 7)' | " .. NSLAB .. " -")
    assert.are.equal(0, rc)
    assert.are.equal("42\n", out)
    out, rc = run("echo 'print(6 * 7)' | " .. NSLAB)
    assert.are.equal(0, rc)
    assert.are.equal("42\n", out)
  end)

  it("gives an interactive prompt with -i that prints expressions and continues lines", function()
    local out, rc = run("printf 'x = 20\\nx + 1\\nfor i = 1, 2 do\\nprint(i)\\nend\\n' | " .. NSLAB .. " -i")
    assert.are.equal(0, rc)
    assert.matches("21\n", out, 1, true)
    assert.matches("1\n2\n", out, 1, true)
  end)

  it("prints its version with -v and --version, and usage with -h and --help", function()
    for _, o in ipairs { "-v", "--version" } do
      local out, rc = run(NSLAB .. " " .. o)
      assert.are.equal(0, rc)
      assert.matches("^nslab %d+%.%d+%.%d+ %(Lua 5%.4", out)
    end
    for _, o in ipairs { "-h", "--help" } do
      local out, rc = run(NSLAB .. " " .. o)
      assert.are.equal(0, rc)
      assert.matches("usage: nslab", out, 1, true)
      assert.matches("--keep", out, 1, true)
    end
  end)

  it("takes GNU option forms (--junit=FILE, --prefix=P, --prefix P, -eCODE) and leaves what follows the script to it", function()
    local junit = os.tmpname()
    local code = "local l = require('netns.lab').new{name='g'}; l:host('a'); io.write(l.nodes.a.nsname, ' ')"
    local out, rc = run(NSLAB .. " --junit=" .. junit .. " --prefix=p1- -e " .. q(code))
    assert.are.equal(0, rc, out)
    assert.are.equal("p1-a ", out)
    assert.matches("<testsuites", T.read(junit) or "", 1, true)
    os.remove(junit)
    out, rc = run(NSLAB .. " --prefix p2- -e" .. q(code))
    assert.are.equal(0, rc, out)
    assert.are.equal("p2-a ", out)
    local p = file("io.write(table.concat(arg, ' '), '|', select('#', ...))")
    out, rc = run(NSLAB .. " --no-color " .. p .. " --keep --prefix=x -i")
    assert.are.equal(0, rc, out)
    assert.are.equal("--keep --prefix=x -i|3", out)
    out, rc = run(NSLAB .. " --prefix=x -- " .. p .. " -e")
    assert.are.equal(0, rc, out)
    assert.are.equal("-e|1", out)
  end)

  it("refuses an unknown option, a missing option argument, an argument to list and an unknown clean option", function()
    for _, args in ipairs { "--bogus", "--junit", "--prefix", "-e", "--keep=yes", "list x.lua", "clean --bogus" } do
      local out, rc = run(NSLAB .. " " .. args)
      assert.are.equal(2, rc, args)
      assert.is_truthy(out:find("usage: nslab", 1, true) or out:find("nslab list: list takes only", 1, true), out)
    end
  end)

  it("raises its soft open-files limit to the hard one, and children get the original back", function()
    local _, name = T.ns("fdl")
    local out, rc = run("ulimit -Sn 1024; " .. NSLAB .. [[ -e "
      for l in io.lines('/proc/self/limits') do
        if l:find('open files') then print(l:match('files%s+(%d+)')) end
      end
      local ns = require('netns').open(']] .. name .. [[')
      io.write(ns:exec({'sh', '-c', 'ulimit -Sn'}).stdout)"]])
    T.cleanup()
    assert.are.equal(0, rc, out)
    local hard = T.run("sh -c 'ulimit -Hn'"):match("%d+")
    assert.are.equal(hard .. "\n1024\n", out)
  end)

  it("turns SIGHUP into an error that runs <close> handlers, and exits 129", function()
    local p = file([[
      local x <close> = setmetatable({}, { __close = function() io.stderr:write("closed\n") end })
      io.stdout:write("ready\n"); io.stdout:flush()
      while true do end
    ]])
    -- HUP only once the script says it is in its loop (a slow machine takes
    -- longer than any fixed nap to load the Lua layer); 10 s at most.
    local log = p .. ".out"
    local out = run("(" .. NSLAB .. " " .. p .. " > " .. log .. " 2>&1 & pid=$!; i=0; " ..
      "until grep -q ready " .. log .. " || [ $i -ge 200 ]; do sleep 0.05; i=$((i+1)); done; " ..
      "kill -HUP $pid; wait $pid; echo \"exit=$?\"; cat " .. log .. "; rm -f " .. log .. ")")
    assert.matches("closed\n", out, 1, true)
    assert.matches("interrupted (HUP)", out, 1, true)
    assert.matches("exit=129", out, 1, true)
  end)
end)

describe("the netns module from the stock lua5.4", function()
  it("loads from the build tree with LUA_CPATH", function()
    local out, rc = run("cd " .. q(os.getenv("PWD") or ".") .. " && LUA_CPATH=" .. q(BUILD .. "/?.so;;")
      .. " LUA_PATH='lua/?.lua;;' lua5.4 -e 'print(require \"netns\"._VERSION, require \"netns.lab\" ~= nil)'")
    assert.are.equal(0, rc, out)
    assert.matches("^netns %S+\ttrue\n$", out)
  end)

  it("loads after make install into a DESTDIR, from where lua5.4 looks for modules", function()
    local dest = os.tmpname()
    os.remove(dest)
    local out, rc = run("make -s install B=" .. q(BUILD) .. " DESTDIR=" .. q(dest) .. " PREFIX=/usr/local")
    assert.are.equal(0, rc, out)
    out, rc = run("LUA_CPATH=" .. q(dest .. "/usr/local/lib/lua/5.4/?.so") .. " LUA_PATH="
      .. q(dest .. "/usr/local/share/lua/5.4/?.lua") .. " lua5.4 -e 'print(require \"netns\", "
      .. "require \"netns.lab\" ~= nil)'; " .. q(dest .. "/usr/local/bin/nslab") .. " -v")
    os.execute("rm -rf " .. q(dest))
    assert.are.equal(0, rc, out)
    assert.matches("^table: 0x%x+\ttrue\nnslab ", out)
  end)
end)
