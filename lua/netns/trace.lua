-- netns.trace: shows, as each operation runs, the iproute2 or sysctl command
-- that does the same thing, so a learner sees how a lab maps onto the
-- commands of the book (`ip netns add ns1`, `ip -n ns1 addr add ...`).
--
-- Qdiscs show as `tc -n NS qdisc replace dev IF root netem ...` (or tbf).
--
-- trace.enable(out, opts) wraps netns.create/delete/list/ping_many and,
-- through the module's method hook (netns.hook_methods), every method a
-- handle's lookup finds (handles made before enable() are traced too);
-- trace.disable() removes the hook and puts the module functions back. Each command is written, one line, before the operation
-- runs; a failing operation adds a "# failed: ..." line. Lines are exact
-- commands with every option the operation used, quoted for a POSIX shell,
-- so they can be pasted; anything else is a shell comment.
local netns = require "netns"

local trace = {}

local saved = nil          -- while enabled: { module = {originals}, wrappers = {} }
local emit = nil           -- function(line) while enabled
local options = {}

-- A word as a POSIX shell reads it back unchanged.
local function q(s)
  s = tostring(s)
  if s ~= "" and not s:find("[^%w@%%+=:,./_-]") then return s end
  return "'" .. s:gsub("'", "'\\''") .. "'"
end
trace.quote = q

local function join(words)
  local t = {}
  for i, w in ipairs(words) do t[i] = q(w) end
  return table.concat(t, " ")
end

-- How iproute2 reaches a namespace: `-n NAME` for a named one, else through
-- nsenter (a handle from open_pid / open_path has no name).
local function label(ns)
  return tostring(ns):match('%("(.*)"%)$') or "?"
end

local function ip(ns, ...)
  local name = ns.name
  if name then return join{ "ip", "-n", name, ... } end
  local l = label(ns)
  local pid = l:match("^pid (%d+)$")
  local enter = pid and ("nsenter -t %s -n"):format(pid) or ("nsenter --net=%s"):format(q(l))
  return enter .. " " .. join{ "ip", ... }
end

-- Runs a program in the namespace, as `ip netns exec` does.
local function exec(ns, argv)
  local name = ns.name
  if name then return join{ "ip", "netns", "exec", name } .. " " .. join(argv) end
  local l = label(ns)
  local pid = l:match("^pid (%d+)$")
  local enter = pid and ("nsenter -t %s -n"):format(pid) or ("nsenter --net=%s"):format(q(l))
  return enter .. " " .. join(argv)
end

local function family_flag(family)
  if family == "inet" then return "-4" elseif family == "inet6" then return "-6" end
end

