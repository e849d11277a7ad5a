-- star_nslab.lua N PREFIX [--core]: the star benchmark with nslab, run by
-- build/nslab (or lua5.4 with the module on LUA_CPATH). Same topology and
-- protocol as bench/star_raw.c: build, print "built", read a line, tear down.
--   default  the lab is a Lua description (netns.lab): one switch "br" (a
--            namespace with bridge br0) and N hosts linked to it; l:up(),
--            then l:down(), which returns once the kernel has destroyed the
--            namespaces
--   --core   the same with the netns core calls only (no lab layer, no
--            journal): shows what the lab layer costs on top
--   --probe  exits 0 if this build of nslab has what the benchmark needs
local netns = require "netns"

local args = { ... }
if #args == 0 and arg then args = arg end

if args[1] == "--probe" then
  local ok, lab = pcall(require, "netns.lab")
  local M = netns.Namespace or {}
  os.exit(ok and type(lab.new) == "function" and M.link_add and M.addr_add and M.link_set and 0 or 1)
end

local n, prefix, mode = tonumber(args[1]), args[2], args[3]
assert(n and prefix, "usage: star_nslab.lua N PREFIX [--core]")

local function addr(i) return ("10.200.%d.%d/16"):format(i >> 8, i & 255) end

local function wait_go()
  io.stdout:write("built\n")
  io.stdout:flush()
  io.stdin:read("l")
end

if mode == "--core" then
  local br = netns.create(prefix .. "br")
  br:link_set("lo", { up = true })
  br:link_add { name = "br0", kind = "bridge", up = true }
  for i = 1, n do
    local h = netns.create(prefix .. "h" .. i)
    br:link_add { name = "v" .. i, kind = "veth", master = "br0", up = true,
                  peer = { name = "eth0", ns = h } }
    h:link_set("lo", { up = true })
    h:link_set("eth0", { up = true })
    h:addr_add("eth0", addr(i))
    h:close()
  end
  br:close()
  wait_go()
  for i = 1, n do netns.delete(prefix .. "h" .. i) end
  netns.delete(prefix .. "br")
  return
end

local lab = require "netns.lab"
local l = lab.new { name = prefix .. "star", prefix = prefix }
l:switch("br")
for i = 1, n do
  l:host("h" .. i)
  l:link(("br:v%d"):format(i), ("h%d:eth0 %s"):format(i, addr(i)))
end
l:up()
wait_go()
l:down()
