-- netns.check_port: checks of TCP and UDP ports, over the in-process port
-- probes (ns:probe, netns.probe_many): whether a connection is made or a
-- datagram answered, and when not, how it failed (refused by a RST, dropped
-- silently, rejected with an ICMP error, or refused at the source itself).
--
-- check.reachable(lab, src, dst, {tcp = 80}) and check.unreachable(lab, src,
-- dst, {udp = 53, how = "refused"}) come here (netns.check passes on the
-- options with tcp or udp); port_matrix probes many ports between many
-- nodes at once.
local netns = require "netns"
local core = require "netns.check_core"
local ipaddr = require "netns.ipaddr"

local M = {}

local argerror = core.argerror

M.KEYS = core.set("tcp", "udp", "family", "timeout", "source", "dev", "payload", "reply", "how",
  "from", "name", "record")

-- What a failure can be asked to be (how = ...), and what it matches.
local HOWS = {
  ["refused"] = true, ["timeout"] = true, ["rejected"] = true, ["error"] = true,
  ["unreachable"] = true, ["network unreachable"] = true, ["net unreachable"] = true,
  ["host unreachable"] = true, ["port unreachable"] = true, ["protocol unreachable"] = true,
  ["prohibited"] = true, ["ttl exceeded"] = true, ["packet too big"] = true,
}
M.HOWS = HOWS

-- A probe's outcome in the words of how = ...: "connected", "answered",
-- "refused", "timeout", "network unreachable" (the source has no route),
-- the ICMP error's kind ("prohibited", "host unreachable", ...), "error".
function M.how(r)
  local o = r.outcome
  if o == "icmp" then return (r.kind:gsub("_", " ")) end
  if o == "local" then
    if r.code == "ENETUNREACH" then return "network unreachable" end
    if r.code == "EHOSTUNREACH" then return "host unreachable" end
    return "error"
  end
  return o
end

function M.how_matches(want, got, r)
  if want == got then return true end
  if got == "connected" or got == "answered" then return false end
  if want == "error" then return got ~= "timeout" end
  if want == "rejected" then return got ~= "timeout" and r.outcome ~= "local" end
  if want == "unreachable" then return got:find("unreachable", 1, true) ~= nil end
  -- UDP's "refused" is an ICMP port unreachable: both words match it.
  if want == "port unreachable" then return r.kind == "port_unreachable" end
  return false
end

local function ms(t)
  if t >= 100 then return ("%.0f ms"):format(t) end
  return ("%.2f ms"):format(t)
end

-- What a probe result says, for a check's "actual".
function M.describe(lab, r)
  local o = r.outcome
  local from = r.from and (" from " .. core.owner_label(lab, r.from)) or ""
  if o == "connected" then return ("connected in %s"):format(ms(r.time)) end
  if o == "answered" then
    return ("answered%s in %s (%d bytes)"):format(from, ms(r.time), r.reply_len or 0)
  end
  if o == "refused" then
    if r.proto == "tcp" then return ("refused: RST%s"):format(from) end
    return ("refused: %s%s"):format(r.message, from)
  end
  if o == "timeout" then return ("no answer: timeout after %s"):format(ms(r.time)) end
  if o == "icmp" then return ("rejected: %s%s"):format(r.message, from) end
  return ("error at the source: %s"):format(r.message)
end

-- The protocol and port of a check's options (exactly one of tcp=, udp=).
function M.target(e, n, fname)
  if e.tcp ~= nil and e.udp ~= nil then argerror(n, fname, "give tcp or udp, not both") end
  local proto = e.tcp ~= nil and "tcp" or "udp"
  local port = e[proto]
  if math.type(port) ~= "integer" or port < 1 or port > 65535 then
    argerror(n, fname, ("field '%s': port (1 to 65535) expected, got %s"):format(proto, tostring(port)))
  end
  return proto, port
end

local function probe_opts(e, n, fname, fam)
  if e.payload ~= nil and type(e.payload) ~= "string" then
    argerror(n, fname, "field 'payload': string expected")
  end
  if e.reply ~= nil and type(e.reply) ~= "string" then argerror(n, fname, "field 'reply': string expected") end
  return { timeout = core.optnumber(e, "timeout", n, fname, 0.001, 3600), source = core.optaddress(e, "source", n, fname, fam),
           dev = core.optifname(e, "dev", n, fname), payload = e.payload }
