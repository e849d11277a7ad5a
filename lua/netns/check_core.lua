-- netns.check_core: what every check shares, so that netns.check,
-- netns.check_state, netns.matrix, tools.expect and capture.expect (and any
-- new check) behave alike:
--
--  - the script's position (netns.position): a public check function is
--    made with core.api(fn), and everything the check raises or records
--    carries the line the script called it from, however deep in the
--    library it happens.
--  - argument errors: core.argerror(n, fname, msg) raises "FILE:LINE: bad
--    argument #n to 'fname' (msg)" at that position.
--  - nodes, families, option tables, a node's addresses, destinations.
--  - recording: core.record(lab, d, t0) is the one path into netns.report,
--    and raises core.Stop when the run asked to stop on a failed check.
--
-- The runner (netns.run) sets core.options: fail_fast, and out (where grids
-- and diagrams go).
local netns = require "netns"
local report = require "netns.report"
local ipaddr = require "netns.ipaddr"
local position = require "netns.position"

local core = {}

-- fail_fast: a failed check stops the run; out: where ping_all prints its
-- grid (nil: stdout; false: nowhere; a file or a function).
core.options = { fail_fast = false, out = nil }

core.now = netns.now

-- set("a", "b") -> { a = true, b = true }
core.set = require("netns.topo").set

---------------------------------------------------------------- the script's position

-- core.api(fn), core.at(pos, fn, ...), core.where(): netns.position's.
core.api, core.at, core.where = position.api, position.at, position.where

-- Raises msg at the script's position (as error(msg, level) would at a
-- script's own line).
function core.raise(msg)
  local at = position.where()
  error(at and (at .. ": " .. msg) or msg, 0)
end

function core.argerror(n, fname, msg)
  core.raise(("bad argument #%d to '%s' (%s)"):format(n, fname, msg))
end

---------------------------------------------------------------- arguments

function core.is_ns(x)
  local mt = type(x) == "userdata" and getmetatable(x)
  return mt and mt.__name == "netns.Namespace" or false
end

function core.is_lab(x)
  return type(x) == "table" and type(x.nodes) == "table" and not core.is_ns(x.ns)
end

-- core.node(lab, x, n, fname) -> {name, ns, ...}: a lab node, a node name,
-- or a handle.
function core.node(lab, x, n, fname)
  if core.is_ns(x) then return { name = x.name or tostring(x), ns = x } end
  if type(x) == "table" and core.is_ns(x.ns) then return x end
  if type(x) == "string" and type(lab) == "table" and lab.node then
    local ok, r = pcall(lab.node, lab, x)
    if ok and type(r) == "table" and core.is_ns(r.ns) then return r end
    core.argerror(n, fname, ("unknown node '%s'"):format(x))
  end
  core.argerror(n, fname, ("node or netns.Namespace expected, got %s%s"):format(type(x),
    type(x) == "string" and " (node names need a lab)" or ""))
end

local FAMILIES = { inet = "inet", inet6 = "inet6", [4] = "inet", [6] = "inet6", ipv4 = "inet", ipv6 = "inet6" }
core.FNAME = { inet = "IPv4", inet6 = "IPv6" }

-- "inet" / "inet6" for the option family = f (nil when absent).
function core.family(f, n, fname)
  if f == nil then return nil end
  local v = FAMILIES[f]
  if not v then core.argerror(n, fname, ("field 'family': expected 'inet' or 'inet6', got %s"):format(tostring(f))) end
  return v
end

-- The option table at argument n ({} when nil); unknown keys are refused.
function core.checkopts(t, n, fname, keys)
  if t == nil then return {} end
  if type(t) ~= "table" then core.argerror(n, fname, ("table expected, got %s"):format(type(t))) end
  for k in pairs(t) do
    if not keys[k] then core.argerror(n, fname, ("unknown option '%s'"):format(tostring(k))) end
  end
  return t
end

-- Option values checked in the check, so a mistake raises at the script's
-- line naming the check's own argument, not deep in the module it calls.
-- core.optnumber(t, key, n, fname, min, max [, integer]) -> t[key] or nil.
function core.optnumber(t, key, n, fname, min, max, integer)
  local v = t[key]
  if v == nil then return nil end
  if type(v) ~= "number" or (integer and math.type(v) ~= "integer") or not (v >= min and v <= max) then
    core.argerror(n, fname, ("field '%s': %s from %s to %s expected, got %s"):format(key,
      integer and "an integer" or "a number", tostring(min), tostring(max), tostring(v)))
  end
  return v
