-- netns.topo: a lab's description as data, the way Mininet's Topo is: nodes
-- (hosts, routers, switches), links with per-end options, routes, sysctls and
-- /etc files. Declaring only records; nothing touches the kernel here.
--
-- Each declaration remembers the script line that made it (the first stack
-- frame outside the lab layer), so that every error, found at once (a bad
-- address) or later by topo.validate (a link to an unknown node, a duplicate
-- address, a gateway off every subnet), points at the user's own line.
-- topo.validate (in netns.topo_validate) resolves the whole description: default
-- interface names, peers, automatic addresses, gateways given as node names.
local ipaddr = require "netns.ipaddr"
local netns_qdisc_check = require("netns").qdisc_check
local position = require "netns.position"

local topo = {}

-- "script.lua:12": the line of a topology file being declared (netns.topofile
-- sets topo.location), else the script's line that called the lab's public
-- function (netns.position: lab.new and the Lab methods are made with
-- position.api), else the caller's.
function topo.where()
  return topo.location or position.where() or position.of(2) or "?"
end

-- A value as a message shows it: long strings cut (a 1 MiB name must not
-- make a 1 MB error), control bytes escaped.
local function shown(v)
  if type(v) ~= "string" then return v end
  local cut = v:sub(1, 64):gsub("%c", function(c) return ("\\x%02x"):format(c:byte()) end)
  if #v > 64 then cut = cut .. ("...(%d bytes)"):format(#v) end
  return cut
end

-- Raises a declaration error at the user's line (no position of ours).
function topo.fail(where, fmt, ...)
  local args = table.pack(...)
  for i = 1, args.n do args[i] = shown(args[i]) end
  error(("%s: %s"):format(where, fmt:format(table.unpack(args, 1, args.n))), 0)
end
local fail = topo.fail