local function add(t, ...)
  for i = 1, select("#", ...) do t[#t + 1] = select(i, ...) end
  return t
end

local function is6(a) return type(a) == "string" and a:find(":", 1, true) ~= nil end

---------------------------------------------------------------- links

local function link_add(ns, o)
  o = o or {}
  local w = { "link", "add", o.name }
  if o.link then add(w, "link", o.link) end
  if o.mac then add(w, "address", o.mac) end
  if o.mtu then add(w, "mtu", o.mtu) end
  -- The core's default of one queue is what ip's veth uses too (of one per
  -- CPU it allocates): shown only when a script asks for more.
  local queues = o.kind == "veth" and math.type(o.queues) == "integer" and o.queues
  if queues then add(w, "numtxqueues", queues, "numrxqueues", queues) end
  add(w, "type", o.kind or "?")
  if o.kind == "veth" and type(o.peer) == "table" then
    local p = o.peer
    add(w, "peer", "name", p.name)
    if p.mac then add(w, "address", p.mac) end
    if p.mtu then add(w, "mtu", p.mtu) end
    if queues then add(w, "numtxqueues", queues, "numrxqueues", queues) end
    if p.ns and p.ns ~= ns then
      add(w, "netns", p.ns.name or label(p.ns))
    end
  elseif o.kind == "vlan" then
    if o.id then add(w, "id", o.id) end
  elseif o.kind == "macvlan" then
    if o.mode then add(w, "mode", o.mode) end
  elseif o.kind == "bridge" then
    -- ip's names and units: stp_state, ageing_time in centiseconds.
    if o.mcast_snooping ~= nil then add(w, "mcast_snooping", o.mcast_snooping and 1 or 0) end
    if o.stp ~= nil then add(w, "stp_state", o.stp and 1 or 0) end
    if type(o.ageing_time) == "number" then add(w, "ageing_time", math.floor(o.ageing_time * 100 + 0.5)) end
  elseif o.kind == "vxlan" then
    if o.id then add(w, "id", o.id) end
    if o.group then add(w, "group", o.group) end
    if o.remote then add(w, "remote", o.remote) end
    if o["local"] then add(w, "local", o["local"]) end
    if o.dev then add(w, "dev", o.dev) end
    add(w, "dstport", o.port or 4789)
  end
  local lines = { ip(ns, table.unpack(w)) }
  if o.master then lines[#lines + 1] = ip(ns, "link", "set", o.name, "master", o.master) end
  if o.up then lines[#lines + 1] = ip(ns, "link", "set", o.name, "up") end
  if o.kind == "veth" and type(o.peer) == "table" and o.peer.up then
    lines[#lines + 1] = ip(o.peer.ns or ns, "link", "set", o.peer.name, "up")
  end
  return lines
end

local function link_set(ns, name, o)
  o = o or {}
  local w = { "link", "set", "dev", name }
  if o.ns then add(w, "netns", o.ns.name or label(o.ns)) end
  if o.name then add(w, "name", o.name) end
  if o.mac then add(w, "address", o.mac) end
  if o.mtu then add(w, "mtu", o.mtu) end
  if o.alias then add(w, "alias", o.alias) end
  if o.master == false then add(w, "nomaster")
  elseif o.master then add(w, "master", o.master) end
  if o.up == true then add(w, "up") elseif o.up == false then add(w, "down") end
  return ip(ns, table.unpack(w))
end

---------------------------------------------------------------- addresses, routes

local function addr_add(ns, dev, cidr, o)
  o = o or {}
  local w = { "addr", "add", cidr }
  if not is6(cidr) then
    if o.broadcast == nil or o.broadcast == true then add(w, "brd", "+")
    elseif type(o.broadcast) == "string" then add(w, "brd", o.broadcast) end
  end
  add(w, "dev", dev)
  if o.label then add(w, "label", o.label) end
  if o.scope then add(w, "scope", o.scope) end
  if o.nodad then add(w, "nodad") end
  return ip(ns, table.unpack(w))
end

local function route(verb)
  return function(ns, o)
    o = o or {}
    local w = {}
    if o.dst == "default" and not is6(o.via) and family_flag(o.family) then
      add(w, family_flag(o.family))
    end
    add(w, "route", verb)
    if o.type and o.type ~= "unicast" then add(w, o.type) end
    add(w, o.dst or "default")
    if o.via then add(w, "via", o.via) end
    if o.dev then add(w, "dev", o.dev) end
    if o.src then add(w, "src", o.src) end
    if o.metric then add(w, "metric", o.metric) end
    if o.table then add(w, "table", o.table) end
    if o.scope then add(w, "scope", o.scope) end
    return ip(ns, table.unpack(w))
  end
end

local function show(what, selectors)
  return function(ns, o)
    local w = {}
    o = type(o) == "table" and o or {}
    if family_flag(o.family) then add(w, family_flag(o.family)) end
    add(w, what, "show")
    for _, k in ipairs(selectors) do
      if o[k] ~= nil then add(w, k, o[k]) end
    end
    return ip(ns, table.unpack(w))
  end
end

---------------------------------------------------------------- qdiscs

local function tc(ns, ...)
  local name = ns.name
  if name then return join{ "tc", "-n", name, ... } end
  return exec(ns, { "tc", ... })
end

-- The method itself, not traced (the methods table never is): describing
-- an operation must not show the queries it needs.
local function original(name)
  return netns.Namespace[name]
end

-- tc's words for a settings table (netns.qdisc_check's or qdisc_get's), in
-- the order `tc qdisc add ... netem` reads them.
local function qdisc_words(q)
  if q.kind == "tbf" then
    return { "tbf", "rate", q.rate, "burst", q.burst, "limit", q.limit_bytes }
  end
  local w = { "netem" }
  local function opt(key, ...)
    if q[key] == nil then return end
    add(w, key, q[key])
    for _, k in ipairs({ ... }) do
      if q[k] == nil then return end
      add(w, q[k])
    end
  end
  opt("limit")
  opt("delay", "jitter", "delay_correlation")
  opt("loss", "loss_correlation")
  opt("duplicate", "duplicate_correlation")
  opt("reorder", "reorder_correlation")
  opt("gap")
  opt("corrupt", "corrupt_correlation")
  opt("rate")
  return w
end
trace.qdisc_words = qdisc_words

-- `tc qdisc replace` with every value the kernel gets, tbf's bucket and
-- queue in bytes included (they depend on the link's MTU), so that running
-- the line builds the same qdisc.
local function qdisc_set(ns, dev, o)
  local l = original("link_get")(ns, dev)
  local q = assert(netns.qdisc_check(o, l and l.mtu))
  return tc(ns, "qdisc", "replace", "dev", dev, "root", table.unpack(qdisc_words(q)))
end

---------------------------------------------------------------- ping

local function ping_argv(dst, o)
  o = o or {}
  local w = { "ping", "-c", o.count or 1 }
  if o.interval then add(w, "-i", o.interval) end
  if o.timeout then add(w, "-W", o.timeout) end
  if o.deadline then add(w, "-w", o.deadline) end
  if o.size then add(w, "-s", o.size) end
  if o.ttl then add(w, "-t", o.ttl) end
  if o.source then add(w, "-I", o.source) elseif o.dev then add(w, "-I", o.dev) end
  add(w, dst)
  return w
end

local function merged(a, b)
  local t = {}
  for k, v in pairs(b or {}) do t[k] = v end
  for k, v in pairs(a or {}) do t[k] = v end
  return t
end

---------------------------------------------------------------- ports, throughput, paths

-- A TCP probe is `nc -z`; a UDP one sends a line and waits for an answer.
local function probe_argv(proto, dst, port, o)
  o = type(o) == "table" and o or {}
  local w = { "nc" }
  if proto == "udp" then add(w, "-u") else add(w, "-z") end
  add(w, "-w", math.max(1, math.ceil(o.timeout or 1)))
  if o.source then add(w, "-s", o.source) end
  add(w, dst, port)
  return w
end

local function listen_line(ns, o)
  o = type(o) == "table" and o or {}
  local w = { "nc", "-l", "-k" }
  if o.proto == "udp" then add(w, "-u") end
  if o.addr then add(w, "-s", o.addr) end
  add(w, o.port or 0)
  local what = o.reply == false and "answers nothing" or type(o.reply) == "string" and "sends a fixed reply"
    or "echoes"
  return exec(ns, w) .. " &   # in-process listener; it " .. what
end

local function throughput_lines(src, dst, addr, o)
  o = type(o) == "table" and o or {}
  local port = o.port and o.port > 0 and o.port or 5201
  local c = { "iperf3", "-c", addr, "-p", port }
  if o.bytes then add(c, "-n", o.bytes) else add(c, "-t", o.duration or 10) end
  if o.source then add(c, "-B", o.source) end
  return { exec(dst, { "iperf3", "-s", "-1", "-p", port }) .. " &", exec(src, c) }
end

local function traceroute_argv(dst, o)
  o = type(o) == "table" and o or {}
  local w = { "traceroute", "-n", "-I", "-m", o.max_hops or 30, "-q", o.queries or 1, "-w", o.timeout or 1 }
  if o.source then add(w, "-s", o.source) end
  if o.dev then add(w, "-i", o.dev) end
  add(w, dst)
  return w
end

---------------------------------------------------------------- the table

local function fdb_add(ns, o)
  o = type(o) == "table" and o or {}
  local w = { "bridge" }
  if ns.name then add(w, "-n", ns.name) end
  add(w, "fdb", "replace", o.mac, "dev", o.dev, "master", o.static and "static" or "dynamic")
  local line = join(w)
  return ns.name and line or exec(ns, { table.unpack(w) })
end

-- Namespace method -> function(self, args...) returning a line or a list.
local methods = {
  link_add = link_add,
  link_set = link_set,
  link_del = function(ns, name) return ip(ns, "link", "del", name) end,
  link_get = function(ns, name) return ip(ns, "link", "show", "dev", name) end,
  link_state = function(ns, name) return ip(ns, "-br", "link", "show", "dev", name) end,
  links = function(ns) return ip(ns, "link", "show") end,
  addr_add = addr_add,
  addr_del = function(ns, dev, cidr) return ip(ns, "addr", "del", cidr, "dev", dev) end,
  addrs = show("addr", { "dev" }),
  route_add = route("add"),
  route_replace = route("replace"),
  route_del = route("del"),
  routes = show("route", { "table" }),
  neigh_add = function(ns, o)
    o = o or {}
    return ip(ns, "neigh", o.replace and "replace" or "add", o.address, "lladdr", o.mac,
      "dev", o.dev, "nud", "permanent")
  end,
  neigh_del = function(ns, o)
    o = o or {}
    return ip(ns, "neigh", "del", o.address, "dev", o.dev)
  end,
  neigh_flush = function(ns, o)
    o = type(o) == "table" and o or {}
    local w = {}
    if family_flag(o.family) then add(w, family_flag(o.family)) end
    add(w, "neigh", "flush")
    if o.dev then add(w, "dev", o.dev) else add(w, "all") end
    if o.permanent then add(w, "nud", "all") end
    return ip(ns, table.unpack(w))
  end,
  neighs = function(ns, o)
    local line = show("neigh", { "dev" })(ns, o)
    return (type(o) == "table" and o.all) and line .. " nud all" or line
  end,
  fdb = function(ns, o)
    o = type(o) == "table" and o or {}
    local w = { "bridge" }
    if ns.name then add(w, "-n", ns.name) end
    add(w, "fdb", "show")
    if o.dev then add(w, "dev", o.dev) end
    local line = join(w)
    return ns.name and line or exec(ns, { table.unpack(w) })
  end,
  fdb_add = fdb_add,
  fdb_add_many = function(ns, list)
    local lines = {}
    for i, o in ipairs(type(list) == "table" and list or {}) do
      lines[i] = fdb_add(ns, o)
    end
    return lines
  end,
  sysctl_set = function(ns, key, value)
    local function text(v)
      if v == true then return "1" elseif v == false then return "0" end
      return tostring(v)
    end
    if type(key) ~= "table" then return exec(ns, { "sysctl", "-w", ("%s=%s"):format(key, text(value)) }) end
    -- the table form: all in one sysctl -w, in key order, as the module writes them
    local keys, argv = {}, { "sysctl", "-w" }
    for k in pairs(key) do keys[#keys + 1] = k end
    table.sort(keys)
    for _, k in ipairs(keys) do argv[#argv + 1] = ("%s=%s"):format(k, text(key[k])) end
    return exec(ns, argv)
  end,
  sysctl_get = function(ns, key) return exec(ns, { "sysctl", "-n", key }) end,
  exec = function(ns, argv, o)
    local line = exec(ns, argv or {})
    local input = type(o) == "table" and o.stdin
    if type(input) ~= "string" then return line end
    -- What the program reads, as a here-document (nft -f -, say).
    local tag = "EOF"
    while input:find(tag, 1, true) do tag = tag .. "_" end
    if input ~= "" and input:sub(-1) ~= "\n" then input = input .. "\n" end
    return ("%s <<'%s'\n%s%s"):format(line, tag, input, tag)
  end,
  spawn = function(ns, argv) return exec(ns, argv or {}) .. " &" end,
  ping = function(ns, dst, o) return exec(ns, ping_argv(dst, o)) end,
  qdisc_set = qdisc_set,
  qdisc_del = function(ns, dev) return tc(ns, "qdisc", "del", "dev", dev, "root") end,
  qdisc_get = function(ns, dev) return tc(ns, "qdisc", "show", "dev", dev, "root") end,
  qdiscs = function(ns, dev)
    if dev ~= nil then return tc(ns, "qdisc", "show", "dev", dev) end
    return tc(ns, "qdisc", "show")
  end,
  probe = function(ns, proto, dst, port, o) return exec(ns, probe_argv(proto, dst, port, o)) end,
  listen = listen_line,
  throughput = throughput_lines,
  traceroute = function(ns, dst, o) return exec(ns, traceroute_argv(dst, o)) end,
  path_mtu = function(ns, dst) return exec(ns, { "tracepath", "-n", dst }) end,
  delete = function(ns) return join{ "ip", "netns", "delete", ns.name or label(ns) } end,
}

local queries = {
  link_get = true, link_state = true, links = true, addrs = true, routes = true, neighs = true,
  fdb = true, sysctl_get = true, qdisc_get = true, qdiscs = true,
}

-- The lines for a list run at once (ping_many, probe_many): a comment, then
-- each item as its own command, up to options.max_lines.
local function many(what, fn, list, each)
  local lines = {}
  list = type(list) == "table" and list or {}
  local max = options.max_lines or 20
  lines[1] = ("# %d %s at once (netns.%s), each as:"):format(#list, what, fn)
  for i, p in ipairs(list) do
    if i > max then
      lines[#lines + 1] = ("# ... and %d more"):format(#list - max)
      break
    end
    local line = type(p) == "table" and each(p)
    if line then lines[#lines + 1] = line end
  end
  return lines
end

local module_fns = {
  probe_many = function(list, o)
    return many("port probes", "probe_many", list, function(p)
      return p[1] and p[4] and exec(p[1], probe_argv(p[2], p[3], p[4], merged(p[5], o)))
    end)
  end,
  -- A mark is set on lo (and lo brought up, with lo_up) before the name
  -- appears; after it, as a command.
  create = function(name, o)
    local lines = { join{ "ip", "netns", "add", name } }
    if type(o) == "table" and (o.mark or o.lo_up) then
      local cmd = { "ip", "-n", name, "link", "set", "dev", "lo" }
      if o.lo_up then cmd[#cmd + 1] = "up" end
      if o.mark then cmd[#cmd + 1] = "alias"; cmd[#cmd + 1] = o.mark end
      lines[2] = join(cmd)
    end
    return lines
  end,
  delete = function(name) return join{ "ip", "netns", "delete", name } end,
  list = function() return "ip netns list" end,
  ping_many = function(list, o)
    return many("pings", "ping_many", list, function(p)
      return p[1] and p[2] and exec(p[1], ping_argv(p[2], merged(p[3], o)))
    end)
  end,
}

local function say(lines)
  if type(lines) == "string" then lines = { lines } end
  for _, l in ipairs(lines) do emit(l) end
end

-- Shows describe(...)'s lines; a description that fails (on a bad argument
-- the real function will refuse) shows nothing: the operation's own error
-- then tells the user what is wrong.
local function before(describe, is_query, ...)
  if emit and not (is_query and options.queries == false) then
    local ok, lines = pcall(describe, ...)
    if ok and lines then say(lines) end
  end
end

-- An error raised inside the generated call names the wrapper's chunk as
-- its place ("(trace addr_add):7: ..."); it is put where the user called
-- the operation, so tracing changes no message: a netns.Error gets that
-- position in its where field; an argument error (a string from luaL_error,
-- whose text starts with the chunk's position) gets it in place of the
-- chunk's.
local function relocate(err, level)
  local info = debug.getinfo(level + 1, "Sl")
  local where = (info and info.currentline > 0) and ("%s:%d"):format(info.short_src, info.currentline) or nil
  local mt = getmetatable(err)
  if type(mt) == "table" and mt.__name == "netns.Error" then
    err.where = where
  elseif type(err) == "string" then
    local chunk = ("(trace %s):"):format(err:match("^%(trace ([%w_]+)%):") or "")
    if err:sub(1, #chunk) == chunk then
      local rest = err:sub(#chunk + 1):match("^%d+: (.*)$")
      if rest then return where and (where .. ": " .. rest) or rest end
    end
  end
  return err
end

local function failed(err)
  if emit then emit("# failed: " .. (tostring(err):gsub("\n", " "))) end
end

-- The wrappers are generated so the original is called the way the user
-- called the wrapper: a method as self:NAME(...) (the method hook steps
-- aside for the call), a module function through a local named NAME.
-- Argument errors then read exactly as without tracing ("bad argument #1 to
-- 'link_add' (...)"), where a call through pcall directly would say "#2 to
-- '?'". The call runs under pcall only to show "# failed" and to let the
-- hook step back in whatever happens.
local METHOD = [[
local aside, orig, describe, is_query, before, failed, relocate = ...
local function call(self, ...)
  local r = table.pack(self:NAME(...))
  return table.unpack(r, 1, r.n)
end
return function(self, ...)
  if type(self) == "table" and type(rawget(self, "ns")) == "userdata" then self = rawget(self, "ns") end
  if type(self) ~= "userdata" then local NAME = orig; return NAME(self, ...) end
  before(describe, is_query, self, ...)
  aside(true)
  local r = table.pack(pcall(call, self, ...))
  aside(false)
  if not r[1] then
    failed(r[2])
    error(relocate(r[2], 2), 0)
  end
  return table.unpack(r, 2, r.n)
end
]]

local FUNCTION = [[
local NAME, describe, is_query, before, failed, relocate = ...
local function call(...)
  local r = table.pack(NAME(...))
  return table.unpack(r, 1, r.n)
end
return function(...)
  before(describe, is_query, ...)
  local r = table.pack(pcall(call, ...))
  if not r[1] then
    failed(r[2])
    error(relocate(r[2], 2), 0)
  end
  return table.unpack(r, 2, r.n)
end
]]

local function generate(template, name, ...)
  local src = template:gsub("NAME", name)
  return assert(load(src, "=(trace " .. name .. ")"))(...)
end

-- trace.enable([out], {queries=true|false, max_lines=20}): out is a file
-- (default io.stderr, like `set -x`, so TAP on stdout stays clean) or a
-- function receiving each line without its newline. Enabling twice only
-- changes the output. Methods are traced through the module's method hook
-- (netns.hook_methods: netns.Namespace stays as it is, so code holding a
-- method from it calls it untraced); module functions (netns.create, ...)
-- are replaced in the module table while tracing is on.
local stepped_aside = false
local function aside(on) stepped_aside = on end

function trace.enable(out, opts)
  opts = opts or {}
  options = opts
  if type(out) == "function" then
    emit = out
  else
    local f = out or io.stderr
    emit = function(line) f:write(line, "\n") f:flush() end
  end
  if saved then return end
  saved = { module = {}, wrappers = {} }
  local M = netns.Namespace
  for name, describe in pairs(methods) do
    if type(M[name]) == "function" then
      saved.wrappers[name] = generate(METHOD, name, aside, M[name], describe, queries[name] or false,
                                      before, failed, relocate)
    end
  end
  local wrappers = saved.wrappers
  netns.hook_methods(function(name, m)
    return not stepped_aside and wrappers[name] or m
  end)
  for name, describe in pairs(module_fns) do
    if type(netns[name]) == "function" then
      saved.module[name] = netns[name]
      netns[name] = generate(FUNCTION, name, netns[name], describe, name == "list", before, failed, relocate)
    end
  end
end

function trace.disable()
  if not saved then return end
  netns.hook_methods(nil)
  for name, fn in pairs(saved.module) do netns[name] = fn end
  saved, emit, stepped_aside = nil, nil, false
end

function trace.enabled() return saved ~= nil end

-- The command for one operation, without running it (for docs and tests):
-- trace.command("addr_add", ns, "ns1-veth0", "192.0.2.1/24") -> "ip -n ns1 ...".
function trace.command(op, ...)
  local describe = methods[op] or module_fns[op]
  if not describe then error(("no trace for operation '%s'"):format(tostring(op)), 2) end
  local lines = describe(...)
  if type(lines) == "table" then return table.concat(lines, "\n") end
  return lines
end

return trace
