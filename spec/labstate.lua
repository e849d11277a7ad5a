-- The state of a lab as iproute2 dumps it, one line per fact, for specs that
-- compare two labs built different ways (spec/trace_replay_spec.lua: nslab's
-- and its replayed trace; spec/book_spec.lua: nslab's and the book's):
-- links (with bridge and bridge-port options), qdiscs, addresses, routes of
-- every table, the net.* sysctls, permanent neighbours, the FDB entries that
-- are not learned, and the nftables ruleset where nft is installed.
--
--   S.snapshot(prefix [, with_sysctls=true]) -> { "ns1 link ns1-veth0
--       mtu=1500", ... } for every namespace whose name starts with prefix
--       (the prefix left out)
--   S.minus(a, b) -> the lines of a that b lacks
--   S.differences(prefix_a, prefix_b, deadline [, mask [, names]]) -> nil when both
--       agree (retried until the deadline: a fresh lab settles on its own
--       time), else a text of what differs; mask(line) -> line or false
--       rewrites (or drops) lines of both sides before they are compared;
--       names = { "what a is", "what b is" } head the two lists of the text
local netns = require "netns"
local json = require "dkjson"
local ipaddr = require "netns.ipaddr"

local S = {}

local function run(cmd)
  local p = assert(io.popen(cmd .. " 2>&1"))
  local out = p:read("a")
  local _, _, code = p:close()
  return out, code
end
S.run = run

local function jsonof(cmd)
  local out, code = run(cmd)
  assert(code == 0, cmd .. ": " .. out)
  return json.decode(out) or {}
end

S.has_nft = (select(2, run("command -v nft"))) == 0

local function namespaces(prefix)
  local t = {}
  for name in run("ip netns list"):gmatch("(%S+)[^\n]*\n?") do
    if name:find(prefix, 1, true) == 1 then t[#t + 1] = name end
  end
  table.sort(t)
  return t
end

-- A value as one canonical string (keys sorted), so states compare as lines.
local function enc(v)
  if type(v) ~= "table" then return tostring(v) end
  local parts = {}
  if #v > 0 or next(v) == nil then
    for _, x in ipairs(v) do parts[#parts + 1] = enc(x) end
    return "[" .. table.concat(parts, ",") .. "]"
  end
  local keys = {}
  for k in pairs(v) do keys[#keys + 1] = k end
  table.sort(keys)
  for _, k in ipairs(keys) do parts[#parts + 1] = k .. "=" .. enc(v[k]) end
  return "{" .. table.concat(parts, " ") .. "}"
end

-- Fields that change by themselves or name things made at random: timers,
-- ids built from the bridge's MAC, peer indexes and netns ids (assigned in
-- the order namespaces first meet).
local function volatile(k)
  return k:find("_timer$") or k:find("_id$") or k:find("^designated_") or k == "root_port"
    or k == "link_index" or k == "link_netnsid" or k == "ifindex" or k == "expires"
end

local function without_volatile(t)
  local r = {}
  for k, v in pairs(t or {}) do
    if not volatile(k) then r[k] = v end
  end
  return r
end

local LINK_FIELDS = { "flags", "mtu", "qdisc", "operstate", "master", "link", "link_type", "address",
  "broadcast", "ifalias", "promiscuity", "allmulti", "txqlen", "group", "linkmode" }

-- The state of one namespace as lines "<what> <canonical value>". MACs the
-- kernel made at random (and the IPv6 link-local addresses made from them)
-- differ between any two builds: they read "random".
local function state_of(ns, prefix, with_sysctls)
  local short = ns:sub(#prefix + 1)
  local out = {}
  local function add(...) out[#out + 1] = short .. " " .. table.concat({ ... }, " ") end

  local sys = run(("ip netns exec %s sh -c 'grep -H . /sys/class/net/*/addr_assign_type; echo ---; " ..
    "%s'"):format(ns, with_sysctls and "sysctl net 2>/dev/null" or ""))
  local assign, sysctls = sys:match("^(.-)\n%-%-%-\n(.*)$")
  local random_dev = {}
  for dev, t in assign:gmatch("/sys/class/net/([^/]+)/addr_assign_type:(%d+)") do
    -- 1 random, 2 stolen from another device (a bridge's from a port)
    if t == "1" or t == "2" then random_dev[dev] = true end
  end
  local random_mac, random_ll = {}, {}
  local links = jsonof(("ip -j -d -n %s link show"):format(ns))
  for _, l in ipairs(links) do
    if random_dev[l.ifname] and l.address then random_mac[l.address] = true end
  end
  -- and the solicited-node groups (33:33:ff and an address's last three
  -- bytes) of the link-local addresses made from them, below
  local random_group = {}
  local function mac(m)
    if random_mac[m] then return "random" end
    if random_group[m] then return "33:33:ff:random" end
    return m
  end
  for _, l in ipairs(links) do
    for _, f in ipairs(LINK_FIELDS) do
      local v = l[f]
      if f == "address" then v = mac(v) end
      if f == "flags" and v then v = { table.unpack(v) }; table.sort(v) end
      if v ~= nil then add("link", l.ifname, f .. "=" .. enc(v)) end
    end
    local li = l.linkinfo
    if li then
      add("link", l.ifname, "kind=" .. enc(li.info_kind))
      if li.info_data then add("link", l.ifname, "info_data=" .. enc(without_volatile(li.info_data))) end
      if li.info_slave_kind then add("link", l.ifname, "slave_kind=" .. enc(li.info_slave_kind)) end
      if li.info_slave_data then
        add("link", l.ifname, "slave_data=" .. enc(without_volatile(li.info_slave_data)))
      end
    end
  end
  for _, q in ipairs(jsonof(("tc -j -n %s qdisc show"):format(ns))) do
    q.handle = nil -- the kernel picks one at random
    add("qdisc", enc(q))
  end
  for _, l in ipairs(jsonof(("ip -j -n %s addr show"):format(ns))) do
    for _, a in ipairs(l.addr_info or {}) do
      local t = without_volatile(a)
      if a.family == "inet6" and a.scope == "link" and random_dev[l.ifname] then
        random_ll[a["local"]] = true
        local b = ipaddr.parse(a["local"]).bytes
        random_group[("33:33:ff:%02x:%02x:%02x"):format(b[14], b[15], b[16])] = true
        t["local"] = "fe80::random"
      end
      for _, k in ipairs { "valid_life_time", "preferred_life_time" } do
        if t[k] then t[k] = t[k] == 4294967295 and "forever" or "finite" end
      end
      add("addr", l.ifname, enc(t))
    end
  end
  local function ll(a) return random_ll[a] and "fe80::random" or a end
  for _, fam in ipairs { "-4", "-6" } do
    for _, r in ipairs(jsonof(("ip -j -n %s %s route show table all"):format(ns, fam))) do
      local t = without_volatile(r)
      t.dst, t.prefsrc, t.gateway = ll(t.dst), ll(t.prefsrc), ll(t.gateway)
      add("route", enc(t))
    end
  end
  for line in sysctls:gmatch("[^\n]+") do
    -- the connections tracked so far are traffic, not configuration
    if not line:find("^net%.netfilter%.nf_conntrack_count ") then add("sysctl", line) end
  end
  for _, n in ipairs(jsonof(("ip -j -n %s neigh show nud permanent"):format(ns))) do add("neigh", enc(n)) end
  for _, f in ipairs(jsonof(("bridge -j -n %s fdb show"):format(ns))) do
    -- learned entries come from traffic; those the kernel or a command made stay
    if f.state == "permanent" or f.state == "static" then
      f.mac = mac(f.mac)
      add("fdb", enc(f))
    end
  end
  if S.has_nft then
    local rules = run(("ip netns exec %s nft list ruleset"):format(ns))
    for line in rules:gmatch("[^\n]+") do
      add("nft", (line:gsub("counter packets %d+ bytes %d+", "counter")))
    end
  end
  return out
end

function S.snapshot(prefix, with_sysctls)
  local lines, names = {}, {}
  for _, ns in ipairs(namespaces(prefix)) do
    names[#names + 1] = ns:sub(#prefix + 1)
    for _, l in ipairs(state_of(ns, prefix, with_sysctls ~= false)) do lines[#lines + 1] = l end
  end
  lines[#lines + 1] = "namespaces: " .. table.concat(names, " ")
  return lines
end

-- Lines of a that b lacks.
function S.minus(a, b)
  local have, t = {}, {}
  for _, l in ipairs(b) do have[l] = (have[l] or 0) + 1 end
  for _, l in ipairs(a) do
    if (have[l] or 0) > 0 then have[l] = have[l] - 1 else t[#t + 1] = l end
  end
  return t
end

local function masked(lines, mask)
  if not mask then return lines end
  local t = {}
  for _, l in ipairs(lines) do
    local m = mask(l)
    if m then t[#t + 1] = m end
  end
  return t
end

-- A fresh lab settles on its own time (carrier, IPv6 link-local addresses,
-- DAD): compare until both agree, or show what differs at the deadline.
-- Sysctls are read once the rest agrees: commands set them at once, and
-- reading them is slow (about 600 files a namespace, many of them behind the
-- RTNL lock that other labs on the machine hold).
function S.differences(pa, pb, deadline, mask, names)
  names = names or { pa, pb }
  local t0, full = netns.now(), false
  while true do
    local a, b = masked(S.snapshot(pa, full), mask), masked(S.snapshot(pb, full), mask)
    local only_a, only_b = S.minus(a, b), S.minus(b, a)
    if #only_a + #only_b == 0 then
      if full then return nil end
      full = true
    elseif netns.now() - t0 > deadline then
      local msg = { names[1] .. " only:" }
      for i = 1, math.min(#only_a, 30) do msg[#msg + 1] = "  " .. only_a[i] end
      msg[#msg + 1] = names[2] .. " only:"
      for i = 1, math.min(#only_b, 30) do msg[#msg + 1] = "  " .. only_b[i] end
      return table.concat(msg, "\n")
    else
      netns.sleep(0.1)
    end
  end
end

return S
