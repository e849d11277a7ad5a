-- Every package a spec, example, benchmark or the Lua layer needs is on the
-- install list (in tools/install-deps), so make test passes on a fresh machine and
-- not only on one where somebody once installed the package by hand
-- (tools/check-deps does the finding and the mapping to Debian packages).
local T = require "spec.testlib"

local function check_deps(args)
  return T.run("lua5.4 tools/check-deps " .. (args or ""))
end

describe("the install list", function()
  it("has a package for every Lua module, program and Python module the tree uses", function()
    local out, ok = check_deps()
    assert(ok, "\n" .. out)
  end)

  it("missing a package fails the check, naming the package and what needs it", function()
    local out, ok = check_deps("--without lua-expat --without tcpdump")
    assert.is_falsy(ok, out)
    assert.matches("Lua module lxp %(spec/report_spec%.lua:%d+%) is %S+lxp%.so from lua%-expat, which "
      .. "%S+ does not list", out)
    assert.matches("program tcpdump %(%S+:%d+%) is %S+/tcpdump from tcpdump", out)
  end)

  describe("scanning a tree", function()
    local dir
    before_each(function()
      dir = T.run("mktemp -d"):gsub("%s+$", "")
      os.execute(("mkdir -p %s/spec %s/tools %s/lua/netns && cp tools/install-deps %s/tools/"):format(dir, dir, dir, dir))
    end)
    after_each(function() os.execute("rm -rf -- " .. dir) end)

    -- "@" stands for the prefix of the absent names, so that this file's own
    -- scan does not find them.
    local function file(path, text)
      local f = assert(io.open(dir .. "/" .. path, "w"))
      f:write((text:gsub("@", "nslabt-absent-"):gsub("nslabt%-absent%-mod", "nslabt_absent_mod")))
      f:close()
    end

    it("names a program in each way the code runs one, and nothing named only in prose", function()
      file("spec/x_spec.lua", [==[
-- a comment mentions require "@prose" and os.execute("@prose")
local x = require "@mod"
os.execute("@a -x 2>&1 | @b")
local out = T.run(("ip netns exec %s @c -n"):format(name))
local p = io.popen("FOO=1 @d && (@e)")
ns:exec({ "@f", "-v" })
node:spawn{ "@g" }
tools.need { "@h", "sh" }
local s = "--exec is not a comment"; T.run("lua5.4 -e 'require(\"x\")'")
obj:run("@prose")
]==])
      file("lua/netns/y.lua", [==[local tools = require "netns.tools"
local argv = { tools.argv0("@i") }
]==])
      local out, ok = check_deps("--root " .. dir)
      assert.is_falsy(ok, out)
      assert.matches("Lua module nslabt_absent_mod %(spec/x_spec%.lua:2%) is not installed", out)
      for c in ("abcdefgh"):gmatch(".") do
        assert.matches("program nslabt%-absent%-" .. c .. " %(spec/x_spec%.lua:%d+%) is not installed", out)
      end
      assert.matches("program nslabt%-absent%-i %(lua/netns/y%.lua:2%) is not installed", out)
      assert.is_nil(out:find("prose", 1, true), out)
      assert.is_nil(out:find("netns.tools", 1, true), out)
      assert.is_nil(out:find("program sh ", 1, true), out)
      assert.matches("10 of %d+ dependencies come from no listed package", out)
    end)
  end)
end)
