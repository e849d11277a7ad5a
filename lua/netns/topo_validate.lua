-- netns.topo_validate: checks a whole lab description and resolves what the
-- script left implicit, before anything is created.
--
-- Resolving: links find their nodes, ends get their default names
-- (<node>-eth<N>, skipping names given explicitly), peers, segments (a veth's
-- two ends, or every port of a switch with its bridge), automatic addresses
-- from the lab's pool, gateways given as node names, generated hosts files.
-- Checking: unknown nodes, names used twice in one namespace, names longer
-- than 15 bytes, duplicate addresses and MACs, network or broadcast addresses
-- on interfaces, ends of one segment that share no subnet (a typo), gateways
-- off every subnet of their node, addresses on switch ports. Every error
-- carries the script line of the declaration it is about; all are returned.
local topo = require "netns.topo"
local ipaddr = require "netns.ipaddr"

local V = {}

local function copy(t)
  local c = {}
  for i, v in ipairs(t or {}) do c[i] = v end
  return c
end

local function label(ifc)
  return ("%s:%s"):format(ifc.node.name, ifc.name or "?")
end

local function attach(lab, err)
  for _, node in ipairs(lab.order) do
    node.ifaces, node.host, node.guests = {}, nil, {}
    node.nsname = topo.nsname(lab, node.name)
    if node.bridge then
      node.bridge.node, node.bridge.addrs = node, copy(node.bridge.declared)
      node.ifaces[1] = node.bridge
    end
  end
  for _, node in ipairs(lab.order) do
    if node.at then
      local h = lab.nodes[node.at]
      if not h then
        err(node.where, "switch '%s': at unknown node '%s'", node.name, node.at)
      elseif h.kind == "switch" then
        err(node.where, "switch '%s': at '%s', which is a switch (put it at a host or router)", node.name, h.name)
      else
        node.host, node.nsname = h, h.nsname
        h.guests[#h.guests + 1] = node
      end
    end
  end
  for _, link in ipairs(lab.links) do
    for _, e in ipairs({ link.a, link.b }) do
      local n = lab.nodes[e.node_name]
      e.node, e.master, e.addrs = n, nil, copy(e.declared)
      if not e.explicit then e.name = nil end
      if not n then
        local names = {}
        for _, x in ipairs(lab.order) do names[#names + 1] = x.name end
        err(link.where, "link: unknown node '%s' (nodes: %s)", e.node_name,
          #names > 0 and table.concat(names, ", ") or "none declared")
      else
        if n.bridge then e.master = n.bridge.name end
        n.ifaces[#n.ifaces + 1] = e
      end
    end
    link.a.peer = link.b.node and { node = link.b.node, iface = link.b } or nil
    link.b.peer = link.a.node and { node = link.a.node, iface = link.a } or nil
  end
end

-- The kernel numbers a bridge's ports with 10 bits and keeps 0 for itself:
-- the 1024th port fails with EXFULL, halfway through up(). Said at the
-- switch's line instead, before anything is made.
V.BRIDGE_MAX_PORTS = 1023

local function check_ports(lab, err)
  for _, node in ipairs(lab.order) do
    if node.bridge and #node.ifaces - 1 > V.BRIDGE_MAX_PORTS then
      err(node.where, "switch '%s' has %d ports; a Linux bridge takes at most %d: "
        .. "split it into a tree of switches (switches linked to a core switch)",
        node.name, #node.ifaces - 1, V.BRIDGE_MAX_PORTS)
    end
  end
end

-- Every interface in a node's namespace: its own and those of switches at it.
function V.ns_ifaces(node)
  local t = copy(node.ifaces)
  for _, g in ipairs(node.guests or {}) do
    for _, i in ipairs(g.ifaces) do t[#t + 1] = i end
  end
  return t
end

local function name_ifaces(lab, err)
  local used = {}
  local function use(nsname, ifc)
    used[nsname] = used[nsname] or { lo = { where = "(every namespace)", node = { name = "lo" } } }
    local prev = used[nsname][ifc.name]
    if prev then
      err(ifc.where, "interface name '%s' on node '%s' is already used in that namespace (by %s, %s)",
        ifc.name, ifc.node.name, prev.node.name, prev.where)
    else
      used[nsname][ifc.name] = ifc
    end
  end
  for _, node in ipairs(lab.order) do
    for _, ifc in ipairs(node.ifaces) do
      if ifc.explicit then use(node.nsname, ifc) end
    end
  end
  for _, node in ipairs(lab.order) do
    local n = 0
    used[node.nsname] = used[node.nsname] or {}
    for _, ifc in ipairs(node.ifaces) do
      if not ifc.explicit then
        while used[node.nsname][("%s-eth%d"):format(node.name, n)] do n = n + 1 end
        ifc.name = ("%s-eth%d"):format(node.name, n)
        if #ifc.name > 15 then
          err(ifc.where, "default interface name '%s' for node '%s' is longer than 15 bytes: "
            .. "name this end, e.g. \"%s:eth%d\"", ifc.name, node.name, node.name, n)
        end
        use(node.nsname, ifc)
      end
    end
  end
end

-- Segments: a veth's two ends, merged through switches with their bridge.
local function segments(lab)
  local parent = {}
  local function find(x)
    while parent[x] ~= x do x = parent[x] end
    return x
  end
  local function union(a, b) parent[find(b)] = find(a) end
  local order = {}
  local function add(x)
    if not parent[x] then parent[x] = x; order[#order + 1] = x end
  end
  for _, link in ipairs(lab.links) do
    if link.a.node and link.b.node then
      add(link.a); add(link.b); union(link.a, link.b)
      for _, e in ipairs({ link.a, link.b }) do
        if e.node.bridge then add(e.node.bridge); union(e.node.bridge, e) end
      end
    end
  end
  for _, node in ipairs(lab.order) do
    if node.bridge then add(node.bridge) end
  end
  local segs, byroot = {}, {}
  for _, x in ipairs(order) do
    local r = find(x)
    if not byroot[r] then byroot[r] = { members = {} }; segs[#segs + 1] = byroot[r] end
    local s = byroot[r]
    s.members[#s.members + 1] = x
    x.segment = s
  end
  return segs
end

local function auto_address(lab, segs, err)
  if not lab.pool then return end
  for fam, p in pairs(lab.pool) do p.next = 0 end
  for _, seg in ipairs(segs) do
    for _, fam in ipairs({ "inet", "inet6" }) do
      local p = lab.pool[fam]
      local has, cands = false, {}
      for _, m in ipairs(seg.members) do
        for _, s in ipairs(m.addrs) do
          if ipaddr.parse(s, true).family == fam then has = true end
        end
        local l3 = m.kind == "bridge" and m.node.at ~= nil or (m.kind ~= "bridge" and not m.master)
        if l3 then cands[#cands + 1] = m end
      end
      if p and not has and #cands > 0 then
        local bits = fam == "inet" and 32 or 128
        if p.next >= 1 << math.min(62, p.len - p.net.plen) then
          err(cands[1].where, "pool: no %s subnet left for this link", fam)
        elseif #cands + 1 >= 1 << math.min(62, bits - p.len) then
          err(cands[1].where, "pool: /%d subnets are too small for %d interfaces", p.len, #cands)
        else
          local net = ipaddr.add(p.net, p.next, bits - p.len)
          net.plen = p.len
          p.next = p.next + 1
          for i, m in ipairs(cands) do
            m.addrs[#m.addrs + 1] = ipaddr.tostring(ipaddr.add(net, i, 0), true)
          end
        end
      end
    end
  end
end

-- Every interface of the lab in declaration order, so that of two
-- declarations of one address the later one is blamed.
local function declared_ifaces(lab)
  -- Every seq is unique and at most lab.declared: placed by it, not sorted.
  local byseq, t = {}, {}
  for _, node in ipairs(lab.order) do
    for _, ifc in ipairs(node.ifaces) do byseq[ifc.seq] = ifc end
  end
  for i = 1, lab.declared do t[#t + 1] = byseq[i] end
  return t
end

local function check_addrs(lab, segs, err)
  local seen, macs = {}, {}
  for _, ifc in ipairs(declared_ifaces(lab)) do
    local node = ifc.node
    if ifc.master and #ifc.declared > 0 then
      err(ifc.where, "%s is a port of switch '%s' and cannot have addresses (give the switch addrs=)",
        label(ifc), node.name)
    end
    ifc.parsed = {}
    local v6 = false
    for _, s in ipairs(ifc.addrs) do
      local a = ipaddr.parse(s, true)
      ifc.parsed[#ifc.parsed + 1] = a
      v6 = v6 or a.family == "inet6"
      local sp = ipaddr.special(a)
      if sp then err(ifc.where, "%s on %s is the %s address of its subnet", s, label(ifc), sp) end
      local k = ipaddr.key(a)
      if seen[k] then
        err(ifc.where, "address %s on %s is already on %s (%s)", s, label(ifc), label(seen[k]), seen[k].where)
      else
        seen[k] = ifc
      end
    end
    if ifc.mac then
      if macs[ifc.mac] then
        err(ifc.where, "MAC %s on %s is already on %s (%s)", ifc.mac, label(ifc), label(macs[ifc.mac]), macs[ifc.mac].where)
      else
        macs[ifc.mac] = ifc
      end
    end
    if v6 and ifc.mtu and ifc.mtu < 1280 then
      err(ifc.where, "%s has IPv6 addresses but mtu %d (IPv6 needs at least 1280)", label(ifc), ifc.mtu)
    end
  end
  -- The ends of one segment with addresses of a family should share a subnet;
  -- an end that shares none with any other is a typo (192.0.3.254 for .2.254).
  for _, seg in ipairs(segs) do
    for _, fam in ipairs({ "inet", "inet6" }) do
      local with = {}
      for _, m in ipairs(seg.members) do
        local own = {}
        for _, a in ipairs(m.parsed or {}) do
          if a.family == fam then own[#own + 1] = a end
        end
        if #own > 0 then with[#with + 1] = { ifc = m, addrs = own } end
      end
      if #with >= 2 then
        local bad = {}
        for _, x in ipairs(with) do
          -- Stop at the first end that shares a subnet: on a 1000-port
          -- switch the full scan was a million bit-by-bit comparisons.
          local ok = false
          for _, y in ipairs(with) do
            if y ~= x then
              for _, a in ipairs(x.addrs) do
                for _, b in ipairs(y.addrs) do
                  if ipaddr.contains(a, b) or ipaddr.contains(b, a) then ok = true break end
                end
                if ok then break end
              end
              if ok then break end
            end
          end
          if not ok then bad[#bad + 1] = x end
        end
        local function show(x)
          local t = {}
          for _, a in ipairs(x.addrs) do t[#t + 1] = a.text end
          return label(x.ifc) .. " " .. table.concat(t, " ")
        end
        if #bad == #with then
          local t = {}
          for _, x in ipairs(with) do t[#t + 1] = show(x) end
          err(with[#with].ifc.where, "the addresses on this segment share no subnet (%s): a typo?", table.concat(t, ", "))
        else
          for _, x in ipairs(bad) do
            err(x.ifc.where, "%s shares no subnet with the other interfaces on its segment: a typo?", show(x))
          end
        end
      end
    end
  end
end

-- The address of `gw` (a node) of family fam on a segment it shares with
-- `node`, and on a subnet `node` has there: a gateway the kernel accepts
-- (one off every subnet of the node, as the IPv6 address of a dual-stack
-- router seen from an IPv4-only host, is refused with EHOSTUNREACH).
local function gateway_of(node, gw, fam)
  for _, i in ipairs(V.ns_ifaces(node)) do
    for _, j in ipairs(V.ns_ifaces(gw)) do
      if i.segment and i.segment == j.segment then
        for _, a in ipairs(j.parsed or {}) do
          for _, own in ipairs(i.parsed or {}) do
            if a.family == fam and ipaddr.contains(own, a) then return ipaddr.tostring(a) end
          end
        end
      end
    end
  end
end

local function onlink(node, r, gw)
  for _, i in ipairs(V.ns_ifaces(node)) do
    if not r.dev or r.dev == i.name then
      for _, a in ipairs(i.parsed or {}) do
        if ipaddr.contains(a, gw) then return true end
      end
    end
  end
  for _, o in ipairs(node.static_routes) do
    if o.dev and not o.via and o.dst ~= "default" and (not o.type or o.type == "unicast") then
      local d = ipaddr.parse(o.dst)
      if d and ipaddr.contains(d, gw) then return true end
    end
  end
  return false
end

local function resolve_routes(lab, err)
  for _, node in ipairs(lab.order) do
    node.resolved = {}
    local names = {}
    for _, i in ipairs(V.ns_ifaces(node)) do names[i.name] = true end
    for _, r in ipairs(node.static_routes) do
      local function add(via, fam)
        node.resolved[#node.resolved + 1] = {
          dst = r.dst, via = via, dev = r.dev, metric = r.metric, table = r.table, type = r.type,
          src = r.src, scope = r.scope,
          family = r.family or fam or (r.dst == "default" and not via and "inet") or nil,
          where = r.where, decl = r,
        }
      end
      if r.dev and not names[r.dev] then
        err(r.where, "route on '%s': no interface '%s' there", node.name, r.dev)
      end
      local gwaddr = r.via and ipaddr.parse(r.via, false)
      if r.via and not gwaddr then
        local gw = lab.nodes[r.via]
        local fams = r.dst == "default" and (r.family and { r.family } or { "inet", "inet6" })
            or { r.family_hint }
        local found = 0
        if not gw then
          err(r.where, "route on '%s': gateway '%s' is neither an address nor a node", node.name, r.via)
        else
          for _, fam in ipairs(fams) do
            local a = gateway_of(node, gw, fam)
            if a then add(a, fam); found = found + 1 end
          end
          if found == 0 then
            err(r.where, "route on '%s': gateway node '%s' has no %saddress on a subnet '%s' has on a segment they share",
              node.name, gw.name, #fams == 1 and (fams[1] == "inet" and "IPv4 " or "IPv6 ") or "", node.name)
          end
        end
      elseif gwaddr then
        if r.family_hint and r.family_hint ~= gwaddr.family then
          err(r.where, "route on '%s': destination %s and gateway %s are of different families", node.name, r.dst, r.via)
        elseif gwaddr.family == "inet6" and gwaddr.bytes[1] == 0xfe and gwaddr.bytes[2] & 0xc0 == 0x80 then
          if not r.dev then err(r.where, "route on '%s': link-local gateway %s needs dev=", node.name, r.via) end
        elseif not onlink(node, r, gwaddr) then
          err(r.where, "route on '%s': gateway %s is on no subnet of '%s'%s (the kernel would refuse it: Network is unreachable)",
            node.name, r.via, node.name, r.dev and (" via " .. r.dev) or "")
        end
        add(r.via, gwaddr.family)
      else
        add(nil, r.family_hint)
      end
    end
  end
end

local function hosts_file(lab)
  local lines = { "127.0.0.1\tlocalhost", "::1\tlocalhost ip6-localhost ip6-loopback" }
  for _, node in ipairs(lab.order) do
    for _, ifc in ipairs(node.ifaces) do
      for _, a in ipairs(ifc.parsed or {}) do
        lines[#lines + 1] = ipaddr.tostring(a) .. "\t" .. node.name
      end
    end
  end
  return table.concat(lines, "\n") .. "\n"
end

-- Validates and resolves lab (a netns.lab description); returns the list of
-- errors, each "file:line: message", empty when the description is good.
function V.validate(lab)
  local errs = {}
  local function err(where, fmt, ...)
    errs[#errs + 1] = ("%s: %s"):format(where, fmt:format(...))
  end
  attach(lab, err)
  check_ports(lab, err)
  name_ifaces(lab, err)
  local segs = segments(lab)
  auto_address(lab, segs, err)
  check_addrs(lab, segs, err)
  resolve_routes(lab, err)
  local hosts
  for _, node in ipairs(lab.order) do
    for _, e in ipairs(node.etcs) do
      if e.content == true then
        hosts = hosts or hosts_file(lab)
        e.text = hosts
      else
        e.text = e.content
      end
    end
  end
  lab.segments = segs
  return errs
end

return V
