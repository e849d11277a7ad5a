-- netns.check_perf: throughput checks, over the in-process TCP bulk transfer
-- (src:throughput): at least min, at most max bits per second get through.
local core = require "netns.check_core"
local ipaddr = require "netns.ipaddr"

local M = {}

local argerror = core.argerror

local UNITS = { [""] = 1, k = 1e3, m = 1e6, g = 1e9, t = 1e12 }

-- M.rate("8mbit") -> 8e6: bits per second from a number or tc's words
-- ("500kbit", "1.5gbit", "100mbit/s"; "bps" with a prefix is bytes per
-- second, as tc reads it: "1mbps" is 8 Mbit/s). nil, reason when it is not one.
function M.rate(v)
  if type(v) == "number" then
    if v > 0 then return v end
    return nil, "a positive number of bits per second"
  end
  if type(v) ~= "string" then return nil, ("rate expected, got %s"):format(type(v)) end
  local num, prefix, unit = v:lower():match("^%s*(%d+%.?%d*)%s*([kmgt]?)(%a*)/?s?%s*$")
  local n = tonumber(num)
  if not n or n <= 0 or (unit ~= "bit" and unit ~= "bps") then
    return nil, ("'%s' is not a rate (say \"8mbit\", \"500kbit\", \"1gbit\")"):format(v)
  end
  return n * UNITS[prefix] * (unit == "bps" and 8 or 1)
end

-- 7.57 Mbit/s
function M.format(bps)
  local units = { { 1e9, "Gbit/s" }, { 1e6, "Mbit/s" }, { 1e3, "kbit/s" } }
  for _, u in ipairs(units) do
    if bps >= u[1] then return ("%.3g %s"):format(bps / u[1], u[2]) end
  end
  return ("%.3g bit/s"):format(bps)
end

local KEYS = core.set("min", "max", "duration", "bytes", "port", "family", "timeout", "source", "name", "record")

-- check.throughput(lab, src, dst [, {min=, max=, duration=2, bytes=, port=,
-- family=, timeout=, source=, name=, record=}]) -> ok, detail:
-- a TCP bulk transfer from src to dst, as `iperf3 -c`, within the bounds.
M.throughput = core.api(function(lab, src, dst, opts)
  opts = core.checkopts(opts, 4, "throughput", KEYS)
  local s = core.node(lab, src, 2, "throughput")
  local fam = core.family(opts.family, 4, "throughput")
  local addr, _, label, dnode = core.destination(lab, dst, fam, 3, "throughput")
  if not dnode then
    dnode = type(lab) == "table" and lab.owner and lab:owner(addr)
    if not dnode then argerror(3, "throughput", ("%s belongs to no node of the lab: give a node"):format(addr)) end
  end
  local min, max, why
  if opts.min ~= nil then
    min, why = M.rate(opts.min)
    if not min then argerror(4, "throughput", "field 'min': " .. why) end
  end
  if opts.max ~= nil then
    max, why = M.rate(opts.max)
    if not max then argerror(4, "throughput", "field 'max': " .. why) end
  end
  if opts.duration ~= nil and opts.bytes ~= nil then argerror(4, "throughput", "give duration or bytes, not both") end
  local topts = { port = core.optnumber(opts, "port", 4, "throughput", 0, 65535, true),
                  timeout = core.optnumber(opts, "timeout", 4, "throughput", 0.01, 3600),
                  source = core.optaddress(opts, "source", 4, "throughput", ipaddr.parse(addr).family),
                  bytes = core.optnumber(opts, "bytes", 4, "throughput", 1, 1 << 50, true),
                  duration = opts.bytes == nil and (core.optnumber(opts, "duration", 4, "throughput", 0.01, 3600) or 2)
                    or nil }
  local t0 = core.now()
  local r = s.ns:throughput(dnode.ns, addr, topts)
  local ok = r.ok and (not min or r.bits_per_second >= min) and (not max or r.bits_per_second <= max)
  local bounds = {}
  if min then bounds[#bounds + 1] = "at least " .. M.format(min) end
  if max then bounds[#bounds + 1] = "at most " .. M.format(max) end
  local expected = #bounds > 0 and table.concat(bounds, " and ") or "a transfer"
  local actual
  if r.ok then
    actual = ("%s (%d bytes in %.2f s, %d retransmits)"):format(M.format(r.bits_per_second), r.bytes,
      r.seconds, r.retransmits)
  else
    actual = "no transfer: " .. r.error
  end
  local name = opts.name or ("%s -> %s: %s"):format(s.name, label, expected)
  return core.record(lab, { name = name, ok = ok, expected = expected, actual = actual, result = r,
                            bits_per_second = r.bits_per_second, record = opts.record }, t0)
end)

return M
