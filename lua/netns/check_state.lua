-- netns.check_state: the checks of a network's state, as iproute2 shows it:
-- a link is up, an address is present, a route, a neighbour entry with a
-- MAC, a bridge learned a MAC on a port, a sysctl has a value. netns.check
-- exports them (check.expect_*); recorded like every check (netns.check_core).
local ipaddr = require "netns.ipaddr"
local core = require "netns.check_core"

local M = {}
local api, node, checkopts, argerror = core.api, core.node, core.checkopts, core.argerror
local canon, set, family, FNAME, now = core.canon, core.set, core.family, core.FNAME, core.now
local finish = core.record

local function system_error(e)
  -- netns.Error objects are failures of the system: the check fails with
  -- them; anything else is a mistake in the script and is raised again.
  if type(e) == "table" and e.code then return tostring(e.message or e.code) end
  error(e, 0)
end

local function query(fn, ...)
  local ok, r = pcall(fn, ...)
  if ok then return r end
  return nil, system_error(r)
end

-- check.expect_link_up(lab, node, ifname)
M.expect_link_up = api(function(lab, nd, ifname, opts)
  local n = node(lab, nd, 2, "expect_link_up")
  if type(ifname) ~= "string" then argerror(3, "expect_link_up", "interface name expected, got " .. type(ifname)) end
  opts = checkopts(opts, 4, "expect_link_up", set("name", "record"))
  local t0 = now()
  local l, err = query(n.ns.link_get, n.ns, ifname)
  local actual = err or (not l and "no such link")
    or (l.up and "up" or "down") .. (l.operstate and (" (operstate %s)"):format(l.operstate) or "")
  return finish(lab, { name = opts.name or ("%s: link %s is up"):format(n.name, ifname),
                       ok = l ~= nil and l.up == true, expected = "up", actual = actual,
                       link = l, record = opts.record }, t0)
end)

