-- netns.lab: a network lab described as data, brought up in a fixed order,
-- always torn down.
--
--   local lab = require "netns.lab"
--   local l <close> = lab.new{ name = "two-segments" }
--   l:host("ns1", { default = "router" })
--   l:host("ns2", { default = "router" })
--   l:router("router")
--   l:link("ns1:ns1-veth0 192.0.2.1/24", "router:gw-veth0 192.0.2.254/24")
--   l:link("ns2:ns2-veth0 198.51.100.1/24", "router:gw-veth1 198.51.100.254/24")
--   l:up()
--   l:reachable("ns1", "ns2")
--
-- Declaring (netns.topo) only records; up() validates the whole description
-- first (netns.topo_validate), then journals its plan (netns.journal) and
-- creates namespaces, bridges, links, addresses, routes, sysctls and /etc
-- files in that order. If a step fails, everything made so far is removed and
-- the error names the step and the declaration it was about. down() kills
-- the lab's processes, deletes in reverse and waits until the kernel has
-- really destroyed each namespace. Teardown runs from down(), <close>, the
-- runner (end of script, error, signal) and, as a last resort, __gc.
local netns = require "netns"
local topo = require "netns.topo"
local V = require "netns.topo_validate"
local ipaddr = require "netns.ipaddr"

local updown = require "netns.lab_updown"
local check = require "netns.check"
local position = require "netns.position"

local lab = {}
local Lab = {}
local LabMT = { __name = "netns.Lab" }

-- Set by the runner (netns.run) for the labs of a run: prefix (put before
-- every lab's own prefix; NSLAB_PREFIX outside nslab), keep (--keep: a
-- lab going out of scope stays up for the runner to keep) and prompt (-i:
-- it stays up for the prompt after the script, and goes when that ends).
local env_prefix = os.getenv("NSLAB_PREFIX")
lab.options = { prefix = env_prefix ~= "" and env_prefix or nil, keep = false, prompt = false }

-- A node is a plain table; Namespace methods called on it work on its
-- namespace (node:exec{...}, node:ping(...), node:route_add{...}): the
-- methods take a node for self, so their errors name the method and the
-- script's line, and a node that is not up says so. node:listen{...} is the
-- lab's (l:listen), so teardown closes it.
local lab_of = setmetatable({}, { __mode = "k" })

local NodeMT = {
  __index = function(node, k)
    local m = netns.method(k)
    if type(m) ~= "function" then return nil end
    if k == "listen" and lab_of[node] then
      local l = lab_of[node]
      return position.api(function(self, opts) return l:listen(self, opts) end)
    end
    return m
  end,
  __tostring = function(node) return ("netns.Node (%s \"%s\")"):format(node.kind, node.name) end,
}

local reason = updown.reason

-- ---- declaring ----

