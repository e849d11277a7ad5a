-- tree_nslab.lua N K PREFIX [LEAF]: a lab of N hosts on a tree of switches
-- (a Linux bridge takes at most 1024 ports): a core switch, and a leaf switch
-- for every LEAF hosts (default 1000), each leaf linked to the core. Brought
-- up through the lab layer, then every host pings the K hosts after it
-- (l:ping_all{sample=K}) with permanent neighbour entries for the sampled
-- pairs (the kernel's shared neighbour table holds 1024 dynamic entries
-- host-wide), then down.
-- Prints key=value: up, neigh, ping, pairs, reached, down (seconds), fds (the
-- most this process had open), rss_mib (VmHWM), namespaces, steps (up's
-- steps, l.timings: step:seconds,...).
local netns = require "netns"
local lab = require "netns.lab"

local n, k, prefix, leaf = tonumber(arg[1]), tonumber(arg[2]), arg[3], tonumber(arg[4] or 1000)
assert(n and k and prefix and leaf and leaf <= 1000, "usage: tree_nslab.lua N K PREFIX [LEAF<=1000]")
local function fds() return #netns.readdir("/proc/self/fd") end
local function hwm()
  for line in io.lines("/proc/self/status") do
    local v = line:match("^VmHWM:%s+(%d+)")
    if v then return tonumber(v) / 1024 end
  end
end
local function ip(i) return ("10.202.%d.%d"):format(i >> 8, i & 255) end

local l = lab.new { name = prefix .. "tree", prefix = prefix }
l:switch("core")
local leaves = (n + leaf - 1) // leaf
for s = 1, leaves do
  l:switch("s" .. s)
  l:link(("core:c%d"):format(s), ("s%d:up"):format(s))
end
for i = 1, n do
  local s = (i - 1) // leaf + 1
  l:host("h" .. i)
  l:link(("s%d:p%d"):format(s, i), ("h%d:eth0 %s/16"):format(i, ip(i)))
end
local t0 = netns.now()
l:up()
local t1 = netns.now()
io.stderr:write(("after up: VmHWM %.1f MiB, Lua %.1f MiB\n"):format(hwm(), collectgarbage("count") / 1024))
local steps = {}
for _, t in ipairs(l.timings) do steps[#steps + 1] = ("%s:%.2f"):format(t.step, t.seconds) end
local fd_up = fds()
local node, mac = {}, {}
for i = 1, n do
  node[i] = l:node("h" .. i)
  mac[i] = node[i]:link_get("eth0").mac
end
for i = 1, n do
  for step = 1, math.min(k, n - 1) do
    local j = (i - 1 + step) % n + 1
    node[i]:neigh_add { dev = "eth0", address = ip(j), mac = mac[j], replace = true }
    node[j]:neigh_add { dev = "eth0", address = ip(i), mac = mac[i], replace = true }
  end
end
local t2 = netns.now()
io.stderr:write(("after neigh: VmHWM %.1f MiB, Lua %.1f MiB\n"):format(hwm(), collectgarbage("count") / 1024))
local ok, detail = l:ping_all { sample = k, waves = tonumber(os.getenv("WAVES") or 1), out = false, timeout = 3, count = tonumber(os.getenv("COUNT") or 1) }
local t3 = netns.now()
io.stderr:write(("after ping: VmHWM %.1f MiB, Lua %.1f MiB\n"):format(hwm(), collectgarbage("count") / 1024))
local reached = 0
for _, p in ipairs(detail.pairs or {}) do if p.ok then reached = reached + 1 end end
local nsn = #l:namespaces()
l:down()
local t4 = netns.now()
print(("up=%.3f neigh=%.3f ping=%.3f pairs=%d reached=%d ok=%s down=%.3f fds=%d rss_mib=%.1f namespaces=%d steps=%s")
  :format(t1 - t0, t2 - t1, t3 - t2, detail.pairs and #detail.pairs or -1, reached, tostring(ok),
          t4 - t3, math.max(fd_up, fds()), hwm(), nsn, table.concat(steps, ",")))