local function check_keys(where, what, t, allowed)
  if t == nil then return {} end
  if type(t) ~= "table" then fail(where, "%s: options must be a table, got %s", what, type(t)) end
  for k in pairs(t) do
    if type(k) ~= "string" or not allowed[k] then
      local names = {}
      for a in pairs(allowed) do names[#names + 1] = a end
      table.sort(names)
      fail(where, "%s: unknown option '%s' (known: %s)", what, tostring(k), table.concat(names, ", "))
    end
  end
  return t
end

-- topo.set("a", "b") -> { a = true, b = true }
function topo.set(...)
  local s = {}
  for _, k in ipairs({ ... }) do s[k] = true end
  return s
end
local set = topo.set

-- The namespace of a node: the lab's prefix and the node's name.
function topo.nsname(lab, name)
  return lab.prefix .. name
end

-- Node names become namespace names (with the prefix) and, by default, the
-- start of interface names: letters, digits, '_', '.', '-'.
function topo.check_node_name(where, what, name)
  if type(name) ~= "string" then fail(where, "%s: node name must be a string, got %s", what, type(name)) end
  if not name:match("^[%w_][%w_.%-]*$") then
    fail(where, "%s: bad node name '%s' (letters, digits, '_', '.', '-')", what, name)
  end
  if #name > 200 then fail(where, "%s: node name '%s' too long", what, name) end
  return name
end

function topo.check_ifname(where, what, name)
  if type(name) ~= "string" then fail(where, "%s: interface name must be a string, got %s", what, type(name)) end
  if #name == 0 or #name > 15 then
    fail(where, "%s: interface name '%s' is %d bytes (1 to 15 allowed)", what, name, #name)
  end
  if name:find("[%s/:%c]") or name == "." or name == ".." then
    fail(where, "%s: bad interface name '%s'", what, name)
  end
  return name
end

function topo.check_mac(where, what, mac)
  if mac == nil then return nil end
  if type(mac) ~= "string" then fail(where, "%s: mac must be a string, got %s", what, type(mac)) end
  if not ipaddr.is_mac(mac) then fail(where, "%s: bad MAC address '%s' (want xx:xx:xx:xx:xx:xx)", what, mac) end
  if tonumber(mac:sub(1, 2), 16) & 1 == 1 then fail(where, "%s: MAC address %s is a multicast address", what, mac) end
  if mac:match("^[0:]+$") then fail(where, "%s: MAC address %s is all zeros", what, mac) end
  return mac:lower()
end

local function check_mtu(where, what, mtu)
  if mtu == nil then return nil end
  if math.type(mtu) ~= "integer" or mtu < 68 or mtu > 65535 then
    fail(where, "%s: mtu must be an integer from 68 to 65535, got %s", what, tostring(mtu))
  end
  return mtu
end

-- Interface addresses: "192.0.2.1/24" or an array of them, prefix required.
local function check_addrs(where, what, v)
  if v == nil then return {} end
  if type(v) == "string" then v = { v } end
  if type(v) ~= "table" then fail(where, "%s: addresses must be a string or an array, got %s", what, type(v)) end
  local out = {}
  for _, s in ipairs(v) do
    local a, why = ipaddr.parse(s, true)
    if not a then fail(where, "%s: bad address '%s': %s", what, tostring(s), why) end
    out[#out + 1] = s
  end
  return out
end

-- sysctl = { ["net.ipv4.ip_forward"] = 1, ... } -> sorted {key, value, where}
local function check_sysctls(where, what, t, out)
  if t == nil then return end
  if type(t) ~= "table" then fail(where, "%s: sysctl must be a table, got %s", what, type(t)) end
  local keys = {}
  for k, v in pairs(t) do
    -- The rule netns's sysctl_set applies (only net.*: a namespace has its
    -- own copy of those alone), checked here so the line that declares it
    -- is the one blamed, not up().
    if type(k) ~= "string" or not k:match("^net%.[%w_%-]+[%w_.%-]*$") or k:find("..", 1, true)
        or k:sub(-1) == "." then
      fail(where, "%s: bad sysctl key '%s' (a network sysctl, e.g. \"net.ipv4.ip_forward\")",
        what, tostring(k))
    end
    local tv = type(v)
    if tv ~= "string" and tv ~= "number" and tv ~= "boolean" then
      fail(where, "%s: sysctl %s: value must be a string, number or boolean, got %s", what, k, tv)
    end
    keys[#keys + 1] = k
  end
  table.sort(keys)
  for _, k in ipairs(keys) do
    local v = t[k]
    if type(v) == "boolean" then v = v and "1" or "0" end
    out[#out + 1] = { key = k, value = tostring(v), where = where }
  end
end

-- etc = { hosts = "text" | true (generated from the lab), ["resolv.conf"] = "text" }
local function check_etc(where, what, t, out)
  if t == nil then return end
  if type(t) ~= "table" then fail(where, "%s: etc must be a table, got %s", what, type(t)) end
  local files = {}
  for f, v in pairs(t) do
    if type(f) ~= "string" or not f:match("^[%w_][%w_.%-]*$") then
      fail(where, "%s: bad /etc file name '%s'", what, tostring(f))
    end
    if type(v) ~= "string" and not (f == "hosts" and v == true) then
      fail(where, "%s: etc.%s must be a string%s", what, f, f == "hosts" and " or true" or "")
    end
    files[#files + 1] = f
  end
  table.sort(files)
  for _, f in ipairs(files) do out[#out + 1] = { file = f, content = t[f], where = where } end
end

local route_keys = set("dst", "via", "dev", "metric", "table", "type", "src", "scope", "family")
local route_types = set("unicast", "blackhole", "unreachable", "prohibit")

-- A route: "198.51.100.0/24 via 192.0.2.254 [dev X] [metric N] [table N] [src A]",
-- "blackhole 10.9.0.0/16", "default via router" (a node name), or a table
-- with the same fields as ns:route_add.
function topo.parse_route(where, what, r)
  local t
  if type(r) == "string" then
    t = {}
    local words = {}
    for w in r:gmatch("%S+") do words[#words + 1] = w end
    local i = 1
    if route_types[words[1]] then t.type, i = words[1], 2 end
    t.dst = words[i]
    i = i + 1
    while i <= #words do
      local k, v = words[i], words[i + 1]
      if not route_keys[k] or k == "dst" or k == "type" or v == nil then
        fail(where, "%s: cannot read route '%s' at '%s'", what, r, k)
      end
      t[k] = tonumber(v) and (k == "metric" or k == "table") and math.tointeger(tonumber(v)) or v
      i = i + 2
    end
  elseif type(r) == "table" then
    check_keys(where, what, r, route_keys)
    t = {}
    for k, v in pairs(r) do t[k] = v end
  else
    fail(where, "%s: a route is a string or a table, got %s", what, type(r))
  end
  if type(t.dst) ~= "string" then fail(where, "%s: route without a destination", what) end
  if t.dst ~= "default" then
    local d, why = ipaddr.parse(t.dst)
    if not d then fail(where, "%s: bad route destination '%s': %s", what, t.dst, why) end
    if not d.plen then t.dst = t.dst .. (d.family == "inet" and "/32" or "/128") end
    t.family_hint = d.family
  end
  if t.type ~= nil and not route_types[t.type] then fail(where, "%s: bad route type '%s'", what, tostring(t.type)) end
  if t.via ~= nil then
    if type(t.via) ~= "string" then fail(where, "%s: via must be an address or a node name", what) end
    if not ipaddr.parse(t.via, false) and not t.via:match("^[%w_][%w_.%-]*$") then
      fail(where, "%s: bad gateway '%s' (an address without prefix, or a node name)", what, t.via)
    end
  end
  if t.dev ~= nil then topo.check_ifname(where, what, t.dev) end
  for _, k in ipairs({ "metric", "table" }) do
    if t[k] ~= nil and (math.type(t[k]) ~= "integer" or t[k] < 0) then
      fail(where, "%s: route %s must be a non-negative integer", what, k)
    end
  end
  if t.src ~= nil and not ipaddr.parse(t.src, false) then fail(where, "%s: bad route src '%s'", what, tostring(t.src)) end
  if t.family ~= nil and t.family ~= "inet" and t.family ~= "inet6" then
    fail(where, "%s: route family must be \"inet\" or \"inet6\"", what)
  end
  t.where = where
  return t
end

local function add_routes(where, what, node, routes, default)
  if routes ~= nil then
    if type(routes) ~= "table" then fail(where, "%s: routes must be an array", what) end
    for _, r in ipairs(routes) do node.static_routes[#node.static_routes + 1] = topo.parse_route(where, what, r) end
  end
  if default ~= nil then
    if type(default) == "string" then default = { default } end
    if type(default) ~= "table" then fail(where, "%s: default must be a gateway or an array of them", what) end
    for _, gw in ipairs(default) do
      node.static_routes[#node.static_routes + 1] = topo.parse_route(where, what, { dst = "default", via = gw })
    end
  end
end

-- Interfaces are numbered as they are declared (a switch's bridge with its
-- node, the two ends with their link), so validation can blame the later of
-- two declarations whatever order the nodes came in.
function topo.next_seq(lab)
  lab.declared = lab.declared + 1
  return lab.declared
end

local node_keys = {
  host = set("default", "routes", "sysctl", "etc"),
  router = set("default", "routes", "sysctl", "etc", "forwarding"),
  switch = set("default", "routes", "sysctl", "etc", "bridge", "addrs", "mac", "mtu", "at"),
}

-- Declares a node of the given kind; returns it (a plain table the lab
-- fills in: ns, ifaces).
function topo.node(lab, kind, name, opts, where)
  local what = ("%s '%s'"):format(kind, tostring(name))
  topo.check_node_name(where, kind, name)
  opts = check_keys(where, what, opts, node_keys[kind])
  if lab.nodes[name] then
    fail(where, "%s: node '%s' already declared at %s", kind, name, lab.nodes[name].where)
  end
  local node = {
    name = name, kind = kind, where = where, nsname = topo.nsname(lab, name),
    ifaces = {}, static_routes = {}, sysctls = {}, etcs = {},
  }
  if #node.nsname > 255 then fail(where, "%s: namespace name '%s' too long", what, node.nsname) end
  if opts.forwarding ~= nil and type(opts.forwarding) ~= "boolean" then
    fail(where, "%s: forwarding must be a boolean, got %s", what, type(opts.forwarding))
  end
  if kind == "router" and opts.forwarding ~= false then
    node.sysctls[1] = { key = "net.ipv4.ip_forward", value = "1", where = where }
    node.sysctls[2] = { key = "net.ipv6.conf.all.forwarding", value = "1", where = where }
  end
  if kind == "switch" then
    local br = opts.bridge or "br0"
    topo.check_ifname(where, what, br)
    node.bridge = {
      name = br, kind = "bridge", addrs = check_addrs(where, what, opts.addrs),
      mac = topo.check_mac(where, what, opts.mac), mtu = check_mtu(where, what, opts.mtu),
      where = where, explicit = true,
    }
    node.bridge.declared = node.bridge.addrs
    node.bridge.seq = topo.next_seq(lab)
    if opts.at ~= nil then
      node.at = topo.check_node_name(where, what .. " at", opts.at)
      for _, k in ipairs({ "default", "routes", "sysctl", "etc" }) do
        if opts[k] ~= nil then
          fail(where, "%s: '%s' belongs to node '%s' (the switch lives in its namespace)", what, k, opts.at)
        end
      end
    end
  end
  check_sysctls(where, what, opts.sysctl, node.sysctls)
  check_etc(where, what, opts.etc, node.etcs)
  add_routes(where, what, node, opts.routes, opts.default)
  lab.nodes[name] = node
  lab.order[#lab.order + 1] = node
  return node
end

local end_keys = set("node", "name", "mac", "mtu", "addrs", "addr", "up")

-- One end of a link: "ns1", "ns1:ns1-veth0 192.0.2.1/24 2001:db8::1/64
-- mac=00:00:5e:00:53:01 mtu=1400", or {node=, name=, mac=, mtu=, addrs=}.
local function parse_end(where, what, e)
  local t = {}
  if type(e) == "string" then
    local words = {}
    for w in e:gmatch("%S+") do words[#words + 1] = w end
    if #words == 0 then fail(where, "%s: empty link end", what) end
    t.node, t.name = words[1]:match("^([^:]+):(.+)$")
    if not t.node then t.node = words[1] end
    t.addrs = {}
    for i = 2, #words do
      local k, v = words[i]:match("^(%a+)=(.*)$")
      if k == "mac" then t.mac = v
      elseif k == "mtu" then t.mtu = math.tointeger(tonumber(v)) or v
      elseif k then fail(where, "%s: unknown link end option '%s' (mac=, mtu=)", what, k)
      else t.addrs[#t.addrs + 1] = words[i] end
    end
  elseif type(e) == "table" then
    check_keys(where, what, e, end_keys)
    for k, v in pairs(e) do t[k] = v end
    if t.addr ~= nil then
      if t.addrs ~= nil then fail(where, "%s: give addr or addrs, not both", what) end
      t.addrs, t.addr = t.addr, nil
    end
  else
    fail(where, "%s: a link end is a string or a table, got %s", what, type(e))
  end
  topo.check_node_name(where, what, t.node)
  if t.name ~= nil then topo.check_ifname(where, what, t.name) end
  local addrs = check_addrs(where, what .. " " .. t.node, t.addrs)
  if t.up ~= nil and type(t.up) ~= "boolean" then fail(where, "%s: up must be a boolean", what) end
  return {
    node_name = t.node, name = t.name, explicit = t.name ~= nil, kind = "veth",
    mac = topo.check_mac(where, what, t.mac), mtu = check_mtu(where, what, t.mtu),
    declared = addrs, addrs = addrs, up = t.up, where = where,
  }
end

-- The impairments a link may have (netns.qdisc_check checks their values).
topo.impair_keys = { "delay", "jitter", "loss", "duplicate", "reorder", "corrupt", "rate", "limit" }
local impair_set = set(table.unpack(topo.impair_keys))
local link_keys = set("mtu", "up", "a", "b", table.unpack(topo.impair_keys))

-- opts = {delay=, jitter=, loss=, duplicate=, reorder=, corrupt=, rate=, limit=,
-- a={...}, b={...}}: the same settings for the traffic leaving each end, with
-- a= and b= overriding them for the first and the second end. Returns
-- {declared = the shared settings, a = end a's settings or nil, b = ...}, each
-- checked as ns:qdisc_set would check it.
function topo.impairment(where, what, opts)
  local shared = {}
  for k, v in pairs(opts) do
    if impair_set[k] then shared[k] = v end
  end
  local out = { declared = shared }
  for _, side in ipairs({ "a", "b" }) do
    local own = opts[side]
    if own ~= nil then
      check_keys(where, ("%s: %s"):format(what, side), own, impair_set)
    end
    local eff = {}
    for k, v in pairs(shared) do eff[k] = v end
    for k, v in pairs(own or {}) do eff[k] = v end
    if next(eff) then
      local ok, why, field = netns_qdisc_check(eff)
      if not ok then
        local name = field and (own and own[field] ~= nil and side .. "." .. field or field)
        fail(where, "%s: %s%s", what, name and (name .. ": ") or "", why)
      end
      out[side] = eff
    end
  end
  return out
end

-- The options of l:impair: the impairments and a=, b= (see topo.impairment).
function topo.impair_opts(where, opts)
  check_keys(where, "impair", opts, set("a", "b", table.unpack(topo.impair_keys)))
  return topo.impairment(where, "impair", opts)
end

-- Declares a veth link between two nodes; returns {a=iface, b=iface}.
function topo.link(lab, a, b, opts, where)
  opts = check_keys(where, "link", opts, link_keys)
  local mtu = check_mtu(where, "link", opts.mtu)
  if opts.up ~= nil and type(opts.up) ~= "boolean" then fail(where, "link: up must be a boolean") end
  local ea, eb = parse_end(where, "link", a), parse_end(where, "link", b)
  for _, e in ipairs({ ea, eb }) do
    e.mtu = e.mtu or mtu
    if e.up == nil then e.up = opts.up ~= false end
  end
  ea.seq, eb.seq = topo.next_seq(lab), topo.next_seq(lab)
  local imp = topo.impairment(where, "link", opts)
  ea.impair, eb.impair = imp.a, imp.b
  local link = { a = ea, b = eb, where = where, impair = next(imp.declared) and imp.declared or nil }
  lab.links[#lab.links + 1] = link
  return link
end

-- Adds routes, sysctls or /etc files to a declared node (before up).
function topo.route(lab, node, r, where)
  node.static_routes[#node.static_routes + 1] = topo.parse_route(where, "route", r)
  return node.static_routes[#node.static_routes]
end

function topo.sysctl(node, key, value, where)
  check_sysctls(where, "sysctl", { [key] = value }, node.sysctls)
  return node.sysctls[#node.sysctls]
end

function topo.etc(node, file, content, where)
  check_etc(where, "etc", { [file] = content }, node.etcs)
end

local function pairs_pool()
  local rows = { { "inet", "ipv4", "len4", 24 }, { "inet6", "ipv6", "len6", 64 } }
  local i = 0
  return function()
    i = i + 1
    if rows[i] then return table.unpack(rows[i]) end
  end
end

-- The lab-wide address pool for automatic addressing: a string (IPv4 only)
-- or {ipv4=, ipv6=, len4=24, len6=64}.
function topo.pool(where, p)
  if p == nil then return nil end
  if type(p) == "string" then p = { ipv4 = p } end
  check_keys(where, "pool", p, set("ipv4", "ipv6", "len4", "len6"))
  local out = {}
  for fam, key, lenkey, def in pairs_pool() do
    if p[key] ~= nil then
      local n, why = ipaddr.parse(p[key], true)
      if not n or n.family ~= fam then
        fail(where, "pool: bad %s prefix '%s'%s", key, tostring(p[key]), why and (": " .. why) or "")
      end
      local len = p[lenkey] or def
      local max = fam == "inet" and 30 or 126
      if math.type(len) ~= "integer" or len <= n.plen or len > max then
        fail(where, "pool: %s must be an integer between %d and %d", lenkey, n.plen + 1, max)
      end
      out[fam] = { net = ipaddr.network(n), len = len, next = 0 }
    end
  end
  return out
end

return topo
