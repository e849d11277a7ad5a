-- netns.check: what a scenario asserts about a live network, each check
-- recorded in netns.report with what was expected and what happened.
--
-- Every check takes the lab first (nil when the script works with bare
-- netns.Namespace handles) and returns ok, detail: detail is a table {name,
-- expected, actual, ...} whose tostring() reads "expected X, got Y". A failed
-- check does not raise, so a scenario goes on and the run still ends
-- non-zero, unless check.options.fail_fast, the lab's stop_on_failure or the
-- runner's fail_fast asks for it. Argument mistakes (an unknown node, a bad
-- address, an unknown option) always raise at once, naming the argument.
--
-- Nodes are lab nodes ({name, ns, ...}), node names (with a lab), or
-- Namespace handles; a destination may also be an address string.
local netns = require "netns"
local report = require "netns.report"
local ipaddr = require "netns.ipaddr"

local check = {}

-- fail_fast: raise on the first failed check; out: where ping_all prints its
-- grid (default stdout, stderr when the run prints TAP).
check.options = { fail_fast = false, out = nil }

local function run_options()
  local ok, run = pcall(require, "netns.run")
  if ok and type(run) == "table" and type(run.options) == "function" then
    local o = run.options()
    if type(o) == "table" then return o end
  end
  return {}
end

-- false: print nothing.
function check.output()
  if check.options.out ~= nil then return check.options.out end
  return run_options().tap and io.stderr or io.stdout
end

local now = netns.now

---------------------------------------------------------------- recording

-- The script line that made the check: the first frame outside this layer.
local function where()
  for level = 3, 40 do
    local info = debug.getinfo(level, "Sl")
    if not info then return nil end
    local src = info.short_src
    if info.what ~= "C" and info.currentline > 0 and not src:find("netns/check%.lua$")
      and not src:find("netns/lab%.lua$") and not src:find("netns/assertions%.lua$")
      and not src:find("netns/matrix%.lua$")
      and not src:find("luassert/") and not src:find("^%(trace ") then
      return ("%s:%d"):format(src, info.currentline)
    end
  end
end
check._where = where

local detail_mt = {
  __tostring = function(d)
    if d.ok then return d.name .. ": " .. (d.actual or "ok") end
    return ("%s: expected %s, got %s"):format(d.name, d.expected or "?", d.actual or "?")
  end,
}

local function stop_on_failure(lab)
  if check.options.fail_fast or run_options().fail_fast then return true end
  if type(lab) == "table" then
    return lab.stop_on_failure == true or (type(lab.options) == "table" and lab.options.stop_on_failure == true)
  end
  return false
end

-- Records d (name, ok, expected, actual, time, ...) unless d.record is false,
-- raises if the run asked to stop on failures, returns ok, d.
local function finish(lab, d, t0)
  setmetatable(d, detail_mt)
  d.time = t0 and (now() - t0) or nil
  d.where = d.where or where()
  if d.record ~= false then
    d.entry = report.record{ name = d.name, ok = d.ok, expected = d.expected, actual = d.actual,
                             where = d.where, time = d.time, detail = d.diagnosis }
  end
  if not d.ok and d.record ~= false and stop_on_failure(lab) then
    error(("check failed: %s\n  expected: %s\n  actual:   %s"):format(d.name, d.expected or "?", d.actual or "?"), 0)
  end
  return d.ok, d
end

function check.stage(name)
  return report.stage(name)
end

---------------------------------------------------------------- arguments

local function argerror(n, fname, msg, level)
  error(("bad argument #%d to '%s' (%s)"):format(n, fname, msg), (level or 2) + 1)
end

local function is_ns(x)
  local mt = type(x) == "userdata" and getmetatable(x)
  return mt and mt.__name == "netns.Namespace" or false
end
check._is_ns = is_ns

-- node(lab, x) -> {name, ns, ...}: a lab node, a node name, or a handle.
local function node(lab, x, n, fname)
  if is_ns(x) then return { name = x.name or tostring(x), ns = x } end
  if type(x) == "table" and is_ns(x.ns) then return x end
  if type(x) == "string" and type(lab) == "table" and lab.node then
    local ok, r = pcall(lab.node, lab, x)
    if ok and type(r) == "table" and is_ns(r.ns) then return r end
    argerror(n, fname, ("unknown node '%s'"):format(x), 3)
  end
  argerror(n, fname, ("node or netns.Namespace expected, got %s%s"):format(type(x),
    type(x) == "string" and " (node names need a lab)" or ""), 3)