-- check.expect_addr(lab, node, [dev,] address): the address (with or
-- without its prefix length) is on dev, or on any interface.
M.expect_addr = api(function(lab, nd, dev, addr, opts)
  -- Without dev: (lab, node, address [, opts]).
  if (addr == nil or type(addr) == "table") and type(dev) == "string" and ipaddr.parse(dev) then
    if opts == nil then opts = addr end
    dev, addr = nil, dev
  end
  local n = node(lab, nd, 2, "expect_addr")
  local want, why = ipaddr.parse(addr)
  if not want then argerror(4, "expect_addr", ("'%s': %s"):format(tostring(addr), why)) end
  opts = checkopts(opts, 5, "expect_addr", set("name", "record"))
  local t0 = now()
  local list, err = query(n.ns.addrs, n.ns, { dev = dev, family = want.family })
  local found, have = false, {}
  for _, a in ipairs(list or {}) do
    have[#have + 1] = ("%s/%d on %s"):format(a.address, a.prefixlen, a.dev)
    if canon(a.address) == ipaddr.tostring(want) and (not want.plen or want.plen == a.prefixlen) then
      found = true
    end
  end
  local text = ipaddr.tostring(want, true)
  return finish(lab, { name = opts.name or ("%s has address %s%s"):format(n.name, text, dev and (" on " .. dev) or ""),
                       ok = found, expected = text .. (dev and (" on " .. dev) or ""),
                       actual = err or (#have > 0 and table.concat(have, ", ") or "no " .. FNAME[want.family] .. " address"),
                       record = opts.record }, t0)
end)

local function route_text(r)
  local s = r.dst
  if r.type and r.type ~= "unicast" then s = r.type .. " " .. s end
  if r.via then s = s .. " via " .. r.via end
  if r.dev then s = s .. " dev " .. r.dev end
  if r.metric and r.metric ~= 0 then s = s .. " metric " .. r.metric end
  return s
end

local ROUTE_KEYS = set("via", "dev", "metric", "table", "type", "family", "name", "record")

-- check.expect_route(lab, node, dst [, {via=, dev=, metric=, table=, type=}
-- [, {name=, record=}]]): a route to dst ("default", a prefix, or an address:
-- the longest prefix covering it) with those attributes (name and record may
-- also be given in the first table).
M.expect_route = api(function(lab, nd, dst, want, opts)
  local n = node(lab, nd, 2, "expect_route")
  want = checkopts(want, 4, "expect_route", ROUTE_KEYS)
  opts = checkopts(opts, 5, "expect_route", set("name", "record"))
  if opts.name ~= nil or opts.record ~= nil then
    local w = {}
    for k, v in pairs(want) do w[k] = v end
    if opts.name ~= nil then w.name = opts.name end
    if opts.record ~= nil then w.record = opts.record end
    want = w
  end
  local fam = family(want.family, 4, "expect_route")
  local target
  if dst ~= "default" then
    local why
    target, why = ipaddr.parse(dst)
    if not target then argerror(3, "expect_route", ("'%s': %s"):format(tostring(dst), why)) end
    if fam and target.family ~= fam then argerror(3, "expect_route", ("%s is not an %s prefix"):format(dst, FNAME[fam])) end
    fam = target.family
  end
  fam = fam or (want.via and ipaddr.parse(want.via) and ipaddr.parse(want.via).family) or "inet"
  local t0 = now()
  local routes, err = query(n.ns.routes, n.ns, { family = fam, table = want.table })
  local candidates, best = {}, -1
  for _, r in ipairs(routes or {}) do
    local rn = r.dst == "default" and { family = fam, bytes = {}, plen = 0 } or ipaddr.parse(r.dst)
    local hit
    if dst == "default" then hit = r.dst == "default"
    elseif target.plen then hit = rn and rn.plen == target.plen and rn.plen and
      ipaddr.key(ipaddr.network(rn)) == ipaddr.key(ipaddr.network(target))
    else hit = rn and (rn.plen == 0 or ipaddr.contains(rn, target)) end
    if hit then
      local plen = rn and rn.plen or 0
      if target and not target.plen then
        if plen > best then candidates, best = { r }, plen elseif plen == best then candidates[#candidates + 1] = r end
      else
        candidates[#candidates + 1] = r
      end
    end
  end
  local ok = false
  for _, r in ipairs(candidates) do
    if (not want.via or (r.via and canon(r.via) == canon(want.via))) and (not want.dev or r.dev == want.dev)
      and (not want.metric or r.metric == want.metric) and (not want.type or r.type == want.type) then
      ok = true
    end
  end
  local expected = route_text{ dst = dst, via = want.via, dev = want.dev, metric = want.metric, type = want.type }
  local have = {}
  for _, r in ipairs(candidates) do have[#have + 1] = route_text(r) end
  return finish(lab, { name = want.name or ("%s has route %s"):format(n.name, expected), ok = ok, expected = expected,
                       actual = err or (#have > 0 and table.concat(have, "; ") or "no route to " .. dst),
                       record = want.record }, t0)
end)

local function lower(s) return type(s) == "string" and s:lower() or s end

-- check.expect_neigh(lab, node, address [, mac [, {dev=}]]): a usable
-- (not FAILED or INCOMPLETE) neighbour entry for address, with that MAC.
M.expect_neigh = api(function(lab, nd, address, mac, opts)
  if type(mac) == "table" and opts == nil then mac, opts = nil, mac end -- (lab, node, address, opts)
  local n = node(lab, nd, 2, "expect_neigh")
  local a, why = ipaddr.parse(address, false)
  if not a then argerror(3, "expect_neigh", ("'%s': %s"):format(tostring(address), why)) end
  if mac ~= nil and not ipaddr.is_mac(mac) then
    argerror(4, "expect_neigh", "MAC address like 00:00:5e:00:53:02 expected, got " .. tostring(mac))
  end
  opts = checkopts(opts, 5, "expect_neigh", set("dev", "name", "record"))
  local t0 = now()
  local list, err = query(n.ns.neighs, n.ns, { dev = opts.dev, family = a.family })
  local actual = err or "no entry"
  local ok = false
  for _, e in ipairs(list or {}) do
    if canon(e.address) == ipaddr.tostring(a) then
      actual = ("%s %s on %s"):format(e.mac or "no MAC", e.state, e.dev or "?")
      ok = e.mac ~= nil and (mac == nil or lower(e.mac) == lower(mac))
        and e.state ~= "FAILED" and e.state ~= "INCOMPLETE"
      if ok then break end
    end
  end
  local text = ipaddr.tostring(a)
  return finish(lab, { name = opts.name or ("%s: neighbour %s is %s"):format(n.name, text, mac or "known"),
                       ok = ok, expected = (mac or "a MAC") .. (opts.dev and (" on " .. opts.dev) or ""),
                       actual = actual, record = opts.record }, t0)
end)

-- check.expect_fdb(lab, bridge_node, mac [, port [, {permanent=}]]): the
-- bridge learned mac on port (permanent entries count only if asked).
M.expect_fdb = api(function(lab, nd, mac, port, opts)
  if type(port) == "table" and opts == nil then port, opts = nil, port end -- (lab, node, mac, opts)
  local n = node(lab, nd, 2, "expect_fdb")
  if not ipaddr.is_mac(mac) then
    argerror(3, "expect_fdb", "MAC address like 00:00:5e:00:53:02 expected, got " .. tostring(mac))
  end
  if port ~= nil and type(port) ~= "string" then argerror(4, "expect_fdb", "port name expected, got " .. type(port)) end
  opts = checkopts(opts, 5, "expect_fdb", set("permanent", "name", "record"))
  local t0 = now()
  local list, err = query(n.ns.fdb, n.ns, nil)
  local ok, seen = false, {}
  for _, e in ipairs(list or {}) do
    if lower(e.mac) == lower(mac) then
      seen[#seen + 1] = ("on %s%s"):format(e.dev or "?", e.permanent and " (permanent)" or "")
      if (port == nil or e.dev == port) and (opts.permanent or not e.permanent) then ok = true end
    end
  end
  return finish(lab, { name = opts.name or ("%s: bridge learned %s%s"):format(n.name, mac, port and (" on " .. port) or ""),
                       ok = ok, expected = mac .. (port and (" on " .. port) or "") .. (opts.permanent and "" or " (learned)"),
                       actual = err or (#seen > 0 and (mac .. " " .. table.concat(seen, ", ")) or "not in the FDB"),
                       record = opts.record }, t0)
end)

local function sysctl_text(v)
  if v == true then return "1" elseif v == false then return "0" end
  if math.type(v) == "float" and v == math.floor(v) then return ("%d"):format(v) end
  return (tostring(v):gsub("%s+", " "):gsub("^ ", ""):gsub(" $", ""))
end

-- check.expect_sysctl(lab, node, key, value): value may be a string, an
-- integer or a boolean (1/0); whitespace runs compare as one space.
M.expect_sysctl = api(function(lab, nd, key, value, opts)
  local n = node(lab, nd, 2, "expect_sysctl")
  if type(key) ~= "string" then argerror(3, "expect_sysctl", "sysctl name expected, got " .. type(key)) end
  local tv = type(value)
  if tv ~= "string" and tv ~= "number" and tv ~= "boolean" then
    argerror(4, "expect_sysctl", "string, number or boolean expected, got " .. tv)
  end
  opts = checkopts(opts, 5, "expect_sysctl", set("name", "record"))
  local t0 = now()
  local got, err = query(n.ns.sysctl_get, n.ns, key)
  local want = sysctl_text(value)
  return finish(lab, { name = opts.name or ("%s: %s = %s"):format(n.name, key, want),
                       ok = got ~= nil and sysctl_text(got) == want, expected = want,
                       actual = err or sysctl_text(got), record = opts.record }, t0)
end)

return M
