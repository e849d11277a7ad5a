-- netns.check_path: the path a packet takes and the largest packet that
-- gets through, over ns:traceroute and ns:path_mtu.
--
--   l:traceroute("ns1", "ns2")          -- data: each hop with the lab node that owns its address
--   l:path("ns1", "ns2", {"router1", "router2"})
--   l:path_mtu("ns1", "ns2", 1400)
local core = require "netns.check_core"
local ipaddr = require "netns.ipaddr"

local M = {}

local argerror = core.argerror

local TRACE_KEYS = core.set("family", "max_hops", "queries", "timeout", "source", "dev")

local function owner(lab, addr)
  if addr and type(lab) == "table" and type(lab.owner) == "function" then
    local nd = lab:owner(addr)
    return nd and nd.name or nil
  end
end

local function trace(lab, s, addr, o, n, fname)
  local r = s.ns:traceroute(addr, {
    max_hops = core.optnumber(o, "max_hops", n, fname, 1, 64, true),
    queries = core.optnumber(o, "queries", n, fname, 1, 10, true),
    timeout = core.optnumber(o, "timeout", n, fname, 0.001, 60),
    source = core.optaddress(o, "source", n, fname, ipaddr.parse(addr).family),
    dev = core.optifname(o, "dev", n, fname) })
  for _, h in ipairs(r.hops) do h.node = owner(lab, h.address) end
  return r
end

-- check.traceroute(lab, src, dst [, {family=, max_hops=, queries=, timeout=,
-- source=, dev=}]) -> {dst, reached, hops = {{ttl, kind, address, node, rtt,
-- icmp_type, icmp_code, error, message}}}: data, not a check.
M.traceroute = core.api(function(lab, src, dst, opts)
  opts = core.checkopts(opts, 4, "traceroute", TRACE_KEYS)
  local s = core.node(lab, src, 2, "traceroute")
  local addr = core.destination(lab, dst, core.family(opts.family, 4, "traceroute"), 3, "traceroute")
  return trace(lab, s, addr, opts, 4, "traceroute")
end)

-- "router1 (10.1.0.2)", "*", or the error with its sender.
local function hop_text(h)
  if h.kind == "none" then return "*" end
  local who = h.node and ("%s (%s)"):format(h.node, h.address) or h.address or "?"
  if h.kind == "error" then return ("%s from %s"):format(h.message, who) end
  return who
end

function M.describe(r)
  local t = {}
  for _, h in ipairs(r.hops) do t[#t + 1] = hop_text(h) end
  if not r.reached then t[#t + 1] = "(not reached)" end
  return table.concat(t, " -> ")
end

local PATH_KEYS = core.set("family", "max_hops", "queries", "timeout", "source", "dev", "name", "record")

-- check.path(lab, src, dst, {hop, hop, ... [, family=, max_hops=, ...]}) ->
-- ok, detail: a traceroute from src reaches dst through exactly these
-- routers in this order (a hop is a node, a node name or an address).
M.path = core.api(function(lab, src, dst, hops)
  if type(hops) ~= "table" then argerror(4, "path", ("list of hops expected, got %s"):format(type(hops))) end
  local opts, want = {}, {}
  for k, v in pairs(hops) do
    if math.type(k) == "integer" then
      if k < 1 or k > #hops then argerror(4, "path", "hops must be a list") end
    elseif PATH_KEYS[k] then
      opts[k] = v
    else
      argerror(4, "path", ("unknown option '%s'"):format(tostring(k)))
    end
  end
  local s = core.node(lab, src, 2, "path")
  local fam = core.family(opts.family, 4, "path")
  local addr, _, label, dnode = core.destination(lab, dst, fam, 3, "path")
  for i, x in ipairs(hops) do
    local a = type(x) == "string" and ipaddr.parse(x)
    if a then
      want[i] = { address = core.canon(x), label = x }
    else
      local nd = core.node(lab, x, 4, "path")
      want[i] = { node = nd.name, label = nd.name }
    end
  end
  local t0 = core.now()
  local r = trace(lab, s, addr, opts, 4, "path")
  local ok = r.reached and #r.hops == #want + 1
  for i, w in ipairs(want) do
    local h = r.hops[i]
    if not ok or not h then ok = false break end
    if w.node and h.node ~= w.node then ok = false end
    if w.address and core.canon(h.address or "") ~= w.address then ok = false end
  end
  local exp = { s.name }
  for _, w in ipairs(want) do exp[#exp + 1] = w.label end
  exp[#exp + 1] = dnode and dnode.name or label
  local expected = table.concat(exp, " -> ")
  local name = opts.name or ("path %s"):format(expected)
  return core.record(lab, { name = name, ok = ok, expected = expected, actual = s.name .. " -> " .. M.describe(r),
                            result = r, hops = r.hops, record = opts.record }, t0)
end)

local MTU_KEYS = core.set("family", "timeout", "source", "dev", "name", "record")

-- check.path_mtu(lab, src, dst, mtu [, {family=, timeout=, source=, dev=,
-- name=, record=}]) -> ok, detail: the largest packet from src to dst that
-- gets through with don't-fragment is mtu bytes (as tracepath finds it).
M.path_mtu = core.api(function(lab, src, dst, mtu, opts)
  if math.type(mtu) ~= "integer" or mtu < 68 or mtu > 65535 then
    argerror(4, "path_mtu", ("MTU (68 to 65535) expected, got %s"):format(tostring(mtu)))
  end
  opts = core.checkopts(opts, 5, "path_mtu", MTU_KEYS)
  local s = core.node(lab, src, 2, "path_mtu")
  local addr, _, label = core.destination(lab, dst, core.family(opts.family, 5, "path_mtu"), 3, "path_mtu")
  local t0 = core.now()
  local r = s.ns:path_mtu(addr, { timeout = core.optnumber(opts, "timeout", 5, "path_mtu", 0.001, 60),
    source = core.optaddress(opts, "source", 5, "path_mtu", ipaddr.parse(addr).family),
    dev = core.optifname(opts, "dev", 5, "path_mtu") })
  local actual
  if r.ok then
    actual = ("path MTU %d"):format(r.mtu)
    if r.from then actual = actual .. (" (fragmentation needed from %s)"):format(core.owner_label(lab, r.from)) end
  else
    actual = "no answer: " .. r.message
  end
  return core.record(lab, { name = opts.name or ("path MTU %s -> %s is %d"):format(s.name, label, mtu),
                            ok = r.ok and r.mtu == mtu, expected = ("path MTU %d"):format(mtu),
                            actual = actual, result = r, mtu = r.mtu, record = opts.record }, t0)
end)

return M