local function declare_nodes(self, kind, list, where)
  if list == nil then return end
  if type(list) ~= "table" then topo.fail(where, "lab.new: %ss must be a table", kind) end
  local items = {}
  for i, v in ipairs(list) do items[#items + 1] = v end
  local keys = {}
  for k in pairs(list) do
    if type(k) == "string" then keys[#keys + 1] = k end
  end
  table.sort(keys)
  for _, k in ipairs(keys) do
    local o = list[k]
    if type(o) ~= "table" then topo.fail(where, "lab.new: %ss.%s must be an options table", kind, k) end
    local c = { name = k }
    for kk, vv in pairs(o) do c[kk] = vv end
    items[#items + 1] = c
  end
  for _, v in ipairs(items) do
    if type(v) == "string" then
      self:_node(kind, v, nil, where)
    elseif type(v) == "table" then
      local name, opts = v.name or v[1], {}
      for k, x in pairs(v) do
        if k ~= "name" and k ~= 1 then opts[k] = x end
      end
      self:_node(kind, name, opts, where)
    else
      topo.fail(where, "lab.new: a %s is a name or a table, got %s", kind, type(v))
    end
  end
end

local new_keys = {
  name = true, prefix = true, pool = true, hosts = true, routers = true, switches = true,
  links = true, stop_on_failure = true, dad = true, ipv6 = true, icmp_ratelimit = true,
}
-- The fields lab.new takes (topology files are checked against them).
lab.FIELDS = new_keys

-- lab.new{name=, prefix=, pool=, hosts=, routers=, switches=, links=,
-- stop_on_failure=, dad=false, ipv6="auto", icmp_ratelimit=false} -> Lab. The lists are the data form of the methods below.
function lab.new(desc)
  local where = topo.where()
  if type(desc) == "string" then desc = { name = desc } end
  desc = desc or {}
  if type(desc) ~= "table" then topo.fail(where, "lab.new: a table expected, got %s", type(desc)) end
  for k in pairs(desc) do
    if not new_keys[k] then topo.fail(where, "lab.new: unknown option '%s'", tostring(k)) end
  end
  if desc.icmp_ratelimit ~= nil and type(desc.icmp_ratelimit) ~= "boolean" then
    topo.fail(where, "lab.new: icmp_ratelimit must be a boolean, got %s", type(desc.icmp_ratelimit))
  end
  local name = desc.name or "lab"
  if type(name) ~= "string" or not name:match("^[%w_.%-]+$") then
    topo.fail(where, "lab.new: bad lab name '%s' (letters, digits, '_', '.', '-')", tostring(name))
  end
  local prefix = desc.prefix or ""
  if type(prefix) ~= "string" or prefix:find("[%s/%c]") then
    topo.fail(where, "lab.new: bad prefix '%s'", tostring(prefix))
  end
  if desc.ipv6 ~= nil and desc.ipv6 ~= true and desc.ipv6 ~= false and desc.ipv6 ~= "auto" then
    topo.fail(where, "lab.new: ipv6 must be true, false or \"auto\", got %s", tostring(desc.ipv6))
  end
  local self = setmetatable({
    name = name, prefix = (lab.options.prefix or "") .. prefix,
    nodes = {}, order = {}, links = {}, declared = 0, state = "down", where = where,
    pool = topo.pool(where, desc.pool), stop_on_failure = desc.stop_on_failure,
    dad = desc.dad == true, icmp_ratelimit = desc.icmp_ratelimit == true, ipv6 = desc.ipv6 == nil and "auto" or desc.ipv6,
  }, LabMT)
  if lab.on_new then lab.on_new(self) end
  declare_nodes(self, "host", desc.hosts, where)
  declare_nodes(self, "router", desc.routers, where)
  declare_nodes(self, "switch", desc.switches, where)
  if desc.links ~= nil then
    if type(desc.links) ~= "table" then topo.fail(where, "lab.new: links must be an array") end
    for _, l in ipairs(desc.links) do
      if type(l) ~= "table" then topo.fail(where, "lab.new: each link is {end, end [, opts]}") end
      topo.link(self, l[1], l[2], l[3], where)
    end
  end
  return self
end

function Lab:_node(kind, name, opts, where)
  if self.state ~= "down" then topo.fail(where, "%s '%s': the lab is up; declare nodes before up()", kind, tostring(name)) end
  local node = setmetatable(topo.node(self, kind, name, opts, where), NodeMT)
  lab_of[node] = self
  return node
end

-- l:host(name [, {default=, routes=, sysctl=, etc=}]) -> node
function Lab:host(name, opts) return self:_node("host", name, opts, topo.where()) end
-- l:router(name [, {forwarding=true, default=, routes=, sysctl=, etc=}]) -> node
function Lab:router(name, opts) return self:_node("router", name, opts, topo.where()) end
-- l:switch(name [, {bridge="br0", addrs=, mac=, mtu=, at=node, ...}]) -> node
function Lab:switch(name, opts) return self:_node("switch", name, opts, topo.where()) end

-- l:link(end_a, end_b [, {mtu=, up=, delay=, jitter=, loss=, duplicate=, reorder=,
-- corrupt=, rate=, limit=, a={...}, b={...}}]) -> {a=iface, b=iface, impair=}
function Lab:link(a, b, opts)
  local where = topo.where()
  if self.state ~= "down" then topo.fail(where, "link: the lab is up; declare links before up()") end
  return topo.link(self, a, b, opts, where)
end

-- Finds a node for a declaration (error at the user's line if unknown).
local function want_node(self, x, what, where)
  local node = self:node(x)
  if not node then topo.fail(where, "%s: unknown node '%s'", what, tostring(x)) end
  if node.at then topo.fail(where, "%s: switch '%s' lives in '%s'; use that node", what, node.name, node.at) end
  return node
end

local function ensure_valid(self)
  local errs = V.validate(self)
  if #errs > 0 then error(table.concat(errs, "\n"), 0) end
end

-- l:route(node, "198.51.100.0/24 via 192.0.2.254" | {dst=, via=, ...}):
-- declared before up; added at once on a lab that is up (staged scenarios).
function Lab:route(x, r)
  local where = topo.where()
  local node = want_node(self, x, "route", where)
  local decl = topo.route(self, node, r, where)
  if self.state == "up" then
    local ok, e = pcall(ensure_valid, self)
    if not ok then
      table.remove(node.static_routes)
      error(e, 0)
    end
    for _, rr in ipairs(node.resolved) do
      if rr.decl == decl then
        local ok2, e2 = pcall(updown.apply_route, node, rr)
        if not ok2 then
          table.remove(node.static_routes)
          error(("%s: route on '%s': %s"):format(where, node.name, reason(e2)), 0)
        end
      end
    end
  end
  return decl
end

-- l:default(node, gateway | node name)
function Lab:default(x, gw)
  return self:route(x, { dst = "default", via = gw })
end

-- l:sysctl(node, key, value): declared, or set at once on a lab that is up.
function Lab:sysctl(x, key, value)
  local where = topo.where()
  local node = want_node(self, x, "sysctl", where)
  local s = topo.sysctl(node, key, value, where)
  if self.state == "up" then
    local ok, e = pcall(node.ns.sysctl_set, node.ns, s.key, s.value)
    if not ok then error(("%s: sysctl %s on '%s': %s"):format(where, s.key, node.name, reason(e)), 0) end
  end
end

-- l:forwarding(node, on): IPv4 and IPv6 forwarding (routers start with it on).
function Lab:forwarding(x, on)
  if on ~= nil and type(on) ~= "boolean" then
    error(("bad argument #2 to 'forwarding' (boolean expected, got %s)"):format(type(on)), 2)
  end
  local v = on == false and 0 or 1
  self:sysctl(x, "net.ipv4.ip_forward", v)
  self:sysctl(x, "net.ipv6.conf.all.forwarding", v)
end

-- l:etc(node, "hosts" | "resolv.conf" | ..., text): /etc/netns/<ns>/<file>.
function Lab:etc(x, file, content)
  local where = topo.where()
  if self.state ~= "down" then topo.fail(where, "etc: the lab is up; declare /etc files before up()") end
  topo.etc(want_node(self, x, "etc", where), file, content, where)
end

-- l:validate() -> l: checks and resolves the description; raises with every
-- error found, each at the script line that declared the bad thing.
function Lab:validate()
  ensure_valid(self)
  return self
end

-- ---- up, down ----

-- l:up() -> l: validates, then creates everything (see netns.lab_updown).
function Lab:up()
  self.up_where = topo.where()
  if self.state ~= "down" then topo.fail(self.up_where, "lab '%s' is already up", self.name) end
  ensure_valid(self)
  if lab.on_up then return lab.on_up(self) end -- `nslab graph`: describe, do not build
  return updown.up(self)
end

-- l:down(): kills the lab's processes, deletes everything in reverse order
-- and waits until the namespaces are really gone. Does nothing when down.
function Lab:down()
  if self.state == "down" or self.state == "kept" then return end
  local problems = updown.teardown(self)
  if problems then
    error(("lab '%s': teardown: %s"):format(self.name, table.concat(problems, "; ")), 2)
  end
end

Lab.close = Lab.down

-- ---- cables at run time: impairments, down and up ----

-- The declared link between x and y (node names or nodes; "node:ifname" picks
-- one of several links between the same two nodes): link, x's end, y's end.
local function find_link(self, x, y, what, where)
  local function parse(v)
    if type(v) == "table" and v.name then return v.name end
    if type(v) ~= "string" then topo.fail(where, "%s: a node name expected, got %s", what, type(v)) end
    local n, i = v:match("^([^:]+):(.+)$")
    return n or v, i
  end
  local xn, xi = parse(x)
  local yn, yi = parse(y)
  local function is(e, n, i) return e.node_name == n and (not i or e.name == i) end
  local found = {}
  for _, link in ipairs(self.links) do
    local a, b = link.a, link.b
    if is(a, xn, xi) and is(b, yn, yi) then
      found[#found + 1] = { link, a, b }
    elseif is(b, xn, xi) and is(a, yn, yi) then
      found[#found + 1] = { link, b, a }
    end
  end
  if #found == 0 then topo.fail(where, "%s: no link between '%s' and '%s'", what, tostring(x), tostring(y)) end
  if #found > 1 then
    topo.fail(where, "%s: %d links between '%s' and '%s': name the interface, as \"%s:%s\"", what, #found,
      xn, yn, xn, found[1][2].name or "eth0")
  end
  return table.unpack(found[1])
end

local function lab_error(where, what, e, err)
  return setmetatable({ message = ("%s: %s %s:%s: %s"):format(where, what, e.node.name, e.name, reason(err)),
    code = type(err) == "table" and err.code or nil, cause = err }, updown.LabErrorMT)
end

-- Puts the root qdisc of end e as e.impair says (none: the default).
local function apply_impair(e)
  if e.impair then e.node.ns:qdisc_set(e.name, e.impair) else e.node.ns:qdisc_del(e.name) end
end

-- l:impair(x, y, {delay=, jitter=, loss=, duplicate=, reorder=, corrupt=, rate=,
-- limit=, a={...}, b={...}} | false): the link between x and y gets these
-- impairments (a= for the traffic leaving x, b= leaving y), or none with
-- false; at once on a lab that is up. If the second end fails, the first is
-- put back: the link is changed on both ends or not at all.
function Lab:impair(x, y, opts)
  local where = topo.where()
  local link, ex, ey = find_link(self, x, y, "impair", where)
  local imp = opts == false and { declared = {} } or topo.impair_opts(where, opts)
  local old = { ex.impair, ey.impair, link.impair }
  ex.impair, ey.impair, link.impair = imp.a, imp.b, next(imp.declared) and imp.declared or nil
  if self.state ~= "up" then return link end
  for i, e in ipairs({ ex, ey }) do
    local ok, err = pcall(apply_impair, e)
    if not ok then
      ex.impair, ey.impair, link.impair = old[1], old[2], old[3]
      if i == 2 then pcall(apply_impair, ex) end
      error(lab_error(where, "impair", e, err), 0)
    end
  end
  return link
end

-- Cuts (up = false) or restores the cable between x and y: both ends down or
-- up, then waits until both sides see it (carrier gone, or back and running).
local function cable(self, x, y, up, what)
  local where = topo.where()
  local link, ex, ey = find_link(self, x, y, what, where)
  if self.state ~= "up" then topo.fail(where, "%s: lab '%s' is not up", what, self.name) end
  for _, e in ipairs({ ex, ey }) do
    local ok, err = pcall(e.node.ns.link_set, e.node.ns, e.name, { up = up })
    if not ok then error(lab_error(where, what, e, err), 0) end
    e.up = up
  end
  local pending = updown.wait_carrier({ ex, ey }, up, 5)
  if pending then
    error(("%s: %s: %s:%s still %s after 5s"):format(where, what, pending[1].node.name, pending[1].name,
      up and "has no carrier" or "has carrier"), 0)
  end
  return link
end

-- l:link_down(x, y) / l:link_up(x, y): as Mininet's `link x y down|up`.
function Lab:link_down(x, y) return cable(self, x, y, false, "link_down") end
function Lab:link_up(x, y) return cable(self, x, y, true, "link_up") end

-- ---- queries ----

-- l:node(x) -> node | nil: x is a node, a node name or a namespace name.
function Lab:node(x)
  if type(x) == "table" then
    return rawget(self, "nodes")[x.name] == x and x or nil
  end
  if type(x) ~= "string" then return nil end
  local n = self.nodes[x]
  if n then return n end
  for _, node in ipairs(self.order) do
    if node.nsname == x then return node end
  end
  return nil
end

local function parsed_addrs(ifc)
  if ifc.parsed then return ifc.parsed end
  local t = {}
  for _, s in ipairs(ifc.addrs or {}) do t[#t + 1] = ipaddr.parse(s, true) end
  return t
end

-- l:owner("192.0.2.1" | "192.0.2.1/24") -> node, iface | nil
function Lab:owner(address)
  local a = type(address) == "string" and ipaddr.parse(address)
  if not a then return nil end
  local k = ipaddr.key(a)
  for _, node in ipairs(self.order) do
    for _, ifc in ipairs(node.ifaces) do
      for _, b in ipairs(parsed_addrs(ifc)) do
        if ipaddr.key(b) == k then return node, ifc end
      end
    end
  end
  return nil
end

-- l:address(node [, family]) -> "192.0.2.1" | nil: the node's first address
-- (of the family: "inet" by default, "inet6"), without prefix.
function Lab:address(x, family)
  local node = self:node(x)
  if not node then return nil end
  family = family or "inet"
  for _, ifc in ipairs(node.ifaces) do
    for _, a in ipairs(parsed_addrs(ifc)) do
      if a.family == family then return ipaddr.tostring(a) end
    end
  end
  return nil
end

-- l:namespaces() -> { "prefix-ns1", ... }: the real namespace names.
function Lab:namespaces()
  local t = {}
  for _, node in ipairs(updown.ns_nodes(self)) do t[#t + 1] = node.nsname end
  return t
end

-- ---- checks: thin wrappers over netns.check ----

for _, name in ipairs({ "reachable", "unreachable", "ping_all", "port_matrix", "throughput", "path",
  "path_mtu", "traceroute", "expect_link_up", "expect_addr",
  "expect_route", "expect_neigh", "expect_fdb", "expect_sysctl" }) do
  Lab[name] = check[name]
end

function Lab:stage(name)
  return check.stage(name)
end

-- l:listen(node, {proto=, port=, addr=, reply=, echo=, dev=}) -> netns.Listener
-- (also node:listen{...}): an in-process listener in the node's namespace,
-- closed by l:down() if the script has not closed it.
function Lab:listen(x, opts)
  local node = self:node(x)
  if not node then error(("bad argument #1 to 'listen' (unknown node '%s')"):format(tostring(x)), 2) end
  if not node.ns or node.ns.closed then error(("node '%s' is not up"):format(node.name), 2) end
  local l = node.ns:listen(opts)
  self.listeners = self.listeners or {} -- held until teardown: the doc promises it closes them
  self.listeners[l] = true
  return l
end

-- ---- exploring ----

-- l:cli(): a prompt with the lab up (netns.cli); returns when the user
-- leaves it (Ctrl-D, exit).
function Lab:cli()
  return require("netns.cli").prompt({ self })
end

-- l:graph([format]) -> string: the lab as DOT (default), Mermaid or JSON.
function Lab:graph(format)
  return require("netns.graph").render(self, format)
end

-- ---- the script's position ----

-- Every method a script calls (all of Lab's but the internal _ ones, and
-- l:cli, whose prompt runs statements of its own) is made with position.api,
-- so every error of a declaration, of up, of an impairment or a query names
-- the script's line (topo.where), however the call reached us (pcall, a
-- wrapper of the script's own, a method calling another: l:forwarding calls
-- l:sysctl). Methods are added above this point.
for name, fn in pairs(Lab) do
  if type(fn) == "function" and not name:find("^_") and name ~= "cli" then Lab[name] = position.api(fn) end
end
lab.new = position.api(lab.new)

-- ---- metatable: the lab's methods; nodes are in l.nodes ----

-- Nodes are reached as l.nodes.NAME (or l:node(x)), never as l.NAME: the
-- book names its router "router", and l.router is the method that declares
-- one (a lab's own fields, l.pool or l.journal, could collide the same way).
-- A method whose name is also a node's comes back as a callable that works
-- as the method (l:router(...)) but raises, at the script's line, when it
-- is used as the node (l.router:ping(...)), saying how to reach the node.
local shadow_mt = {
  __name = "netns.LabMethod",
  __call = position.api(function(sh, ...) return sh.method(...) end),
  __index = function(sh, k)
    local n = sh.node
    error(("l.%s is the lab's method %s, not node '%s' (indexed with '%s'): "
      .. "reach the node as l.nodes.%s or l:node(\"%s\")"):format(n, n, n, tostring(k), n, n), 2)
  end,
}
local shadows = {}

LabMT.__index = function(self, k)
  local m = Lab[k]
  if type(m) == "function" then
    local nodes = rawget(self, "nodes")
    if nodes and nodes[k] then
      shadows[k] = shadows[k] or setmetatable({ method = m, node = k }, shadow_mt)
      return shadows[k]
    end
  end
  return m
end

LabMT.__tostring = function(self)
  return ("netns.Lab (\"%s\", %s)"):format(self.name, self.state)
end

-- <close>: a normal exit raises a teardown failure; while an error unwinds,
-- teardown must not replace that error. Under `nslab --keep` the lab stays up
-- for the runner to keep (an explicit l:down() still removes it).
LabMT.__close = function(self, err)
  -- --keep, and -i (the prompt after the script owns the lab; the runner
  -- tears it down when the prompt ends)
  if lab.options.keep or lab.options.prompt then return end
  if err ~= nil then
    pcall(updown.teardown, self)
  else
    self:down()
  end
end

-- The safety net: a lab still up when the state closes (lua_close runs every
-- finalizer, reachable or not) is torn down by name.
LabMT.__gc = function(self)
  if self.state ~= "down" and self.state ~= "kept" then pcall(updown.teardown, self) end
end

-- lab.load("lab.yaml" | "lab.json" [, {prefix=}]) -> Lab: the lab a
-- topology file describes, in lab.new's data form (netns.topofile).
lab.load = position.api(function(path, opts)
  return require("netns.topofile").load(path, opts)
end)

lab.Lab = Lab

-- lab.up_labs() -> the labs not yet down, in creation order (the runner tears
-- them down at the end of a script).
function lab.up_labs()
  local t = {}
  for _, l in ipairs(updown.labs) do t[#t + 1] = l end
  return t
end

return lab
