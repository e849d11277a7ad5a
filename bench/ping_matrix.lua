-- All-pairs ICMP echo over a star of N hosts with netns.ping_many: one event
-- loop, one raw socket per namespace. The topology is built from outside with
-- `ip -batch` (one process per namespace), so this measures ping_many alone.
--
--   sudo LUA_CPATH="build/?.so;;" lua5.4 bench/ping_matrix.lua [N=50] [ROUNDS=5] [keep]
--
-- Topology: namespace PREFIXbr holding bridge br0; hosts PREFIXh1..N, each with
-- eth0 (a veth whose other end v<i> is a port of br0), 10.201.(i>>8).(i&255)/16,
-- MAC 02:00:00:00:(i>>8):(i&255), and a permanent neighbour entry for every
-- other host: all namespaces share one kernel ARP table capped host-wide at
-- gc_thresh3 (1024 dynamic entries by default), which N*(N-1) dynamic entries
-- would overflow from about 32 hosts on ("neighbor table overflow", lost
-- pings); permanent entries do not count against the cap.
--
-- Prints one line per round and a summary line:
--   ping_matrix hosts=50 pairs=2450 median=0.0312 min=0.0290 max=0.0401 s received=2450/2450
-- With "keep" as third argument the lab is left up and its prefix printed
-- (for running ping/fping against the same hosts); delete it with
-- `ip -batch PREFIX.del` as printed.
local netns = require "netns"

local N = tonumber(arg[1]) or 50
local ROUNDS = tonumber(arg[2]) or 5
local KEEP = arg[3] == "keep"

local function clock()
  if netns.now then return netns.now() end
  return require("system").monotime()
end

local function pid()
  local f = assert(io.open("/proc/self/stat"))
  local p = f:read("n")
  f:close()
  return p
end

local PREFIX = ("nslpm%d-"):format(pid())
local DIR = os.getenv("TMPDIR") or "/tmp"
local BASE = ("%s/%sping"):format(DIR, PREFIX)

local function addr(i) return ("10.201.%d.%d"):format(i >> 8, i & 255) end
local function mac(i) return ("02:00:00:00:%02x:%02x"):format(i >> 8, i & 255) end

local function write(path, lines)
  local f = assert(io.open(path, "w"))
  f:write(table.concat(lines, "\n"), "\n")
  f:close()
  return path
end

local function sh(cmd)
  local ok = os.execute(cmd)
  if not ok then error("failed: " .. cmd) end
end

local function build()
  local add, del, br = {}, {}, { "link set lo up", "link add br0 type bridge", "link set br0 up" }
  add[1] = "netns add " .. PREFIX .. "br"
  for i = 1, N do
    local h = PREFIX .. "h" .. i
    add[#add + 1] = "netns add " .. h
    del[#del + 1] = "netns del " .. h
    br[#br + 1] = ("link add v%d type veth peer name eth0 address %s netns %s"):format(i, mac(i), h)
    br[#br + 1] = ("link set v%d master br0 up"):format(i)
  end
  del[#del + 1] = "netns del " .. PREFIX .. "br"
  write(BASE .. ".add", add)
  write(BASE .. ".del", del)
  write(BASE .. ".br", br)
  sh(("ip -batch %s.add"):format(BASE))
  sh(("ip -n %sbr -batch %s.br"):format(PREFIX, BASE))
  for i = 1, N do
    local h = { "link set lo up", ("addr add %s/16 dev eth0"):format(addr(i)), "link set eth0 up" }
    for j = 1, N do
      if j ~= i then
        h[#h + 1] = ("neigh add %s lladdr %s dev eth0 nud permanent"):format(addr(j), mac(j))
      end
    end
    sh(("ip -n %sh%d -batch %s"):format(PREFIX, i, write(("%s.h%d"):format(BASE, i), h)))
  end
end

local function teardown()
  os.execute(("ip -batch %s.del >/dev/null 2>&1"):format(BASE))
  os.execute(("rm -f %s.*"):format(BASE))
end

local ok, err = pcall(function()
  build()
  local hosts, list = {}, {}
  for i = 1, N do hosts[i] = netns.open(PREFIX .. "h" .. i) end
  for i = 1, N do
    for j = 1, N do
      if i ~= j then list[#list + 1] = { hosts[i], addr(j) } end
    end
  end
  -- One untimed round first: the bridge learns every MAC (until then it
  -- floods), as it would have in any lab that has carried traffic.
  netns.ping_many(list, { timeout = 1 })
  local times = {}
  local got
  for r = 1, ROUNDS do
    local t0 = clock()
    local res = netns.ping_many(list, { timeout = 1 })
    local t = clock() - t0
    got = 0
    for _, x in ipairs(res) do
      if x.ok then got = got + 1 end
    end
    times[#times + 1] = t
    print(("ping_matrix round=%d hosts=%d pairs=%d time=%.4f s received=%d/%d")
      :format(r, N, #list, t, got, #list))
  end
  table.sort(times)
  print(("ping_matrix hosts=%d pairs=%d median=%.4f min=%.4f max=%.4f s received=%d/%d")
    :format(N, #list, times[(#times + 1) // 2], times[1], times[#times], got, #list))
  for _, h in ipairs(hosts) do h:close() end
end)
if KEEP and ok then
  print(("ping_matrix kept: prefix=%s hosts=%sh1..%sh%d addresses=%s..%s delete: ip -batch %s.del")
    :format(PREFIX, PREFIX, PREFIX, N, addr(1), addr(N), BASE))
else
  teardown()
end
if not ok then
  io.stderr:write("ping_matrix: ", tostring(err), "\n")
  os.exit(1)
end
