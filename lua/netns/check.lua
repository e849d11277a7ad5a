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

-- The state checks (a link is up, an address, a route, a neighbour, an FDB
-- entry, a sysctl) are in netns.check_state, loaded on first use.
function check.expect_link_up(...)
  return require("netns.check_state").expect_link_up(...)
end

function check.expect_addr(...)
  return require("netns.check_state").expect_addr(...)
end

function check.expect_route(...)
  return require("netns.check_state").expect_route(...)
end

function check.expect_neigh(...)
  return require("netns.check_state").expect_neigh(...)
end

function check.expect_fdb(...)
  return require("netns.check_state").expect_fdb(...)
end

function check.expect_sysctl(...)
  return require("netns.check_state").expect_sysctl(...)
end

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