end
check._node = node

local FAMILIES = { inet = "inet", inet6 = "inet6", [4] = "inet", [6] = "inet6", ipv4 = "inet", ipv6 = "inet6" }
local FNAME = { inet = "IPv4", inet6 = "IPv6" }

local function family(f, n, fname)
  if f == nil then return nil end
  local v = FAMILIES[f]
  if not v then argerror(n, fname, ("field 'family': expected 'inet' or 'inet6', got %s"):format(tostring(f)), 3) end
  return v
end

local function checkopts(t, n, fname, keys)
  if t == nil then return {} end
  if type(t) ~= "table" then argerror(n, fname, ("table expected, got %s"):format(type(t)), 3) end
  for k in pairs(t) do
    if not keys[k] then argerror(n, fname, ("unknown option '%s'"):format(tostring(k)), 3) end
  end
  return t
end

local function set(...)
  local s = {}
  for _, k in ipairs{ ... } do s[k] = true end
  return s
end

-- The addresses a lab node declares ({address, prefixlen, dev}), in order.
local function declared(nd, fam)
  local list = {}
  if type(nd.ifaces) ~= "table" then return list end
  for _, ifc in ipairs(nd.ifaces) do
    for _, cidr in ipairs(type(ifc) == "table" and type(ifc.addrs) == "table" and ifc.addrs or {}) do
      local a = type(cidr) == "string" and ipaddr.parse(cidr)
      if a and (not fam or a.family == fam) and not (a.family == "inet6" and a.bytes[1] == 0xfe
          and a.bytes[2] & 0xc0 == 0x80) then
        list[#list + 1] = { address = ipaddr.tostring(a), prefixlen = a.plen, dev = ifc.name, family = a.family }
      end
    end
  end
  return list
end

-- The node's global addresses of a family: those a lab node declares, else
-- the kernel's, in order (lo and link-local ones skipped).
local function addresses(nd, fam, live)
  local list = not live and declared(nd, fam) or {}
  if #list > 0 then return list end
  local ok, addrs = pcall(nd.ns.addrs, nd.ns, fam and { family = fam } or nil)
  if not ok then return list end
  for _, a in ipairs(addrs) do
    if a.dev ~= "lo" and a.scope ~= "link" and a.scope ~= "host" then list[#list + 1] = a end
  end
  return list
end
check._addresses = addresses

local function canon(s)
  local a = ipaddr.parse(s)
  return a and ipaddr.tostring(a) or s
end

local function owner_label(lab, addr)
  if type(lab) == "table" and type(lab.owner) == "function" then
    local ok, nd = pcall(lab.owner, lab, addr)
    if ok and type(nd) == "table" and nd.name then return ("%s (%s)"):format(nd.name, addr), nd end
  end
  return addr
end

-- The destination: an address string, or a node's first address of the family.
local function destination(lab, dst, fam, n, fname)
  if type(dst) == "string" then
    local a = ipaddr.parse(dst)
    if a then
      if fam and a.family ~= fam then
        argerror(n, fname, ("%s is not an %s address"):format(dst, FNAME[fam]), 3)
      end
      local addr = ipaddr.tostring(a)
      local label = owner_label(lab, addr)
      return addr, a.family, label
    end
  end
  local nd = node(lab, dst, n, fname)
  fam = fam or "inet"
  local list = addresses(nd, fam)
  if #list == 0 then argerror(n, fname, ("%s has no %s address"):format(nd.name, FNAME[fam]), 3) end
  return list[1].address, fam, ("%s (%s)"):format(nd.name, list[1].address), nd
end
check._destination = destination

---------------------------------------------------------------- pinging

local PING_KEYS = set("family", "count", "timeout", "interval", "deadline", "size", "source", "dev",
  "send_ttl", "ttl", "hops", "how", "from", "name", "record")

local function ping_opts(e)
  return { count = e.count or 1, timeout = e.timeout, interval = e.interval, deadline = e.deadline,
           size = e.size, source = e.source, dev = e.dev, ttl = e.send_ttl }
end

local HOWS = {
  ["timeout"] = true, ["network unreachable"] = true, ["net unreachable"] = true,
  ["host unreachable"] = true, ["ttl exceeded"] = true, ["prohibited"] = true,
  ["port unreachable"] = true, ["protocol unreachable"] = true, ["unreachable"] = true,
  ["error"] = true, ["packet too big"] = true,
}

-- How a ping without replies failed: how, the error (if any).
local function classify(r)
  for _, e in ipairs(r.errors or {}) do
    if e.kind == "local" then
      if e.code == "ENETUNREACH" then return "network unreachable", e end
      if e.code == "EHOSTUNREACH" then return "host unreachable", e end
      return "error", e
    elseif e.kind then
      return (e.kind:gsub("_", " ")), e
    end
  end
  return "timeout"
end
check._classify = classify

local function how_matches(want, got)
  if want == got then return true end
  if want == "unreachable" then return got:find("unreachable", 1, true) ~= nil end
  if want == "error" then return got ~= "timeout" end
  return false
end

local function describe(lab, r)
  if (r.received or 0) > 0 then
    local rep = r.replies and r.replies[1] or {}
    return ("reply from %s, TTL %s (%d/%d received)"):format(rep.from or r.dst, tostring(rep.ttl),
      r.received, r.transmitted or 0)
  end
  local how, e = classify(r)
  if how == "timeout" then
    return ("no reply: timeout, %d%% loss (%d sent, 0 received)"):format(
      math.floor((r.loss or 100) + 0.5), r.transmitted or 0)
  end
  local msg = e.message or how
  if e.from then msg = ("%s from %s"):format(msg, (owner_label(lab, e.from))) end
  return ("no reply: %s"):format(msg)
end

local function ping(src, addr, e)
  local r = src.ns:ping(addr, ping_opts(e))
  return r
end

-- The addresses a "from" expectation accepts: a node's (all families) or one.
local function from_set(lab, from, n, fname)
  if type(from) == "string" and ipaddr.parse(from) then
    return { [canon(from)] = true }, from
  end
  local nd = node(lab, from, n, fname)
  local s = {}
  for _, a in ipairs(addresses(nd, nil, true)) do s[canon(a.address)] = true end
  return s, nd.name
end

local function probe(lab, src, dst, expect, fname)
  expect = checkopts(expect, 4, fname, PING_KEYS)
  local s = node(lab, src, 2, fname)
  local fam = family(expect.family, 4, fname)
  local addr, afam, label = destination(lab, dst, fam, 3, fname)
  if expect.how ~= nil and not HOWS[expect.how] then
    argerror(4, fname, ("field 'how': unknown failure '%s'"):format(tostring(expect.how)), 2)
  end
  return s, addr, afam, label, expect
end

-- check.reachable(lab, src, dst [, expect]): src gets a reply from dst;
-- expect.ttl: the replies' TTL; expect.hops: routers on the way (64 - TTL).
function check.reachable(lab, src, dst, expect)
  local s, addr, _, label, e = probe(lab, src, dst, expect, "reachable")
  local t0 = now()
  local r = ping(s, addr, e)
  local want_ttl = e.ttl or (e.hops and 64 - e.hops)
  local ok = (r.received or 0) > 0
  local ttl = ok and r.replies and r.replies[1] and r.replies[1].ttl
  if ok and want_ttl and ttl ~= want_ttl then ok = false end
  local expected = "reply from " .. addr .. (want_ttl and (", TTL " .. want_ttl) or "")
  local name = e.name or ("%s reaches %s%s"):format(s.name, label, want_ttl and (" with TTL " .. want_ttl) or "")
  return finish(lab, { name = name, ok = ok, expected = expected, actual = describe(lab, r), result = r,
                       ttl = ttl, record = e.record }, t0)
end

-- check.unreachable(lab, src, dst [, expect]): no reply; expect.how says how
-- it must fail, expect.from which router (node, name or address) must say so.
function check.unreachable(lab, src, dst, expect)
  local s, addr, _, label, e = probe(lab, src, dst, expect, "unreachable")
  local from, from_label
  if e.from ~= nil then from, from_label = from_set(lab, e.from, 4, "unreachable") end
  local t0 = now()
  local r = ping(s, addr, e)
  local ok = (r.received or 0) == 0
  local how, err = classify(r)
  if ok and e.how and not how_matches(e.how, how) then ok = false end
  if ok and from and not (err and err.from and from[canon(err.from)]) then ok = false end
  local expected = "no reply" .. (e.how and (": " .. e.how) or "") .. (from_label and (" from " .. from_label) or "")
  local name = e.name or ("%s cannot reach %s%s"):format(s.name, label,
    (e.how or from_label) and (": %s%s"):format(e.how or "error", from_label and (" from " .. from_label) or "") or "")
  return finish(lab, { name = name, ok = ok, expected = expected, actual = describe(lab, r), result = r,
                       how = how, error = err, record = e.record }, t0)
end

---------------------------------------------------------------- state checks

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
function check.expect_link_up(lab, nd, ifname, opts)
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
end

-- check.expect_addr(lab, node, [dev,] address): the address (with or
-- without its prefix length) is on dev, or on any interface.
function check.expect_addr(lab, nd, dev, addr, opts)
  if addr == nil and type(dev) == "string" and ipaddr.parse(dev) then dev, addr = nil, dev end
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
end

local function route_text(r)
  local s = r.dst
  if r.type and r.type ~= "unicast" then s = r.type .. " " .. s end
  if r.via then s = s .. " via " .. r.via end
  if r.dev then s = s .. " dev " .. r.dev end
  if r.metric and r.metric ~= 0 then s = s .. " metric " .. r.metric end
  return s
end

local ROUTE_KEYS = set("via", "dev", "metric", "table", "type", "family", "name", "record")

-- check.expect_route(lab, node, dst [, {via=, dev=, metric=, table=, type=}]):
-- a route to dst ("default", a prefix, or an address: the longest prefix
-- covering it) with those attributes.
function check.expect_route(lab, nd, dst, want)
  local n = node(lab, nd, 2, "expect_route")
  want = checkopts(want, 4, "expect_route", ROUTE_KEYS)
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
end

local function lower(s) return type(s) == "string" and s:lower() or s end

-- check.expect_neigh(lab, node, address [, mac [, {dev=}]]): a usable
-- (not FAILED or INCOMPLETE) neighbour entry for address, with that MAC.
function check.expect_neigh(lab, nd, address, mac, opts)
  local n = node(lab, nd, 2, "expect_neigh")
  local a, why = ipaddr.parse(address, false)
  if not a then argerror(3, "expect_neigh", ("'%s': %s"):format(tostring(address), why)) end
  if mac ~= nil and (type(mac) ~= "string" or not mac:match("^%x%x:%x%x:%x%x:%x%x:%x%x:%x%x$")) then
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
end

-- check.expect_fdb(lab, bridge_node, mac [, port [, {permanent=}]]): the
-- bridge learned mac on port (permanent entries count only if asked).
function check.expect_fdb(lab, nd, mac, port, opts)
  local n = node(lab, nd, 2, "expect_fdb")
  if type(mac) ~= "string" or not mac:match("^%x%x:%x%x:%x%x:%x%x:%x%x:%x%x$") then
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
end

local function sysctl_text(v)
  if v == true then return "1" elseif v == false then return "0" end
  if math.type(v) == "float" and v == math.floor(v) then return ("%d"):format(v) end
  return (tostring(v):gsub("%s+", " "):gsub("^ ", ""):gsub(" $", ""))
end

-- check.expect_sysctl(lab, node, key, value): value may be a string, an
-- integer or a boolean (1/0); whitespace runs compare as one space.
function check.expect_sysctl(lab, nd, key, value, opts)
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
end

---------------------------------------------------------------- the matrix

-- The all-pairs matrix and the neighbour-table handling it needs are in
-- netns.matrix (loaded on first use); these are its entry points.

-- check.ping_all(lab, {family=, expect=, default=, nodes=, sample=, waves=,
-- static_neighs=, count=, timeout=, out=, name=}) -> ok, detail
function check.ping_all(lab, opts)
  return require("netns.matrix").ping_all(lab, opts)
end

-- check.static_neighs(lab [, {family=, nodes=}]) -> count
function check.static_neighs(lab, opts)
  return require("netns.matrix").static_neighs(lab, opts)
end

-- Internals netns.matrix and netns.assertions share.
check._finish = finish
check._describe = describe
check._family = family
check._checkopts = checkopts
check._set = set
check._argerror = argerror
check._canon = canon
check._FNAME = FNAME

return check
