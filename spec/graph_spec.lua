-- nslab graph and l:graph(): the lab a script or a topology file describes,
-- drawn without bringing it up: DOT that graphviz renders (checked through
-- `dot -Tjson`), Mermaid with its structure, JSON read by python3's json
-- against the documented schema; impairments on links; nothing created.
local T = require "spec.testlib"
local json = require "dkjson"
local lab = require "netns.lab"

local NSLAB = os.getenv("NSLAB") or "build/nslab"
local tmp = T.tmp
local function write(ext, text) return T.tmpfile(text, ext) end

local function namespaces()
  local t = {}
  for _, n in ipairs(T.ipj("netns", "list")) do t[#t + 1] = n.name end
  table.sort(t)
  return table.concat(t, " ")
end

describe("nslab graph", function()
  after_each(T.cleanup)

  it("draws examples/two_routers.lua as DOT that graphviz lays out: a node per lab node, an edge per link between interface ports", function()
    local before = namespaces()
    local dotfile = tmp(".dot")
    local out, ok = T.run(NSLAB .. " graph examples/two_routers.lua -o " .. dotfile)
    assert.is_true(ok, out)
    assert.are.equal(before, namespaces(), "graph must not bring the lab up")
    local laid, dok = T.run("dot -Tjson " .. dotfile)
    assert.is_true(dok, laid)
    local g = json.decode(laid)
    local names = {}
    for _, o in ipairs(g.objects) do names[#names + 1] = o.name end
    table.sort(names)
    assert.are.same({ "ns1", "ns2", "router1", "router2" }, names)
    assert.are.equal(3, #g.edges)
    local text = T.read(dotfile)
    assert.matches('"ns1":i1 -- "router1":i1', text, 1, true)
    assert.matches('"router1":i2 -- "router2":i1', text, 1, true)
    assert.matches("gw1-veth1<br/>203.0.113.1/24", text, 1, true)
    local svg, sok = T.run("dot -Tsvg " .. dotfile)
    assert.is_true(sok)
    assert.matches("<svg", svg, 1, true)
  end)

  it("stops a script at its first up(): the checks after it do not run", function()
    local script = write(".lua", [[
      local l = require("netns.lab").new { name = "g" }
      l:host("a"); l:host("b")
      l:link("a 10.9.0.1/30", "b 10.9.0.2/30")
      print("declared")
      l:up()
      print("after up")
    ]])
    local out, ok = T.run(NSLAB .. " graph --format=mermaid " .. script)
    assert.is_true(ok, out)
    assert.matches("declared\n", out, 1, true)
    assert.not_matches("after up", out, 1, true)
    assert.matches("a-eth0 10.9.0.1/30", out, 1, true) -- default interface names resolved
  end)

  it("writes Mermaid: a graph LR block, a shape per kind, a labelled edge per link", function()
    local out, ok = T.run(NSLAB .. " graph examples/bridge.lua --format mermaid")
    assert.is_true(ok, out)
    local lines = {}
    for l in out:gmatch("[^\n]+") do lines[#lines + 1] = l end
    assert.are.equal("graph LR", lines[1])
    local nodes, edges = {}, 0
    for i = 2, #lines do
      local id, shape = lines[i]:match("^  (n%d+)([%[{(]+)\"")
      if id then nodes[#nodes + 1] = shape end
      if lines[i]:match("^  n%d+ %-%-%-|\".-\"| n%d+$") then edges = edges + 1 end
    end
    assert.are.same({ "[[", "[", "[", "[" }, nodes) -- the switch, then three hosts
    assert.are.equal(3, edges)
    assert.matches('"ns1-veth0 192.0.2.1/24<br/>ns1-br0"', out, 1, true)
  end)

  it("writes JSON that python3 reads, with the documented schema", function()
    local jf = tmp(".json")
    local out, ok = T.run(NSLAB .. " graph examples/two_routers.lua --format=json -o " .. jf)
    assert.is_true(ok, out)
    local py = [[
import json, sys
g = json.load(open(sys.argv[1]))
assert g["schema"] == "nslab-graph/1" and g["lab"] == "two-routers"
for n in g["nodes"]:
    assert set(n) >= {"name", "kind", "namespace", "interfaces", "routes"}, n
    assert n["kind"] in ("host", "router", "switch")
    for i in n["interfaces"]:
        assert isinstance(i["name"], str) and isinstance(i["addresses"], list)
for l in g["links"]:
    for e in (l["a"], l["b"]):
        assert set(e) <= {"node", "interface", "addresses", "impairments"} and "interface" in e, e
print(len(g["nodes"]), len(g["links"]), g["links"][1]["a"]["interface"], g["links"][1]["b"]["addresses"][0])
]]
    local pyf = write(".py", py)
    local r, pok = T.run("python3 " .. pyf .. " " .. jf)
    assert.is_true(pok, r)
    assert.are.equal("4 3 gw1-veth1 203.0.113.2/24\n", r)
  end)

  it("draws the README's picture (make graph-svg redraws it) and its Mermaid block as they are committed", function()
    local svg = T.run(NSLAB .. " graph examples/two_routers.lua | dot -Tsvg")
    assert.are.equal(T.read("doc/two_routers.svg"), svg)
    local mermaid = T.run(NSLAB .. " graph examples/two_routers.lua --format=mermaid")
    assert.matches("```mermaid\n" .. mermaid .. "```", T.read("README.md"), 1, true)
  end)

  it("draws a topology file, and refuses an unknown format", function()
    local out, ok = T.run(NSLAB .. " graph examples/two_routers.yaml")
    assert.is_true(ok, out)
    assert.matches('^graph "two%-routers%-file" {', out)
    out, ok = T.run(NSLAB .. " graph examples/two_routers.yaml --format=png")
    assert.is_falsy(ok)
    assert.matches("unknown format 'png' (dot, mermaid, json)", out, 1, true)
  end)
end)

describe("l:graph()", function()
  after_each(T.cleanup)

  it("renders a declared lab, with a link's impairments when it has them", function()
    local l = lab.new { name = "imp" }
    l:host("a"); l:host("b"); l:host("c")
    l:link("a:a0 10.9.0.1/30", "b:b0 10.9.0.2/30", { delay = "10ms", loss = "1%" })
    l:link("b:b1 10.9.1.1/30", "c:c0 10.9.1.2/30", { delay = "5ms", a = { rate = "1mbit" } })
    local dot = l:graph()
    assert.matches('"a":i1 -- "b":i1 [label="delay 10ms, loss 1%", color="#c0392b"];', dot, 1, true)
    -- what is in force for the traffic leaving each end, when the ends differ
    assert.matches('"b":i2 -- "c":i1 [label="b->c delay 5ms, rate 1mbit; c->b delay 5ms"', dot, 1, true)
    assert.matches('delay 10ms, loss 1%"| n2', l:graph("mermaid"), 1, true)
    local m = json.decode(l:graph("json"))
    assert.are.same({ delay = "10ms", loss = "1%" }, m.links[1].impairments)
    assert.are.same({ delay = "5ms", rate = "1mbit" }, m.links[2].a.impairments)
    assert.are.same({ delay = "5ms" }, m.links[2].b.impairments)
    assert.are.equal("down", l.state)
    assert.has_error(function() l:graph("svg") end, "graph: unknown format 'svg' (dot, mermaid, json)")
  end)

  it("draws the impairments of a topology file's links", function()
    local file = write(".yaml", "name: imp\nhosts: [a, b]\nlinks:\n  - [ a 10.9.0.1/30, b 10.9.0.2/30, { delay: 20ms, jitter: 5ms } ]\n")
    local out, ok = T.run(NSLAB .. " graph --format=mermaid " .. file)
    assert.is_true(ok, out)
    assert.matches("<br/>delay 20ms, jitter 5ms\"| n2", out, 1, true)
  end)

  it("reports validation errors at the script's line", function()
    local l = lab.new { name = "bad" }
    l:host("a")
    l:link("a 10.9.0.1/30", "nosuch 10.9.0.2/30")
    local ok, e = pcall(l.graph, l)
    assert.is_false(ok)
    assert.matches("graph_spec.lua:%d+: link: unknown node 'nosuch'", e)
  end)
end)