end

local function from_set(lab, from, n, fname)
  if type(from) == "string" and ipaddr.parse(from) then
    return { [core.canon(from)] = true }, from
  end
  local nd = core.node(lab, from, n, fname)
  local s = {}
  for _, a in ipairs(core.addresses(nd, nil, true)) do s[core.canon(a.address)] = true end
  return s, nd.name
end

-- check.reachable(lab, src, dst, {tcp = port | udp = port, ...}): the
-- connection is made, or the datagram answered (with e.reply: that answer).
function M.reachable(lab, s, addr, label, e)
  local proto, port = M.target(e, 4, "reachable")
  local o = probe_opts(e, 4, "reachable", ipaddr.parse(addr).family)
  local t0 = core.now()
  local r = s.ns:probe(proto, addr, port, o)
  local ok = r.ok
  if ok and e.reply and r.reply ~= e.reply then ok = false end
  local what = proto == "tcp" and "connection" or "answer"
  local expected = ("%s %s port %d%s"):format(proto == "tcp" and "a connection to" or "an answer from",
    addr, port, e.reply and (" saying %q"):format(e.reply) or "")
  local actual = M.describe(lab, r)
  if r.ok and e.reply and r.reply ~= e.reply then actual = ("%s, saying %q"):format(actual, r.reply) end
  local name = e.name or ("%s reaches %s %s/%d"):format(s.name, label, proto, port)
  return core.record(lab, { name = name, ok = ok, expected = expected, actual = actual, result = r,
                            how = M.how(r), what = what, record = e.record }, t0)
end

-- check.unreachable(lab, src, dst, {tcp = port | udp = port, how =, from =}):
-- no connection (no answer), failing as how says, from whom from says.
function M.unreachable(lab, s, addr, label, e)
  local proto, port = M.target(e, 4, "unreachable")
  local o = probe_opts(e, 4, "unreachable", ipaddr.parse(addr).family)
  if e.how ~= nil and not HOWS[e.how] then
    argerror(4, "unreachable", ("field 'how': unknown failure '%s'"):format(tostring(e.how)))
  end
  local from, from_label
  if e.from ~= nil then from, from_label = from_set(lab, e.from, 4, "unreachable") end
  local t0 = core.now()
  local r = s.ns:probe(proto, addr, port, o)
  local how = M.how(r)
  local ok = not r.ok
  if ok and e.how and not M.how_matches(e.how, how, r) then ok = false end
  if ok and from and not (r.from and from[core.canon(r.from)]) then ok = false end
  local expected = ("no %s %s port %d%s%s"):format(proto == "tcp" and "connection to" or "answer from",
    addr, port, e.how and (": " .. e.how) or "", from_label and (" from " .. from_label) or "")
  local name = e.name or ("%s cannot reach %s %s/%d%s"):format(s.name, label, proto, port,
    (e.how or from_label) and (": %s%s"):format(e.how or "error", from_label and (" from " .. from_label) or "") or "")
  return core.record(lab, { name = name, ok = ok, expected = expected, actual = M.describe(lab, r),
                            result = r, how = how, record = e.record }, t0)
end

---------------------------------------------------------------- the matrix

local MATRIX_KEYS = core.set("from", "to", "nodes", "tcp", "udp", "family", "expect", "default",
  "timeout", "out", "name", "record")

-- A list of ports (an integer or a list of them).
local function port_list(v, field)
  if v == nil then return {} end
  if math.type(v) == "integer" then v = { v } end
  if type(v) ~= "table" then argerror(2, "port_matrix", ("field '%s': port or list of ports expected"):format(field)) end
  for i, p in ipairs(v) do
    if math.type(p) ~= "integer" or p < 1 or p > 65535 then
      argerror(2, "port_matrix", ("field '%s': item %d: port (1 to 65535) expected, got %s"):format(field, i, tostring(p)))
    end
  end
  return v
end