end

-- core.optaddress(t, key, n, fname [, family]) -> t[key] or nil: an IP
-- address (of the family, when given) without a prefix.
function core.optaddress(t, key, n, fname, fam)
  local v = t[key]
  if v == nil then return nil end
  local a = type(v) == "string" and ipaddr.parse(v)
  if not a or a.plen then
    core.argerror(n, fname, ("field '%s': an IP address expected, got %s"):format(key, tostring(v)))
  end
  if fam and a.family ~= fam then
    core.argerror(n, fname, ("field '%s': %s is not an %s address"):format(key, v, core.FNAME[fam]))
  end
  return v
end

-- core.optifname(t, key, n, fname) -> t[key] or nil: an interface name.
function core.optifname(t, key, n, fname)
  local v = t[key]
  if v == nil then return nil end
  if type(v) ~= "string" or #v < 1 or #v > 15 or v:find("[%s/:]") then
    core.argerror(n, fname, ("field '%s': an interface name (1 to 15 bytes, no space, '/' or ':') expected, got %s")
      :format(key, tostring(v)))
  end
  return v
end

function core.canon(s)
  local a = ipaddr.parse(s)
  return a and ipaddr.tostring(a) or s
end

---------------------------------------------------------------- addresses

local function link_local(a)
  return a.family == "inet6" and a.bytes[1] == 0xfe and a.bytes[2] & 0xc0 == 0x80
end

