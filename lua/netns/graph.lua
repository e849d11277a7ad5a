-- netns.graph: a lab's description as a picture or as data, without bringing
-- it up (`nslab graph FILE`, `l:graph(format)`).
--
--   graph.model(lab) -> {schema, lab, nodes, links}   (validates first)
--   graph.render(lab, "dot" | "mermaid" | "json") -> string
--
-- The model is what the lab will be: nodes by kind with their interfaces
-- (default names and pool addresses resolved), links end to end with
-- interface names and addresses, the declared routes, and a link's
-- impairments (delay, loss, rate, ...) where it has any. DOT renders with
-- graphviz (`dot -Tsvg`), Mermaid is a `graph LR` block that GitHub renders
-- in Markdown, and JSON is the model itself (schema in doc/cli.md).
local V = require "netns.topo_validate"

local M = {}

M.SCHEMA = "nslab-graph/1"

-- The impairment fields of netns.lab's links (topo.impair_keys): a link
-- keeps the settings declared for both directions in link.impair, and the
-- ones in force for the traffic leaving each end in that end's impair.
local IMPAIRMENTS = { "delay", "jitter", "loss", "rate", "duplicate", "reorder", "corrupt", "limit" }

local function impairments(t)
  if type(t) ~= "table" then return nil end
  local found
  for _, k in ipairs(IMPAIRMENTS) do
    local v = t[k]
    if v ~= nil and type(v) ~= "table" and type(v) ~= "function" then
      found = found or {}
      found[k] = v
    end
  end
  return found
end

