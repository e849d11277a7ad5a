-- netns.check: what a scenario asserts about a live network, each check
-- recorded in netns.report with what was expected and what happened.
--
-- Every check takes the lab first (nil when the script works with bare
-- netns.Namespace handles) and returns ok, detail: detail is a table {name,
-- expected, actual, ...} whose tostring() reads "expected X, got Y". A failed
-- check does not raise, so a scenario goes on and the run still ends
-- non-zero, unless check.options.fail_fast (the runner sets it for
-- --fail-fast) or the lab's stop_on_failure asks for it. Argument mistakes
-- (an unknown node, a bad address, an unknown option) always raise at once,
-- naming the argument, at the script's line.
--
-- Nodes are lab nodes ({name, ns, ...}), node names (with a lab), or
-- Namespace handles; a destination may also be an address string. What the
-- checks share (positions, nodes, options, recording) is netns.check_core;
-- the state checks are netns.check_state, the matrix netns.matrix.
local core = require "netns.check_core"
local state = require "netns.check_state"
local matrix = require "netns.matrix"
local port = require "netns.check_port"
local perf = require "netns.check_perf"
local path = require "netns.check_path"

local check = {}

check.options = core.options

local ipaddr = require "netns.ipaddr"
local api, argerror, node, now, canon = core.api, core.argerror, core.node, core.now, core.canon

check.stage = api(function(name)
  return require("netns.report").stage(name)
end)

---------------------------------------------------------------- pinging

local PING_KEYS = core.set("family", "count", "timeout", "interval", "deadline", "size", "source", "dev",
  "send_ttl", "ttl", "hops", "how", "from", "name", "record", "rtt", "loss")

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

-- A failed neighbour resolution is reported after mcast_solicit (3) probes
-- retrans_time (1 s) apart: a check expecting it waits this long by default.
local NEIGH_FAIL_WAIT = 4

