-- netns.matrix: the all-pairs reachability matrix (check.ping_all) and the
-- neighbour-table care it needs (check.static_neighs).
--
-- Every pair is pinged at once with netns.ping_many (one event loop, no
-- process per ping). All namespaces share one kernel ARP table and one NDP
-- table, capped host-wide by gc_thresh3 (1024 dynamic entries by default,
-- settable only on the host): an all-pairs run over ~30 hosts on one segment
-- needs more entries than that, the kernel logs "neighbor table overflow" and
-- pings are lost. We never change the host's settings. Instead:
--  - static_neighs installs permanent entries (which do not count against
--    the cap) from the MACs the lab's interfaces really have;
--  - otherwise the sources are split into waves that each fit the room left
--    in the table, and the lab's learned entries are flushed between waves;
--  - the table's overflow counter (table_fulls in /proc/net/stat/arp_cache)
--    is read before and after, and an overflow is reported as the cause.
local netns = require "netns"
local core = require "netns.check_core"
local ipaddr = require "netns.ipaddr"

local M = {}

local set, argerror, checkopts = core.set, core.argerror, core.checkopts

-- Natural order, so ns2 comes before ns10.
local function natural_less(a, b)
  local function key(s)
    return (s:gsub("%d+", function(d) return ("%012d"):format(tonumber(d)) end))
  end
  return key(a) < key(b)
end

---------------------------------------------------------------- the kernel's table

local read_file = netns.readfile