local function addrs(ifc)
  local t = {}
  for _, a in ipairs(ifc.addrs or {}) do t[#t + 1] = a end
  return t
end

local function iface(ifc)
  return { name = ifc.name, addresses = addrs(ifc), mac = ifc.mac, mtu = ifc.mtu }
end

function M.model(lab)
  local errs = V.validate(lab)
  if #errs > 0 then error(table.concat(errs, "\n"), 0) end
  local m = { schema = M.SCHEMA, lab = lab.name, nodes = {}, links = {} }
  for _, node in ipairs(lab.order) do
    local n = { name = node.name, kind = node.kind, namespace = node.nsname, at = node.at,
      interfaces = {}, routes = {} }
    for _, ifc in ipairs(node.ifaces) do n.interfaces[#n.interfaces + 1] = iface(ifc) end
    if node.bridge then n.bridge = node.bridge.name end
    for _, r in ipairs(node.resolved or {}) do
      n.routes[#n.routes + 1] = { dst = r.dst, via = r.via, dev = r.dev, type = r.type }
    end
    m.nodes[#m.nodes + 1] = n
  end
  for _, link in ipairs(lab.links) do
    local function e(x)
      return { node = x.node.name, interface = x.name, addresses = addrs(x), impairments = impairments(x.impair) }
    end
    m.links[#m.links + 1] = { a = e(link.a), b = e(link.b), impairments = impairments(link.impair) }
  end
  return m
end

-- "delay 10ms, loss 1%": an impairments table in a fixed order.
local function settings(imp)
  local t = {}
  for _, k in ipairs(IMPAIRMENTS) do
    if imp[k] ~= nil then t[#t + 1] = ("%s %s"):format(k, tostring(imp[k])) end
  end
  return table.concat(t, ", ")
end

-- A model link's impairments as one text, or nil: the same both ways
-- ("delay 10ms"), or each direction that has some ("ns1->router delay 10ms;
-- router->ns1 loss 1%").
function M.describe_impairments(l)
  local ia, ib = l.a.impairments, l.b.impairments
  if not ia and not ib then return l.impairments and settings(l.impairments) or nil end
  if ia and ib and settings(ia) == settings(ib) then return settings(ia) end
  local t = {}
  if ia then t[#t + 1] = ("%s->%s %s"):format(l.a.node, l.b.node, settings(ia)) end
  if ib then t[#t + 1] = ("%s->%s %s"):format(l.b.node, l.a.node, settings(ib)) end
  return table.concat(t, "; ")
end

---------------------------------------------------------------- DOT

local function dq(s)
  return '"' .. tostring(s):gsub('\\', '\\\\'):gsub('"', '\\"'):gsub("\n", "\\n") .. '"'
end

local DOT_COLOR = { host = "#eef4ff", router = "#fff3d6", switch = "#e3f5e1" }

local function html(s)
  return (tostring(s):gsub("&", "&amp;"):gsub("<", "&lt;"):gsub(">", "&gt;"):gsub('"', "&quot;"))
end

local function end_label(e)
  local t = { e.interface }
  for _, a in ipairs(e.addresses) do t[#t + 1] = a end
  return table.concat(t, "\n")
end

local function node_label(n)
  local t = { n.name, n.kind .. (n.at and (" at " .. n.at) or "") }
  if n.bridge then
    local br = n.interfaces[1]
    t[#t + 1] = n.bridge .. (#br.addresses > 0 and (" " .. table.concat(br.addresses, " ")) or "")
  end
  return table.concat(t, "\n")
end

-- Each node is a table: its name and kind, then one row (a port) per
-- interface with its addresses, so links join the interfaces they are.
local function dot_node(n)
  local rows = { ('<tr><td bgcolor="%s"><b>%s</b> <i>%s%s</i></td></tr>'):format(DOT_COLOR[n.kind],
    html(n.name), html(n.kind), n.at and (" at " .. html(n.at)) or "") }
  for i, ifc in ipairs(n.interfaces) do
    local cell = { html(ifc.name) }
    for _, a in ipairs(ifc.addresses) do cell[#cell + 1] = html(a) end
    rows[#rows + 1] = ('<tr><td port="i%d">%s</td></tr>'):format(i, table.concat(cell, "<br/>"))
  end
  return ('  %s [label=<<table border="0" cellborder="1" cellspacing="0" cellpadding="4">%s</table>>];')
    :format(dq(n.name), table.concat(rows))
end

function M.dot(m)
  local out = {
    ("graph %s {"):format(dq(m.lab)),
    ('  graph [rankdir=LR, label=%s, labelloc=t, fontname="Helvetica", nodesep=0.4, ranksep=0.8];')
      :format(dq("lab " .. m.lab)),
    '  node [shape=plain, fontname="Helvetica", fontsize=10];',
    '  edge [fontname="Helvetica", fontsize=9];',
  }
  local port = {}
  for _, n in ipairs(m.nodes) do
    port[n.name] = {}
    for i, ifc in ipairs(n.interfaces) do port[n.name][ifc.name] = "i" .. i end
    out[#out + 1] = dot_node(n)
  end
  for _, n in ipairs(m.nodes) do
    if n.at then out[#out + 1] = ("  %s -- %s [style=dashed, label=\"inside\"];"):format(dq(n.name), dq(n.at)) end
  end
  for _, l in ipairs(m.links) do
    local attrs = {}
    local imp = M.describe_impairments(l)
    if imp then attrs[#attrs + 1] = "label=" .. dq(imp); attrs[#attrs + 1] = 'color="#c0392b"' end
    local function ep(e)
      local p = port[e.node] and port[e.node][e.interface]
      return dq(e.node) .. (p and (":" .. p) or "")
    end
    out[#out + 1] = ("  %s -- %s%s;"):format(ep(l.a), ep(l.b),
      #attrs > 0 and (" [" .. table.concat(attrs, ", ") .. "]") or "")
  end
  out[#out + 1] = "}"
  return table.concat(out, "\n") .. "\n"
end

---------------------------------------------------------------- Mermaid

-- Mermaid ids are the node's position (names may be keywords such as
-- "end" or contain dots); labels are quoted, with its entity for '"'.
local function mq(s)
  return '"' .. tostring(s):gsub('"', "#quot;"):gsub("\n", "<br/>") .. '"'
end

local MERMAID_SHAPE = {
  host = { "[", "]" }, router = { "{{", "}}" }, switch = { "[[", "]]" },
}

function M.mermaid(m)
  local out = { "graph LR" }
  local id = {}
  for i, n in ipairs(m.nodes) do
    id[n.name] = "n" .. i
    local s = MERMAID_SHAPE[n.kind]
    out[#out + 1] = ("  %s%s%s%s"):format(id[n.name], s[1], mq(node_label(n)), s[2])
  end
  for _, n in ipairs(m.nodes) do
    if n.at then out[#out + 1] = ("  %s -.-|inside| %s"):format(id[n.name], id[n.at]) end
  end
  for _, l in ipairs(m.links) do
    local label = end_label(l.a):gsub("\n", " ") .. "\n" .. end_label(l.b):gsub("\n", " ")
    local imp = M.describe_impairments(l)
    if imp then label = label .. "\n" .. imp end
    out[#out + 1] = ("  %s ---|%s| %s"):format(id[l.a.node], mq(label), id[l.b.node])
  end
  return table.concat(out, "\n") .. "\n"
end

---------------------------------------------------------------- JSON

local function json_model(m)
  local inspect = require "netns.inspect"
  local arr = function(t) return setmetatable(t, inspect.array_mt) end
  for _, n in ipairs(m.nodes) do
    arr(n.interfaces); arr(n.routes)
    for _, i in ipairs(n.interfaces) do arr(i.addresses) end
  end
  for _, l in ipairs(m.links) do arr(l.a.addresses); arr(l.b.addresses) end
  arr(m.nodes); arr(m.links)
  return require("dkjson").encode(m, { indent = true, keyorder = {
    "schema", "lab", "name", "kind", "namespace", "at", "bridge", "interfaces", "routes", "nodes", "links",
    "a", "b", "node", "interface", "addresses", "mac", "mtu", "impairments", "dst", "via", "dev", "type",
  } }) .. "\n"
end

M.FORMATS = { dot = M.dot, mermaid = M.mermaid, json = json_model }

function M.render(lab, format)
  format = format or "dot"
  local f = M.FORMATS[format]
  if not f then
    error(("graph: unknown format '%s' (dot, mermaid, json)"):format(tostring(format)), 2)
  end
  return f(M.model(lab))
end

return M