-- The addresses a lab node declares ({address, prefixlen, dev, family}), in order.
local function declared(nd, fam)
  local list = {}
  if type(nd.ifaces) ~= "table" then return list end
  for _, ifc in ipairs(nd.ifaces) do
    for _, cidr in ipairs(type(ifc) == "table" and type(ifc.addrs) == "table" and ifc.addrs or {}) do
      local a = type(cidr) == "string" and ipaddr.parse(cidr)
      if a and (not fam or a.family == fam) and not link_local(a) then
        list[#list + 1] = { address = ipaddr.tostring(a), prefixlen = a.plen, dev = ifc.name, family = a.family }
      end
    end
  end
  return list
end

-- core.addresses(nd, fam, live): the node's global addresses of a family
-- (nil: all), those a lab node declares, else (or with live) the kernel's,
-- in order (lo and link-local ones skipped).
function core.addresses(nd, fam, live)
  local list = not live and declared(nd, fam) or {}
  if #list > 0 then return list end
  local ok, addrs = pcall(nd.ns.addrs, nd.ns, fam and { family = fam } or nil)
  if not ok then return list end
  for _, a in ipairs(addrs) do
    if a.dev ~= "lo" and a.scope ~= "link" and a.scope ~= "host" then list[#list + 1] = a end
  end
  return list
end

-- "router (192.0.2.254)" for an address a lab node owns, else the address.
function core.owner_label(lab, addr)
  if type(lab) == "table" and type(lab.owner) == "function" then
    local ok, nd = pcall(lab.owner, lab, addr)
    if ok and type(nd) == "table" and nd.name then return ("%s (%s)"):format(nd.name, addr), nd end
  end
  return addr
end

-- Which of a node's addresses (list) the source reaches: one on a subnet
-- the source has an address on (their shared segment), else the first the
-- source has a route to, else the first.
local function reachable_address(src, list, fam)
  if not src then return list[1] end
  local nets = {}
  for _, a in ipairs(core.addresses(src, fam)) do
    local p = a.prefixlen and ipaddr.parse(a.address .. "/" .. a.prefixlen)
    if p then nets[#nets + 1] = p end
  end
  for _, a in ipairs(list) do
    local ip = ipaddr.parse(a.address)
    for _, p in ipairs(nets) do
      if ipaddr.contains(p, ip) then return a end
    end
  end
  local ok, routes = pcall(src.ns.routes, src.ns, { family = fam })
  if ok then
    for _, a in ipairs(list) do
      local ip = ipaddr.parse(a.address)
      for _, r in ipairs(routes) do
        local rn = r.dst ~= "default" and ipaddr.parse(r.dst)
        if r.dst == "default" or (rn and ipaddr.contains(rn, ip)) then
          if r.type == nil or r.type == "unicast" then return a end
        end
      end
    end
  end
  return list[1]
end

-- core.destination(lab, dst, fam, n, fname [, src]) -> address, family,
-- label, node: an address string, or a node: the address of the family that
-- src (a node) reaches, as reachable_address picks it; the label says which
-- ("router (192.0.2.254)").
function core.destination(lab, dst, fam, n, fname, src)
  if type(dst) == "string" then
    local a = ipaddr.parse(dst)
    if a then
      if fam and a.family ~= fam then
        core.argerror(n, fname, ("%s is not an %s address"):format(dst, core.FNAME[fam]))
      end
      local addr = ipaddr.tostring(a)
      return addr, a.family, (core.owner_label(lab, addr))
    end
  end
  local nd = core.node(lab, dst, n, fname)
  fam = fam or "inet"
  local list = core.addresses(nd, fam)
  if #list == 0 then core.argerror(n, fname, ("%s has no %s address"):format(nd.name, core.FNAME[fam])) end
  local a = reachable_address(src, list, fam)
  return a.address, fam, ("%s (%s)"):format(nd.name, a.address), nd
end

---------------------------------------------------------------- ping results

-- How a ping without replies failed: how, the error (if any).
function core.classify(r)
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

-- What a ping result says, for a check's "actual". With more than one ping,
-- or when `measured` (an RTT or loss to meet), the measured loss and RTT (ms)
-- are part of it, so an impairment can be asserted.
function core.describe(lab, r, measured)
  if (r.received or 0) > 0 then
    local rep = r.replies and r.replies[1] or {}
    local m = ""
    if measured or (r.transmitted or 0) > 1 then
      m = (", %.4g%% loss, RTT min/avg/max %.3f/%.3f/%.3f ms"):format(r.loss or 0, r.rtt.min, r.rtt.avg, r.rtt.max)
    end
    return ("reply from %s, TTL %s (%d/%d received%s)"):format(rep.from or r.dst, tostring(rep.ttl),
      r.received, r.transmitted or 0, m)
  end
  local how, e = core.classify(r)
  if how == "timeout" then
    return ("no reply: timeout, %d%% loss (%d sent, 0 received)"):format(
      math.floor((r.loss or 100) + 0.5), r.transmitted or 0)
  end
  local msg = e.message or how
  if e.from then msg = ("%s from %s"):format(msg, (core.owner_label(lab, e.from))) end
  return ("no reply: %s"):format(msg)
end

---------------------------------------------------------------- recording

local detail_mt = {
  __tostring = function(d)
    if d.ok then return d.name .. ": " .. (d.actual or "ok") end
    return ("%s: expected %s, got %s"):format(d.name, d.expected or "?", d.actual or "?")
  end,
}

-- The error a failed check raises when the run stops on failures: its
-- tostring() is "check failed: NAME\n  expected: ...\n  actual:   ...", and
-- .detail is the check's detail (the runner reports it as a failed check).
core.Stop = {
  __name = "netns.CheckFailed",
  __tostring = function(e)
    local d = e.detail
    return ("check failed: %s\n  expected: %s\n  actual:   %s"):format(d.name, d.expected or "?", d.actual or "?")
  end,
}

function core.is_stop(e)
  return getmetatable(e) == core.Stop
end

local function stop_on_failure(lab)
  if core.options.fail_fast then return true end
  if type(lab) == "table" then
    return lab.stop_on_failure == true or (type(lab.options) == "table" and lab.options.stop_on_failure == true)
  end
  return false
end

-- core.record(lab, d, t0) -> ok, d: d (name, ok, expected, actual, diagnosis,
-- record, ...) gets its time, where and tostring; it is recorded unless
-- d.record is false, and a failure raises core.Stop if the run, the lab or
-- check.options asked to stop on failures.
function core.record(lab, d, t0)
  setmetatable(d, detail_mt)
  d.ok = d.ok and true or false
  d.time = t0 and (core.now() - t0) or nil
  d.where = d.where or core.where()
  if d.record ~= false then
    d.entry = report.record{ name = d.name, ok = d.ok, expected = d.expected, actual = d.actual,
                             where = d.where, time = d.time, detail = d.diagnosis }
    if not d.ok and stop_on_failure(lab) then error(setmetatable({ detail = d }, core.Stop), 0) end
  end
  return d.ok, d
end

-- Where a check's own text output (a grid) goes: a file, a function, or
-- false for nowhere.
function core.output()
  if core.options.out ~= nil then return core.options.out end
  return io.stdout
end

return core
