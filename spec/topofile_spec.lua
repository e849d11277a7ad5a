-- Topology files: lab.load("lab.yaml" | "lab.json") in lab.new's data form,
-- and `nslab up FILE` / `nslab down LAB`: the lab comes up as the file says
-- (checked with ip -j), stays up, goes with down; a bad file is refused at
-- its line and nothing is made.
local T = require "spec.testlib"
local lab = require "netns.lab"
local journal = require "netns.journal"

local NSLAB = os.getenv("NSLAB") or "build/nslab"
local tmp = T.tmp
local function write(ext, text) return T.tmpfile(text, ext) end

local function ours(prefix)
  local t = {}
  for _, n in ipairs(T.ipj("netns", "list")) do
    if n.name:sub(1, #prefix) == prefix then t[#t + 1] = n.name end
  end
  table.sort(t)
  return t
end

local function journals(labname)
  local n = 0
  for _, r in ipairs((journal.all())) do if r.lab == labname then n = n + 1 end end
  return n
end

local YAML = [[
# a router between two hosts
name: %s
hosts:
  ns1: { default: router }
  ns2:
    default: router
routers: [router]
links:
  - [ "ns1:ns1-veth0 192.0.2.1/24 mac=00:00:5e:00:53:11", "router:gw-veth0 192.0.2.254/24" ]
  - [ "ns2:ns2-veth0 198.51.100.1/24", "router:gw-veth1 198.51.100.254/24", { mtu: 1400 } ]
]]

local JSON = [[
{
  "name": "%s",
  "hosts": { "ns1": { "default": "router" }, "ns2": { "default": "router" } },
  "routers": [ "router" ],
  "links": [
    [ "ns1:ns1-veth0 192.0.2.1/24 mac=00:00:5e:00:53:11", "router:gw-veth0 192.0.2.254/24" ],
    [ "ns2:ns2-veth0 198.51.100.1/24", "router:gw-veth1 198.51.100.254/24", { "mtu": 1400 } ]
  ]
}
]]

describe("nslab up and down", function()
  after_each(T.cleanup)

  for _, form in ipairs({ { ".yaml", YAML }, { ".json", JSON } }) do
    it(("bring up the lab of a %s file, leave it up with a way in, and take it down"):format(form[1]), function()
      local name = T.name("L"):gsub("%-", "_")
      local prefix = T.name("u") .. "-"
      local file = write(form[1], form[2]:format(name))
      local out, ok = T.run(("%s up --prefix=%s %s"):format(NSLAB, prefix, file))
      for _, n in ipairs({ "ns1", "ns2", "router" }) do T.track(prefix .. n) end
      assert.is_true(ok, out)
      assert.matches(("nslab shell %s ns1"):format(name), out, 1, true)
      assert.matches(("nslab down %s"):format(name), out, 1, true)
      assert.are.same({ prefix .. "ns1", prefix .. "ns2", prefix .. "router" }, ours(prefix))
      local a = T.ipj("-n", prefix .. "ns1", "addr", "show", "dev", "ns1-veth0")[1]
      assert.are.equal("00:00:5e:00:53:11", a.address)
      assert.are.equal("192.0.2.1", a.addr_info[1].HOST or a.addr_info[1]["local"])
      assert.are.equal(1400, T.ipj("-n", prefix .. "ns2", "link", "show", "dev", "ns2-veth0")[1].mtu)
      local r = T.ipj("-n", prefix .. "ns2", "route", "show", "default")[1]
      assert.are.equal("198.51.100.254", r.gateway)
      -- the lab answers: exec through the journal
      out, ok = T.run(("%s exec %s ns1 ping -c1 -W3 198.51.100.1"):format(NSLAB, name))
      assert.is_true(ok, out)
      assert.matches("1 received", out, 1, true)
      out, ok = T.run(("%s down %s"):format(NSLAB, name))
      assert.is_true(ok, out)
      assert.matches("deleted namespace " .. prefix .. "router", out, 1, true)
      assert.are.same({}, ours(prefix))
      assert.are.equal(0, journals(name))
    end)
  end

  local bad = {
    { "a bad address", ".yaml", "name: x\nhosts: [a, b]\nlinks:\n  - [ \"a 10.9.0.1/33\", \"b 10.9.0.2/30\" ]\n",
      ":4: link a: bad address '10.9.0.1/33'" },
    { "an unknown node", ".yaml", "name: x\nhosts:\n  a: {}\n  b: {}\nlinks:\n  - [ a 10.9.0.1/30, b 10.9.0.2/30 ]\n  - [ a, nosuch ]\n",
      ":7: link: unknown node 'nosuch'" },
    { "an unknown option of a node", ".yaml", "name: x\nhosts:\n  a:\n    colour: red\n",
      ":3: host 'a': unknown option 'colour'" },
    { "an unknown key", ".yaml", "name: x\nhots: [a]\n", ":2: unknown key 'hots'" },
    { "a YAML syntax error", ".yaml", "name: x\nhosts: [a, b\nlinks: []\n", ":3: did not find expected ',' or ']'" },
    { "a JSON syntax error", ".json", "{\n  \"name\": \"x\",\n  \"hosts\": [ a ]\n}\n", ":3: no valid JSON value" },
    { "an unknown node in JSON", ".json",
      "{\n  \"name\": \"x\",\n  \"hosts\": [\"a\"],\n  \"links\": [\n    [\"a 10.9.0.1/30\", \"b 10.9.0.2/30\"]\n  ]\n}\n",
      ":5: link: unknown node 'b'" },
  }
  for _, c in ipairs(bad) do
    it("refuses " .. c[1] .. " at its line and makes nothing", function()
      local prefix = T.name("b") .. "-"
      local file = write(c[2], c[3])
      local out, ok = T.run(("%s up --prefix=%s %s"):format(NSLAB, prefix, file))
      assert.is_falsy(ok)
      assert.matches(file .. c[4], out, 1, true)
      assert.are.same({}, ours(prefix))
      assert.are.equal(0, journals("x"))
    end)
  end

  it("refuses to take down a lab whose run is alive", function()
    local name = T.name("R"):gsub("%-", "_")
    local l = T.lab({ name = name }, "r")
    l:host("a")
    l:up()
    local out, ok = T.run(("%s down %s"):format(NSLAB, name))
    assert.is_falsy(ok)
    assert.matches("belongs to the running pid " .. T.pid, out, 1, true)
    assert.are.equal("up", l.state)
    assert.is_true(require("netns").exists(l.nodes.a.nsname))
  end)
end)

describe("lab.load", function()
  after_each(T.cleanup)

  it("declares the lab of a YAML file as lab.new would, each declaration at the file's line", function()
    local file = write(".yaml", YAML:format("loaded"))
    local l = T.track_lab(lab.load(file, { prefix = T.name("l") .. "-" }))
    assert.are.equal("down", l.state)
    assert.are.same({ "ns1", "ns2", "router" }, { l.order[1].name, l.order[2].name, l.order[3].name })
    assert.are.equal(file .. ":4", l.nodes.ns1.where)
    assert.are.equal(file .. ":5", l.nodes.ns2.where)
    assert.are.equal(file .. ":9", l.links[1].where)
    assert.are.equal(file .. ":10", l.links[2].where)
    l:up()
    assert.is_true((l:reachable("ns1", "ns2", { ttl = 63, record = false })))
    l:down()
  end)

  it("keeps YAML 1.2 scalars: a MAC stays a string, numbers are numbers", function()
    local v = require("netns.topofile").parse_yaml("a: 00:00:5e:00:53:01\nb: 1400\nc: '12'\nd: true\ne: ~\n", "t.yaml")
    assert.are.same({ a = "00:00:5e:00:53:01", b = 1400, c = "12", d = true }, v)
  end)
end)
