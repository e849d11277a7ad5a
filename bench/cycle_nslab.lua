-- cycle_nslab.lua N CYCLES PREFIX: one lab (a star of N hosts, netns.lab)
-- brought up and torn down CYCLES times in a row in one process, each up
-- right after the previous down returned. Prints key=value: the time of all
-- cycles, the median and max of one cycle, and after cycles 1, 10 and the
-- last: open fds (/proc/self/fd), VmRSS and VmHWM (KiB, /proc/self/status),
-- Lua memory after a full collect (KiB).
local netns = require "netns"
local lab = require "netns.lab"

local n, cycles, prefix = tonumber(arg[1]), tonumber(arg[2]), arg[3]
assert(n and cycles and prefix, "usage: cycle_nslab.lua N CYCLES PREFIX")

local function status(key)
  local f = assert(io.open("/proc/self/status"))
  local s = f:read("a")
  f:close()
  return tonumber(s:match(key .. ":%s*(%d+)"))
end

local function snapshot()
  collectgarbage("collect")
  return ("fds=%d rss=%d hwm=%d lua=%.0f"):format(#netns.readdir("/proc/self/fd"),
    status("VmRSS"), status("VmHWM"), collectgarbage("count"))
end

local times, snaps = {}, {}
local t0 = netns.now()
for c = 1, cycles do
  local t = netns.now()
  local l = lab.new { name = prefix .. "cyc", prefix = prefix }
  l:switch("br")
  for i = 1, n do
    l:host("h" .. i)
    l:link(("br:v%d"):format(i), ("h%d:eth0 10.202.%d.%d/16"):format(i, i >> 8, i & 255))
  end
  l:up()
  l:down()
  times[c] = netns.now() - t
  if c == 1 or c == 10 or c == cycles then snaps[#snaps + 1] = ("at%d: %s"):format(c, snapshot()) end
end
local total = netns.now() - t0
table.sort(times)
print(("total=%.6f median=%.6f max=%.6f cycles=%d | %s"):format(total, times[(cycles + 1) // 2],
  times[cycles], cycles, table.concat(snaps, " | ")))