-- The shared table's state: entries (all namespaces), table_fulls (times it
-- was found full) and gc_thresh3, or nils where the host does not say.
function M.neigh_stats(fam)
  local v6 = fam == "inet6"
  local text = read_file("/proc/net/stat/" .. (v6 and "ndisc_cache" or "arp_cache"))
  local st = {}
  if text then
    local header, col = nil, nil
    for line in text:gmatch("[^\n]+") do
      local fields = {}
      for w in line:gmatch("%S+") do fields[#fields + 1] = w end
      if not header then
        header = fields
        for i, h in ipairs(fields) do if h == "table_fulls" then col = i end end
      else
        st.entries = st.entries or tonumber(fields[1], 16)
        if col and fields[col] then st.table_fulls = (st.table_fulls or 0) + tonumber(fields[col], 16) end
      end
    end
  end
  local t = read_file(("/proc/sys/net/%s/neigh/default/gc_thresh3"):format(v6 and "ipv6" or "ipv4"))
  st.gc_thresh3 = t and tonumber(t:match("%d+"))
  return st
end

-- Sources in waves: each wave's pairs (about two learned entries each: one
-- at each end) must fit the room left in the table.
local function plan_waves(groups, opts, fam, static)
  local waves = opts.waves
  local n = #groups
  if math.type(waves) == "integer" then
    local per = math.max(1, math.ceil(n / waves))
    local list = {}
    for i = 1, n, per do list[#list + 1] = { first = i, last = math.min(n, i + per - 1) } end
    return list, nil
  end
  local total = 0
  for _, g in ipairs(groups) do total = total + #g.dsts end
  local st = M.neigh_stats(fam)
  if static or not st.gc_thresh3 or not st.entries then return { { first = 1, last = n } }, st end
  local room = st.gc_thresh3 - st.entries - 32
  if room < st.gc_thresh3 // 4 then room = st.gc_thresh3 // 4 end
  if 2 * total <= room then return { { first = 1, last = n } }, st end
  local list, first, used = {}, 1, 0
  for i, g in ipairs(groups) do
    if used > 0 and used + 2 * #g.dsts > room then
      list[#list + 1] = { first = first, last = i - 1 }
      first, used = i, 0
    end
    used = used + 2 * #g.dsts
  end
  list[#list + 1] = { first = first, last = n }
  return list, st
end

-- Namespaces whose learned entries a wave leaves behind: every node of the
-- lab (routers learn too), or the participants without a lab.
local function flush_all(lab, nodes, fam)
  local seen, count = {}, 0
  local list = {}
  if type(lab) == "table" and type(lab.nodes) == "table" then
    for _, nd in pairs(lab.nodes) do list[#list + 1] = nd end
  else
    list = nodes
  end
  for _, nd in ipairs(list) do
    if type(nd) == "table" and core.is_ns(nd.ns) then
      local id = nd.ns:id()
      if not seen[id] then
        seen[id] = true
        count = count + nd.ns:neigh_flush{ family = fam }
      end
    end
  end
  return count
end

---------------------------------------------------------------- static entries

local function lab_nodes(lab, opts, fname, hosts_only)
  local list = {}
  if opts.nodes ~= nil then
    if type(opts.nodes) ~= "table" then argerror(2, fname, "field 'nodes': list expected") end
    for _, x in ipairs(opts.nodes) do list[#list + 1] = core.node(lab, x, 2, fname) end
    return list
  end
  if type(lab) ~= "table" or type(lab.nodes) ~= "table" then
    argerror(1, fname, "a lab, or a list of nodes in the option 'nodes', expected")
  end
  local names = {}
  for name, nd in pairs(lab.nodes) do
    if type(nd) == "table" and (not hosts_only or nd.kind == nil or nd.kind == "host") then
      names[#names + 1] = name
    end
  end
  table.sort(names, natural_less)
  for _, name in ipairs(names) do list[#list + 1] = lab.nodes[name] end
  return list
end

-- check.static_neighs(lab [, {family=, nodes=}]) -> count: a permanent
-- neighbour entry in each node for every other node's address on the same
-- subnet, with the MAC that interface has (as `ip neigh replace ... nud
-- permanent`). Permanent entries do not count against gc_thresh3.
M.static_neighs = core.api(function(lab, opts)
  opts = checkopts(opts, 2, "static_neighs", set("family", "nodes"))
  local fam = core.family(opts.family, 2, "static_neighs")
  local nodes = lab_nodes(lab, opts, "static_neighs", false)
  local subnets = {}
  for _, nd in ipairs(nodes) do
    local macs = {}
    for _, l in ipairs(nd.ns:links()) do macs[l.name] = l.mac end
    for _, a in ipairs(core.addresses(nd, fam, true)) do
      local p = ipaddr.parse(a.address .. "/" .. a.prefixlen)
      if p and macs[a.dev] then
        local key = ipaddr.key(ipaddr.network(p)) .. "/" .. p.plen
        subnets[key] = subnets[key] or {}
        table.insert(subnets[key], { nd = nd, dev = a.dev, address = a.address, mac = macs[a.dev] })
      end
    end
  end
  local count = 0
  for _, members in pairs(subnets) do
    for _, a in ipairs(members) do
      for _, b in ipairs(members) do
        if a.nd ~= b.nd then
          a.nd.ns:neigh_add{ dev = a.dev, address = b.address, mac = b.mac, replace = true }
          count = count + 1
        end
      end
    end
  end
  return count
end)

---------------------------------------------------------------- the matrix

local function expected_for(expect, default, s, d)
  if expect == nil then return true end
  if type(expect) == "boolean" then return expect end
  local row = expect[s]
  if type(row) == "boolean" then return row end
  if type(row) == "table" and row[d] ~= nil then return row[d] end
  return default
end

local function check_expect(expect, names)
  if expect == nil or type(expect) == "boolean" then return end
  if type(expect) ~= "table" then argerror(2, "ping_all", "field 'expect': table or boolean expected") end
  for s, row in pairs(expect) do
    if not names[s] then argerror(2, "ping_all", ("field 'expect': unknown node '%s'"):format(tostring(s))) end
    if type(row) == "table" then
      for d, v in pairs(row) do
        if not names[d] then argerror(2, "ping_all", ("field 'expect': unknown node '%s' in row '%s'"):format(tostring(d), s)) end
        if type(v) ~= "boolean" then argerror(2, "ping_all", ("field 'expect': %s -> %s: boolean expected"):format(s, d)) end
      end
    elseif type(row) ~= "boolean" then
      argerror(2, "ping_all", ("field 'expect': row '%s': table or boolean expected"):format(s))
    end
  end
end

-- The grid: one row per source, one column per destination.
local function grid(nodes, matrix, expect_of)
  local w = 3
  for _, nd in ipairs(nodes) do w = math.max(w, #nd.name) end
  local lines = { (" "):rep(w) .. " " }
  local head = {}
  for _, nd in ipairs(nodes) do head[#head + 1] = ("%" .. w .. "s"):format(nd.name) end
  lines[1] = lines[1] .. table.concat(head, " ")
  local legend = false
  for _, s in ipairs(nodes) do
    local cells = {}
    for _, d in ipairs(nodes) do
      local v = matrix[s.name] and matrix[s.name][d.name]
      local cell
      if s == d then cell = "."
      elseif v == nil then cell = ""
      else
        cell = v and "ok" or "--"
        if v ~= expect_of(s.name, d.name) then cell, legend = cell .. "!", true end
      end
      cells[#cells + 1] = ("%" .. w .. "s"):format(cell)
    end
    lines[#lines + 1] = ("%-" .. w .. "s "):format(s.name) .. table.concat(cells, " ")
  end
  lines[#lines + 1] = "(rows ping columns; ok: reply, --: no reply" .. (legend and ", !: not as expected)" or ")")
  return table.concat(lines, "\n")
end

local PING_ALL_KEYS = set("family", "expect", "default", "nodes", "sample", "waves", "static_neighs",
  "count", "timeout", "out", "name", "record", "grid_max")

-- check.ping_all(lab, opts) -> ok, detail: every node (the lab's hosts, or
-- opts.nodes) pings every other one's first address of the family at once.
-- opts.expect: nil (all reach), true/false, or {src = {dst = bool} | bool}
-- with opts.default (true) for pairs not given. opts.sample = k: each node
-- pings only the k nodes after it. opts.waves: an integer, or "auto".
M.ping_all = core.api(function(lab, opts)
  opts = checkopts(opts, 2, "ping_all", PING_ALL_KEYS)
  local fam = core.family(opts.family, 2, "ping_all") or "inet"
  local default = opts.default
  if default == nil then default = true end
  if opts.waves ~= nil and opts.waves ~= "auto" and not (math.type(opts.waves) == "integer" and opts.waves >= 1) then
    argerror(2, "ping_all", "field 'waves': positive integer or \"auto\" expected")
  end
  if opts.sample ~= nil and not (math.type(opts.sample) == "integer" and opts.sample >= 1) then
    argerror(2, "ping_all", "field 'sample': positive integer expected")
  end
  local all = lab_nodes(lab, opts, "ping_all", true)
  local nodes, names, skipped = {}, {}, {}
  for _, nd in ipairs(all) do
    local a = core.addresses(nd, fam)[1]
    if a then
      nodes[#nodes + 1] = { name = nd.name, ns = nd.ns, address = a.address, node = nd }
      names[nd.name] = true
    else
      skipped[#skipped + 1] = nd.name
    end
  end
  check_expect(opts.expect, names)
  local function expect_of(s, d) return expected_for(opts.expect, default, s, d) end
  local t0 = netns.now()
  if opts.static_neighs then M.static_neighs(lab, { family = fam, nodes = opts.nodes }) end

  -- pairs grouped by source
  local groups, n = {}, #nodes
  for i, s in ipairs(nodes) do
    local g = { src = s, dsts = {} }
    local k = opts.sample and math.min(opts.sample, n - 1) or n - 1
    for step = 1, k do g.dsts[#g.dsts + 1] = nodes[(i - 1 + step) % n + 1] end
    groups[i] = g
  end
  local waves, st = plan_waves(groups, opts, fam, opts.static_neighs)
  local before = M.neigh_stats(fam).table_fulls
  local matrix, pairs_, flushed = {}, {}, 0
  for wi, wave in ipairs(waves) do
    if wi > 1 then flushed = flushed + flush_all(lab, all, fam) end
    local list, meta = {}, {}
    for i = wave.first, wave.last do
      for _, d in ipairs(groups[i].dsts) do
        list[#list + 1] = { groups[i].src.ns, d.address }
        meta[#meta + 1] = { src = groups[i].src, dst = d }
      end
    end
    local results = #list > 0 and netns.ping_many(list, { count = opts.count or 1, timeout = opts.timeout }) or {}
    for i, r in ipairs(results) do
      local s, d = meta[i].src.name, meta[i].dst.name
      local ok = (r.received or 0) > 0
      matrix[s] = matrix[s] or {}
      matrix[s][d] = ok
      pairs_[#pairs_ + 1] = { src = s, dst = d, address = meta[i].dst.address, ok = ok,
                              expected = expect_of(s, d), result = r }
    end
  end
  local after = M.neigh_stats(fam).table_fulls

  local reached, mismatches = 0, {}
  for _, p in ipairs(pairs_) do
    if p.ok then reached = reached + 1 end
    if p.ok ~= p.expected then mismatches[#mismatches + 1] = p end
  end
  local overflow = before ~= nil and after ~= nil and after > before
  local diagnosis
  if overflow then
    diagnosis = ("neighbour table overflow: the kernel's %s table, which all namespaces share, was full " ..
      "%d time(s) during this matrix (host-wide cap gc_thresh3 = %s), so pings were lost for want of " ..
      "room, not because of the lab. Use ping_all{static_neighs=true} (permanent entries do not count), " ..
      "smaller waves (waves=N), or raise net.%s.neigh.default.gc_thresh3 on the host yourself " ..
      "(nslab never changes host settings)."):format(fam == "inet6" and "NDP" or "ARP", after - before,
      tostring((st or M.neigh_stats(fam)).gc_thresh3 or "?"), fam == "inet6" and "ipv6" or "ipv4")
  end

  -- The grid is N^2 cells of text: 4 million strings for 2000 nodes. Build it
  -- only where it is shown.
  local grid_max = opts.grid_max or 40
  local g = #nodes <= grid_max and grid(nodes, matrix, expect_of) or nil
  local fname = core.FNAME[fam]
  local title = ("ping_all %s: %d nodes, %d pairs, %d reached%s"):format(fname, #nodes, #pairs_, reached,
    #waves > 1 and (", in %d waves"):format(#waves) or "")
  local out = opts.out
  if out == nil then out = core.output() end
  if out then
    local text = { title }
    if g then text[#text + 1] = g end
    if #skipped > 0 then text[#text + 1] = ("(no %s address, left out: %s)"):format(fname, table.concat(skipped, ", ")) end
    for i, p in ipairs(mismatches) do
      if i > 20 then text[#text + 1] = ("... and %d more"):format(#mismatches - 20) break end
      text[#text + 1] = ("  %s -> %s (%s): %s"):format(p.src, p.dst, p.address, core.describe(lab, p.result))
    end
    if diagnosis then text[#text + 1] = diagnosis end
    local s = table.concat(text, "\n") .. "\n"
    if type(out) == "function" then out(s) else out:write(s) end
  end

  local expected, actual
  local want_reach = 0
  for _, p in ipairs(pairs_) do if p.expected then want_reach = want_reach + 1 end end
  if opts.expect == nil then
    expected = ("all %d pairs reach"):format(#pairs_)
  else
    expected = ("the expected matrix: %d of %d pairs reach"):format(want_reach, #pairs_)
  end
  if #mismatches == 0 then
    actual = ("%d of %d pairs reach, as expected"):format(reached, #pairs_)
  else
    local t = {}
    for i, p in ipairs(mismatches) do
      if i > 10 then t[#t + 1] = ("and %d more"):format(#mismatches - 10) break end
      t[#t + 1] = ("%s -> %s %s"):format(p.src, p.dst, p.ok and "reached (expected no reply)" or "got no reply")
    end
    actual = ("%d of %d pairs reach; not as expected: %s"):format(reached, #pairs_, table.concat(t, ", "))
  end
  return core.record(lab, {
    name = opts.name or ("ping_all %s (%d nodes, %d pairs)"):format(fname, #nodes, #pairs_),
    ok = #mismatches == 0, expected = expected, actual = actual, record = opts.record,
    matrix = matrix, pairs = pairs_, mismatches = mismatches, grid = g, waves = #waves,
    flushed = flushed, overflow = overflow, diagnosis = diagnosis, skipped = skipped,
  }, t0)
end)

return M
