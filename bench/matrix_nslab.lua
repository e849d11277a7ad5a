-- matrix_nslab.lua N K PREFIX: the matrix sample at scale, with nslab's lab
-- layer. A star of N hosts (netns.lab), then every host pings the K hosts
-- after it (l:ping_all{sample=K}: N*K pairs, one echo each, all at once in
-- one netns.ping_many event loop). The shared neighbour table holds 1024
-- dynamic entries host-wide, so the pairs get permanent entries first, as
-- check.static_neighs installs them (the MAC each interface really has), but
-- only for the sampled pairs in both directions (static_neighs would add
-- N*(N-1)). Host settings are not touched.
-- Prints key=value: up, neigh (seconds, entries), ping (seconds), pairs,
-- reached, fds before and after the ping, down. The driver runs it under an
-- RLIMIT_NOFILE far below the number of pairs, and counts its socket() calls
-- in a second run under strace: no socket per pair.
local netns = require "netns"
local lab = require "netns.lab"

local n, k, prefix = tonumber(arg[1]), tonumber(arg[2]), arg[3]
assert(n and k and prefix, "usage: matrix_nslab.lua N K PREFIX")
local function fds() return #netns.readdir("/proc/self/fd") end

local l = lab.new { name = prefix .. "matrix", prefix = prefix }
l:switch("br")
for i = 1, n do
  l:host("h" .. i)
  l:link(("br:v%d"):format(i), ("h%d:eth0 10.201.%d.%d/16"):format(i, i >> 8, i & 255))
end
local t0 = netns.now()
l:up()
local t1 = netns.now()
local node, mac, ip = {}, {}, {}
for i = 1, n do
  node[i] = l:node("h" .. i)
  mac[i] = node[i]:link_get("eth0").mac
  ip[i] = ("10.201.%d.%d"):format(i >> 8, i & 255)
end
local entries = 0
for i = 1, n do
  for step = 1, math.min(k, n - 1) do
    local j = (i - 1 + step) % n + 1
    node[i]:neigh_add { dev = "eth0", address = ip[j], mac = mac[j], replace = true }
    node[j]:neigh_add { dev = "eth0", address = ip[i], mac = mac[i], replace = true }
    entries = entries + 2
  end
end
local t2 = netns.now()
local fd0 = fds()
local ok, detail = l:ping_all { sample = k, waves = 1, out = false, timeout = 2 }
local t3 = netns.now()
local fd1 = fds()
local reached = 0
for _, p in ipairs(detail.pairs or {}) do if p.ok then reached = reached + 1 end end
l:down()
local t4 = netns.now()
print(("up=%.6f neigh=%.6f entries=%d ping=%.6f pairs=%d reached=%d ok=%s fds_before=%d fds_after=%d down=%.6f")
  :format(t1 - t0, t2 - t1, entries, t3 - t2, detail.pairs and #detail.pairs or -1,
          reached, tostring(ok), fd0, fd1, t4 - t3))
