-- Packaging: the man page nslab(1) renders with man -l and covers every
-- option of --help, the exit statuses, files and environment; make install
-- puts it in share/man/man1 and make uninstall removes exactly what install
-- put; `luarocks make` turns the rockspec into a tree where the stock
-- lua5.4 finds the netns module and the Lua layer.
local T = require "spec.testlib"

local NSLAB = os.getenv("NSLAB") or "build/nslab"
local BUILD = NSLAB:match("^(.*)/nslab$") or "build"

local function q(s) return "'" .. s:gsub("'", "'\\''") .. "'" end

local function tempdir()
  local d = os.tmpname()
  os.remove(d)
  assert(os.execute("mkdir -p " .. q(d)))
  return d
end

local function files_under(d)
  local out = T.run("cd " .. q(d) .. " && find . -type f | sort")
  local t = {}
  for l in out:gmatch("[^\n]+") do t[#t + 1] = l end
  return t
end

describe("the man page", function()
  it("renders with man -l and documents every option, exit status, files and environment", function()
    local page, ok = T.run("MANWIDTH=100 man -l doc/nslab.1")
    assert.is_true(ok, page)
    for _, section in ipairs({ "NAME", "SYNOPSIS", "OPTIONS", "THE PROMPT", "COMMANDS", "EXIT STATUS",
      "ENVIRONMENT", "FILES" }) do
      assert.matches("\n" .. section .. "\n", page, 1, true)
    end
    local help = T.run(NSLAB .. " --help")
    for opt in help:gmatch("%s(%-%-?[%w-]+)") do
      assert.matches(opt, page, 1, true)
    end
    for cmd in help:match("Commands:\n(.-)Exit"):gmatch("\n  (%a+)") do
      assert.matches("\n       " .. cmd, page, 1, true)
    end
    for _, s in ipairs({ "128+N", "NSLAB_PREFIX", "NSLAB_HISTORY", "NO_COLOR", "/run/nslab" }) do
      assert.matches(s, page, 1, true)
    end
  end)
end)

describe("make install and make uninstall", function()
  it("install the man page with the rest, and uninstall removes exactly what install put", function()
    local dest = tempdir()
    local mine = q(dest .. "/usr/local/share/lua/5.4/mine.lua")
    os.execute("mkdir -p " .. q(dest .. "/usr/local/share/lua/5.4") .. " && touch " .. mine)
    local out, ok = T.run("make -s install B=" .. q(BUILD) .. " DESTDIR=" .. q(dest))
    assert.is_true(ok, out)
    local installed = files_under(dest)
    assert.is_truthy(T.read(dest .. "/usr/local/share/man/man1/nslab.1"))
    assert.is_truthy(T.read(dest .. "/usr/local/share/lua/5.4/netns/cli.lua"))
    local page = T.run("MANWIDTH=80 man -l " .. q(dest .. "/usr/local/share/man/man1/nslab.1"))
    assert.matches("nslab %- run, explore and test", page)
    out, ok = T.run("make -s uninstall DESTDIR=" .. q(dest))
    assert.is_true(ok, out)
    assert.are.same({ "./usr/local/share/lua/5.4/mine.lua" }, files_under(dest))
    assert.is_true(#installed > 20)
    os.execute("rm -rf " .. q(dest))
  end)
end)

describe("the LuaRocks rockspec", function()
  it("luarocks make installs a tree where the stock lua5.4 requires netns and netns.lab", function()
    local tree = tempdir()
    -- Debian ships dkjson and lyaml as packages, not rocks: no network here.
    local out, ok = T.run("luarocks --lua-version 5.4 make --tree " .. q(tree) .. " --deps-mode=none nslab-0.1.0-1.rockspec")
    assert.is_true(ok, out)
    local paths = T.run("luarocks --lua-version 5.4 --tree " .. q(tree) .. " path")
    out, ok = T.run(paths:gsub("\n", "; ") .. " cd / && lua5.4 -e " .. q([[
      local n = require "netns"
      local lab = require "netns.lab"
      print(n._VERSION, package.searchpath("netns", package.cpath), type(lab.new))]]))
    assert.is_true(ok, out)
    assert.matches("^netns %S+\t" .. tree:gsub("%p", "%%%0") .. "/lib/lua/5%.4/netns%.so\tfunction\n$", out)
    assert.is_truthy(T.read(tree .. "/bin/nslab"))
    os.execute("rm -rf " .. q(tree))
  end)
end)

describe("the nslab binary", function()
  it("carries the Lua layer as bytecode that keeps its source's name and lines", function()
    local bin = assert(T.read(NSLAB))
    -- Bytecode, not source text: a line of lua/netns/ipaddr.lua is not in it.
    assert.is_nil(bin:find("function M.contains(", 1, true), NSLAB .. " holds lua/netns/ipaddr.lua as text")
    local src = assert(T.read("lua/netns/ipaddr.lua"))
    local at = assert(src:find("\nfunction M%.contains%("), "ipaddr.lua defines no M.contains")
    local line = select(2, src:sub(1, at):gsub("\n", "")) + 1
    -- From a directory with no lua/ tree, the embedded function still says
    -- where its source is, at the line it is defined on.
    local dir = tempdir()
    local abs = NSLAB:sub(1, 1) == "/" and NSLAB or os.getenv("PWD") .. "/" .. NSLAB
    local out, ok = T.run(("cd %s && %s -e %s"):format(q(dir), q(abs),
      q('local i = debug.getinfo(require("netns.ipaddr").contains, "S") print(i.source, i.linedefined)')))
    os.execute("rm -rf " .. q(dir))
    assert.is_true(ok, out)
    assert.are.equal(("@lua/netns/ipaddr.lua\t%d\n"):format(line), out)
  end)
end)
