-- ping_nslab.lua PREFIX H: one all-pairs ping round with netns.ping_many over
-- the hosts PREFIXh1..H of a star built by bench/star_raw (addresses
-- 10.200.(i>>8).(i&255)); every ordered pair once, one echo each, timeout 1 s.
-- Prints "replies=K ping_many=SECONDS open=SECONDS" (open: opening the H
-- namespace handles and building the list). Run by bench/run.lua under
-- bench/measure -x, which times the whole process as well.
--   ping_nslab.lua --probe   exits 0 if this build has netns.ping_many
local netns = require "netns"

if arg[1] == "--probe" then os.exit(netns.ping_many and netns.now and 0 or 1) end
local prefix, H = arg[1], tonumber(arg[2])
assert(prefix and H, "usage: ping_nslab.lua PREFIX H")

local function addr(i) return ("10.200.%d.%d"):format(i >> 8, i & 255) end

local t0 = netns.now()
local hosts, list = {}, {}
for i = 1, H do hosts[i] = netns.open(prefix .. "h" .. i) end
for i = 1, H do
  for j = 1, H do
    if i ~= j then list[#list + 1] = { hosts[i], addr(j) } end
  end
end
local t1 = netns.now()
local res = netns.ping_many(list, { count = 1, timeout = 1 })
local t2 = netns.now()
local got = 0
for _, r in ipairs(res) do
  if r.ok then got = got + 1 end
end
for _, h in ipairs(hosts) do h:close() end
print(("replies=%d ping_many=%.6f open=%.6f"):format(got, t2 - t1, t1 - t0))