-- The failures that arrive as an ICMP error from some router or host (not
-- the source's own "network unreachable", not a timeout).
local function icmp_error_expected(how)
  return how ~= nil and how ~= "timeout" and how ~= "network unreachable"
end

local function how_matches(want, got)
  if want == got then return true end
  if want == "unreachable" then return got:find("unreachable", 1, true) ~= nil end
  if want == "error" then return got ~= "timeout" end
  return false
end

-- The addresses a "from" expectation accepts: a node's (all families) or one.
local function from_set(lab, from, n, fname)
  if type(from) == "string" and ipaddr.parse(from) then
    return { [canon(from)] = true }, from
  end
  local nd = node(lab, from, n, fname)
  local s = {}
  for _, a in ipairs(core.addresses(nd, nil, true)) do s[canon(a.address)] = true end
  return s, nd.name
end

-- With tcp= or udp= the check is about a port (netns.check_port).
local function probe(lab, src, dst, expect, fname)
  local ports = type(expect) == "table" and (expect.tcp ~= nil or expect.udp ~= nil)
  expect = core.checkopts(expect, 4, fname, ports and port.KEYS or PING_KEYS)
  local s = node(lab, src, 2, fname)
  local fam = core.family(expect.family, 4, fname)
  local addr, afam, label = core.destination(lab, dst, fam, 3, fname, s)
  if expect.how ~= nil and not (ports and port.HOWS or HOWS)[expect.how] then
    argerror(4, fname, ("field 'how': unknown failure '%s'"):format(tostring(expect.how)))
  end
  return s, addr, afam, label, expect, ports
end

-- expect.rtt / expect.loss = {min=, max=}: bounds (either may be left out) on
-- the average RTT in ms and on the loss in percent.
local function bounds(e, key, unit, fname)
  local b = e[key]
  if b == nil then return nil end
  if type(b) ~= "table" then argerror(4, fname, ("field '%s': {min=, max=} expected, got %s"):format(key, type(b)), 3) end
  for k, v in pairs(b) do
    if (k ~= "min" and k ~= "max") or type(v) ~= "number" or v < 0 then
      argerror(4, fname, ("field '%s': {min=, max=} with numbers of %s, got %s=%s"):format(key, unit,
        tostring(k), tostring(v)), 3)
    end
  end
  if b.min and b.max and b.min > b.max then argerror(4, fname, ("field '%s': min above max"):format(key), 3) end
  return b
end

local function within(b, v) return v ~= nil and (not b.min or v >= b.min) and (not b.max or v <= b.max) end

local function show_bounds(b, unit)
  if b.min and b.max then return ("%g to %g%s"):format(b.min, b.max, unit) end
  if b.min then return ("at least %g%s"):format(b.min, unit) end
  return ("at most %g%s"):format(b.max, unit)
end

-- check.reachable(lab, src, dst [, expect]): src gets a reply from dst;
-- expect.ttl: the replies' TTL; expect.hops: routers on the way (64 - TTL);
-- expect.rtt, expect.loss: bounds on the average RTT (ms) and the loss (%).
check.reachable = api(function(lab, src, dst, expect)
  local s, addr, _, label, e, ports = probe(lab, src, dst, expect, "reachable")
  if ports then return port.reachable(lab, s, addr, label, e) end
  local rtt, loss = bounds(e, "rtt", "ms", "reachable"), bounds(e, "loss", "%", "reachable")
  local t0 = now()
  local r = s.ns:ping(addr, ping_opts(e))
  local want_ttl = e.ttl or (e.hops and 64 - e.hops)
  local ok = (r.received or 0) > 0
  local ttl = ok and r.replies and r.replies[1] and r.replies[1].ttl
  if ok and want_ttl and ttl ~= want_ttl then ok = false end
  if ok and rtt and not within(rtt, r.rtt and r.rtt.avg) then ok = false end
  if ok and loss and not within(loss, r.loss) then ok = false end
  local expected = "reply from " .. addr .. (want_ttl and (", TTL " .. want_ttl) or "")
    .. (rtt and (", average RTT " .. show_bounds(rtt, " ms")) or "")
    .. (loss and (", loss " .. show_bounds(loss, "%")) or "")
  local name = e.name or ("%s reaches %s%s"):format(s.name, label, want_ttl and (" with TTL " .. want_ttl) or "")
  return core.record(lab, { name = name, ok = ok, expected = expected, actual = core.describe(lab, r, rtt or loss),
                            result = r, ttl = ttl, rtt = r.rtt, loss = r.loss, record = e.record }, t0)
end)

-- check.unreachable(lab, src, dst [, expect]): no reply; expect.how says how
-- it must fail, expect.from which router (node, name or address) must say so.
check.unreachable = api(function(lab, src, dst, expect)
  local s, addr, _, label, e, ports = probe(lab, src, dst, expect, "unreachable")
  if ports then return port.unreachable(lab, s, addr, label, e) end
  local from, from_label
  if e.from ~= nil then from, from_label = from_set(lab, e.from, 4, "unreachable") end
  local po = ping_opts(e)
  if (e.how == "host unreachable" or e.how == "unreachable") and e.timeout == nil and e.deadline == nil then
    po.timeout = NEIGH_FAIL_WAIT
  end
  local t0 = now()
  local r = s.ns:ping(addr, po)
  local ok = (r.received or 0) == 0
  local how, err = core.classify(r)
  if ok and e.how and not how_matches(e.how, how) then ok = false end
  if ok and from and not (err and err.from and from[canon(err.from)]) then ok = false end
  local expected = "no reply" .. (e.how and (": " .. e.how) or "") .. (from_label and (" from " .. from_label) or "")
  local name = e.name or ("%s cannot reach %s%s"):format(s.name, label,
    (e.how or from_label) and (": %s%s"):format(e.how or "error", from_label and (" from " .. from_label) or "") or "")
  local actual = core.describe(lab, r)
  if not ok and how == "timeout" and icmp_error_expected(e.how) then
    actual = actual .. "; the ICMP error may have been rate-limited (net.ipv4.icmp_ratelimit, " ..
      "net.ipv6.icmp.ratelimit on the router; \"net unreachable\": five, then one a second), " ..
      "or the packet was dropped"
  end
  return core.record(lab, { name = name, ok = ok, expected = expected, actual = actual,
                            result = r, how = how, error = err, record = e.record }, t0)
end)

---------------------------------------------------------------- state checks and the matrix

for _, name in ipairs{ "expect_link_up", "expect_addr", "expect_route", "expect_neigh", "expect_fdb",
                       "expect_sysctl" } do
  check[name] = state[name]
end

-- check.ping_all(lab, {family=, expect=, default=, nodes=, sample=, waves=,
-- static_neighs=, count=, timeout=, out=, name=}) -> ok, detail
check.ping_all = matrix.ping_all
-- check.static_neighs(lab [, {family=, nodes=}]) -> count
check.static_neighs = matrix.static_neighs

---------------------------------------------------------------- ports, throughput, paths

-- check.port_matrix(lab, {from=, to=, tcp=, udp=, expect=, ...}) -> ok, detail
check.port_matrix = port.port_matrix
-- check.throughput(lab, src, dst, {min=, max=, duration=, bytes=, ...}) -> ok, detail
check.throughput = perf.throughput
-- check.path(lab, src, dst, {"router1", "router2", family=, ...}) -> ok, detail
check.path = path.path
-- check.path_mtu(lab, src, dst, mtu [, opts]) -> ok, detail
check.path_mtu = path.path_mtu
-- check.traceroute(lab, src, dst [, opts]) -> result with each hop's node (data, not a check)
check.traceroute = path.traceroute

return check