local function node_list(lab, list, field)
  local out = {}
  if list == nil then
    for _, nd in ipairs(type(lab) == "table" and lab.order or {}) do
      if nd.kind == "host" then out[#out + 1] = nd end
    end
    return out
  end
  if type(list) ~= "table" then argerror(2, "port_matrix", ("field '%s': list of nodes expected"):format(field)) end
  for i, x in ipairs(list) do out[i] = core.node(lab, x, 2, "port_matrix") end
  return out
end

-- An expectation value: true (reached), false (not reached), or a how.
local function check_value(v, where)
  if type(v) == "boolean" then return end
  if type(v) == "string" and (HOWS[v]) then return end
  argerror(2, "port_matrix", ("field 'expect': %s: true, false or a failure (%s) expected, got %s"):format(
    where, "\"refused\", \"timeout\", ...", tostring(v)))
end

-- expect = {src = {dst = {["tcp/80"] = v, ...} | v} | v} and {["tcp/80"] = v}
-- for every pair: the most specific one given wins (a cell, a pair, a
-- row, a service); nil when none is.
local function expectation(opts, s, d, svc)
  local e = opts.expect
  if type(e) ~= "table" then return e end
  local row = e[s]
  if type(row) == "table" then
    local cell = row[d]
    if type(cell) == "table" then
      if cell[svc] ~= nil then return cell[svc] end
    elseif cell ~= nil then
      return cell
    end
  elseif row ~= nil then
    return row
  end
  return e[svc]
end

local function validate_expect(e, names, svcs)
  if e == nil or type(e) == "boolean" then return end
  if type(e) ~= "table" then argerror(2, "port_matrix", "field 'expect': table or boolean expected") end
  for k, v in pairs(e) do
    if svcs[k] then
      check_value(v, k)
    elseif names[k] then
      if type(v) == "table" then
        for d, cell in pairs(v) do
          if not names[d] then argerror(2, "port_matrix", ("field 'expect': unknown node '%s' in row '%s'"):format(tostring(d), k)) end
          if type(cell) == "table" then
            for svc, x in pairs(cell) do
              if not svcs[svc] then argerror(2, "port_matrix", ("field 'expect': %s -> %s: unknown service '%s'"):format(k, d, tostring(svc))) end
              check_value(x, ("%s -> %s %s"):format(k, d, svc))
            end
          else
            check_value(cell, ("%s -> %s"):format(k, d))
          end
        end
      else
        check_value(v, "row " .. k)
      end
    else
      argerror(2, "port_matrix", ("field 'expect': unknown node or service '%s'"):format(tostring(k)))
    end
  end
end

local function cell_text(r)
  if r.ok then return r.outcome == "connected" and "open" or "answer" end
  local how = M.how(r)
  local short = { ["timeout"] = "drop", ["refused"] = "refused", ["prohibited"] = "prohib",
    ["host unreachable"] = "host-un", ["net unreachable"] = "net-un", ["port unreachable"] = "port-un",
    ["network unreachable"] = "noroute" }
  return short[how] or "error"
end

-- check.port_matrix(lab, {from=, to=, tcp=, udp=, expect=, default=, family=,
-- timeout=, out=, name=, record=}) -> ok, detail: every source probes every
-- port of every target (not itself) at once, prints a grid and compares.
M.port_matrix = core.api(function(lab, opts)
  opts = core.checkopts(opts, 2, "port_matrix", MATRIX_KEYS)
  local fam = core.family(opts.family, 2, "port_matrix") or "inet"
  if opts.nodes ~= nil and (opts.from ~= nil or opts.to ~= nil) then
    argerror(2, "port_matrix", "give nodes, or from and to")
  end
  local from = node_list(lab, opts.from or opts.nodes, "from")
  local to = node_list(lab, opts.to or opts.nodes, "to")
  local svcs, svc_list = {}, {}
  for _, proto in ipairs{ "tcp", "udp" } do
    for _, p in ipairs(port_list(opts[proto], proto)) do
      local k = proto .. "/" .. p
      if not svcs[k] then svcs[k] = { proto = proto, port = p }; svc_list[#svc_list + 1] = k end
    end
  end
  if #svc_list == 0 then argerror(2, "port_matrix", "no ports: give tcp= and/or udp=") end
  local names = {}
  for _, nd in ipairs(from) do names[nd.name] = true end
  for _, nd in ipairs(to) do names[nd.name] = true end
  validate_expect(opts.expect, names, svcs)
  local default = opts.default
  if default == nil then default = true end
  local list, meta = {}, {}
  for _, s in ipairs(from) do
    for _, d in ipairs(to) do
      if s ~= d then
        local a = core.addresses(d, fam)[1]
        if not a then argerror(2, "port_matrix", ("%s has no %s address"):format(d.name, core.FNAME[fam])) end
        for _, k in ipairs(svc_list) do
          list[#list + 1] = { s.ns, svcs[k].proto, a.address, svcs[k].port }
          local want = expectation(opts, s.name, d.name, k)
          if want == nil then want = default end
          meta[#meta + 1] = { src = s.name, dst = d.name, address = a.address, svc = k, expected = want }
        end
      end
    end
  end
  local t0 = core.now()
  local results = #list > 0 and netns.probe_many(list, { timeout = opts.timeout }) or {}
  local grid_rows, mismatches, open = {}, {}, 0
  local cells = {}
  for i, r in ipairs(results) do
    local m = meta[i]
    m.result, m.how = r, M.how(r)
    if r.ok then open = open + 1 end
    local want = m.expected
    if want == true then m.ok = r.ok
    elseif want == false then m.ok = not r.ok
    else m.ok = not r.ok and M.how_matches(want, m.how, r) end
    if not m.ok then mismatches[#mismatches + 1] = m end
    cells[m.src .. "\0" .. m.dst .. "\0" .. m.svc] = cell_text(r) .. (m.ok and "" or "!")
  end
  -- The grid: a row per (source, target), a column per service.
  local w = 6
  for _, k in ipairs(svc_list) do w = math.max(w, #k) end
  local lw = 3
  for _, s in ipairs(from) do for _, d in ipairs(to) do
    if s ~= d then lw = math.max(lw, #s.name + #d.name + 4) end
  end end
  local head = { (" "):rep(lw) }
  for _, k in ipairs(svc_list) do head[#head + 1] = ("%" .. w .. "s"):format(k) end
  grid_rows[1] = table.concat(head, " ")
  for _, s in ipairs(from) do
    for _, d in ipairs(to) do
      if s ~= d then
        local row = { ("%-" .. lw .. "s"):format(s.name .. " -> " .. d.name) }
        for _, k in ipairs(svc_list) do
          row[#row + 1] = ("%" .. w .. "s"):format(cells[s.name .. "\0" .. d.name .. "\0" .. k] or "")
        end
        grid_rows[#grid_rows + 1] = table.concat(row, " ")
      end
    end
  end
  grid_rows[#grid_rows + 1] = "(open: connected, answer: UDP answered, refused: RST or ICMP port unreachable, "
    .. "drop: no answer, prohib/host-un/net-un: ICMP error, noroute: no route at the source"
    .. (#mismatches > 0 and ", !: not as expected)" or ")")
  local g = table.concat(grid_rows, "\n")
  local out = opts.out
  if out == nil then out = core.output() end
  if out then
    local text = { ("port_matrix %s: %d probes, %d open"):format(core.FNAME[fam], #results, open), g }
    for i, m in ipairs(mismatches) do
      if i > 20 then text[#text + 1] = ("... and %d more"):format(#mismatches - 20) break end
      text[#text + 1] = ("  %s -> %s %s (%s): expected %s, got %s"):format(m.src, m.dst, m.svc, m.address,
        m.expected == true and "open" or m.expected == false and "closed" or m.expected, M.describe(lab, m.result))
    end
    local s = table.concat(text, "\n") .. "\n"
    if type(out) == "function" then out(s) else out:write(s) end
  end
  local actual
  if #mismatches == 0 then
    actual = ("%d of %d probes open, as expected"):format(open, #results)
  else
    local t = {}
    for i, m in ipairs(mismatches) do
      if i > 10 then t[#t + 1] = ("and %d more"):format(#mismatches - 10) break end
      t[#t + 1] = ("%s -> %s %s %s"):format(m.src, m.dst, m.svc, m.how)
    end
    actual = ("%d of %d probes open; not as expected: %s"):format(open, #results, table.concat(t, ", "))
  end
  return core.record(lab, {
    name = opts.name or ("port_matrix %s (%d probes)"):format(core.FNAME[fam], #results),
    ok = #mismatches == 0, expected = opts.expect == nil and "every port open" or "the expected matrix",
    actual = actual, record = opts.record, probes = meta, mismatches = mismatches, grid = g,
  }, t0)
end)

return M
