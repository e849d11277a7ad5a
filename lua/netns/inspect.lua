-- netns.inspect: the live state of labs, read from the kernel, as data
-- (`nslab list --json`, `nslab inspect LAB --json`, the prompt's `dump`).
--
-- A lab is found through its journal (netns.journal): a running one, one
-- left up by --keep or `nslab up`. Each of its namespaces that still exists
-- is read with one dump each of links, addresses and routes, and /proc for
-- the processes living in it. JSON goes through dkjson (Debian's
-- lua-dkjson); the schema is in doc/cli.md.
local netns = require "netns"
local journal = require "netns.journal"

local M = {}

-- JSON objects that may be empty must not turn into [] (dkjson's default
-- for an empty table).
local object_mt = { __jsontype = "object" }
local array_mt = { __jsontype = "array" }
M.object_mt, M.array_mt = object_mt, array_mt

local function array(t) return setmetatable(t or {}, array_mt) end

local function cmdline(pid)
  local s = netns.readfile(("/proc/%d/cmdline"):format(pid))
  if not s then return nil end
  local argv = {}
  for a in s:gmatch("([^%z]*)%z") do argv[#argv + 1] = a end
  return argv
end

-- One namespace: interfaces (with their addresses), routes, processes.
function M.namespace(ns)
  local by_dev, ifaces = {}, array()
  for _, l in ipairs(ns:links()) do
    local i = {
      name = l.name, index = l.index, kind = l.kind, mac = l.mac, mtu = l.mtu,
      state = l.operstate, up = l.up, running = l.running, master = l.master,
      addresses = array(),
    }
    ifaces[#ifaces + 1] = i
    by_dev[l.name] = i
  end
  for _, a in ipairs(ns:addrs()) do
    local i = by_dev[a.dev]
    if i then
      i.addresses[#i.addresses + 1] = { address = a.address, prefixlen = a.prefixlen,
        cidr = a.cidr, family = a.family, scope = a.scope }
    end
  end
  local routes = array()
  for _, r in ipairs(ns:routes()) do
    routes[#routes + 1] = { dst = r.dst, family = r.family, via = r.via, dev = r.dev,
      metric = r.metric, type = r.type, protocol = r.protocol, scope = r.scope, src = r.src }
  end
  local procs = array()
  for _, pid in ipairs(ns:pids()) do
    procs[#procs + 1] = { pid = pid, argv = array(cmdline(pid)) }
  end
  return { interfaces = ifaces, routes = routes, processes = procs }
end

-- One namespace's state (from M.namespace) as lines for people: each
-- interface with its state, MAC and addresses, the routes (not the kernel's
-- local and broadcast ones), the processes.
function M.write_namespace(out, n)
  for _, i in ipairs(n.interfaces) do
    local a = {}
    for _, x in ipairs(i.addresses) do a[#a + 1] = x.cidr end
    out:write(("  %-12s %-7s %-17s %s\n"):format(i.name, i.state or "?", i.mac or "", table.concat(a, " ")))
  end
  for _, r in ipairs(n.routes) do
    if r.type == "unicast" or r.type == "blackhole" or r.type == "unreachable" or r.type == "prohibit" then
      out:write(("  route %s%s%s%s\n"):format(r.type ~= "unicast" and (r.type .. " ") or "", r.dst,
        r.via and (" via " .. r.via) or "", r.dev and (" dev " .. r.dev) or ""))
    end
  end
  for _, p in ipairs(n.processes) do
    out:write(("  process %d %s\n"):format(p.pid, table.concat(p.argv, " ")))
  end
end

-- What a journal record says about its lab, and the state of each of its
-- namespaces that still exists.
function M.lab(r)
  local t = {
    id = r.id, lab = r.lab, journal = r.path,
    owner = { pid = r.pid, running = r.alive },
    kept = r.keep == true, created = r.created, nodes = array(),
  }
  for _, nsname in ipairs(r.ns) do
    local mine, ns = journal.owns(r, nsname)
    if mine then
      local n = M.namespace(ns)
      n.node, n.namespace = r.node[nsname] or nsname, nsname
      t.nodes[#t.nodes + 1] = n
    end
    if ns then ns:close() end
  end
  return t
end

-- The journal records of the labs matching `which` (an id, or a lab's
-- name), or raises naming the labs there are.
function M.find(which)
  local runs = journal.all()
  local hits = {}
  for _, r in ipairs(runs) do
    if r.id == which then return { r } end
    if r.lab == which then hits[#hits + 1] = r end
  end
  if #hits == 0 then
    local names = {}
    for _, r in ipairs(runs) do names[#names + 1] = ("%s (%s)"):format(r.lab or "?", r.id) end
    error(("no lab '%s' is up%s"):format(which, #names > 0 and ("; labs: " .. table.concat(names, ", "))
      or " (nslab list shows the labs that are)"), 0)
  end
  return hits
end

-- One lab by id or name: a name that several labs have must be an id.
function M.find_one(which)
  local hits = M.find(which)
  if #hits > 1 then
    local ids = {}
    for _, r in ipairs(hits) do ids[#ids + 1] = r.id end
    error(("%d labs are named '%s': give one of the ids %s"):format(#hits, which,
      table.concat(ids, ", ")), 0)
  end
  return hits[1]
end

function M.json(v)
  return require("dkjson").encode(v, { indent = true, keyorder = {
    "id", "lab", "node", "namespace", "name", "index", "kind", "owner", "kept", "created", "journal",
    "nodes", "interfaces", "routes", "processes", "pid", "running", "argv",
    "mac", "mtu", "state", "up", "master", "addresses", "address", "prefixlen", "cidr",
    "dst", "family", "via", "dev", "metric", "type", "protocol", "scope", "src",
  } })
end

-- `nslab list --json`: every lab with a journal, with its live state.
function M.list()
  local t = array()
  for _, r in ipairs((journal.all())) do t[#t + 1] = M.lab(r) end
  return t
end

return M
