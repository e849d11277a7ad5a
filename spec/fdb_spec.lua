-- ns:fdb_add: entries on a bridge port, dynamic (as if learnt) or static,
-- seen by `bridge -j fdb show`; bad input refused before anything is sent.
local T = require "spec.testlib"

local function entry(ns, mac)
  local out = T.run(("bridge -j -n %s fdb show br br0"):format(ns))
  for _, e in ipairs(require("dkjson").decode(out) or {}) do
    if e.mac == mac then return e end
  end
end

describe("ns:fdb_add", function()
  after_each(T.cleanup)
  local sw, swname, h

  before_each(function()
    sw, swname = T.ns("sw")
    h = T.ns("h")
    sw:link_add { name = "br0", kind = "bridge", up = true }
    sw:link_add { name = "p1", kind = "veth", master = "br0", up = true, peer = { name = "eth0", ns = h } }
    h:link_set("eth0", { up = true })
    assert.is_true(T.wait_until(function() return sw:link_get("p1").running end, 10), "p1 running")
  end)

  it("adds a dynamic entry the bridge ages like a learnt one", function()
    sw:fdb_add { dev = "p1", mac = "02:00:5e:00:53:11" }
    local e = entry(swname, "02:00:5e:00:53:11")
    assert.is_truthy(e, "listed by bridge fdb show")
    assert.equal("p1", e.ifname)
    assert.is_true(e.state == nil or e.state == "", "bridge prints no state (static, permanent) for a dynamic entry")
    local mine
    for _, x in ipairs(sw:fdb { dev = "p1" }) do if x.mac == "02:00:5e:00:53:11" then mine = x end end
    assert.is_false(mine.permanent)
  end)

  it("adds a static entry, and replaces an existing one", function()
    sw:fdb_add { dev = "p1", mac = "02:00:5e:00:53:12" }
    sw:fdb_add { dev = "p1", mac = "02:00:5e:00:53:12", static = true }
    assert.equal("static", entry(swname, "02:00:5e:00:53:12").state)
  end)

  it("fails with the kernel's reason on a device that is no bridge port, and on none", function()
    sw:link_add { name = "x1", kind = "veth", peer = { name = "x2" } }
    assert.equal("EOPNOTSUPP", T.errcode(sw.fdb_add, sw, { dev = "x1", mac = "02:00:5e:00:53:13" }))
    assert.equal("ENODEV", T.errcode(sw.fdb_add, sw, { dev = "nope", mac = "02:00:5e:00:53:13" }))
  end)

  it("refuses a missing or bad mac, a bad dev and unknown options, naming them", function()
    assert.matches("field 'mac': required", T.errcode(sw.fdb_add, sw, { dev = "p1" }))
    assert.matches("field 'mac'", T.errcode(sw.fdb_add, sw, { dev = "p1", mac = "02:00:5e:00:53" }))
    assert.matches("field 'dev'", T.errcode(sw.fdb_add, sw, { dev = ("x"):rep(16), mac = "02:00:5e:00:53:14" }))
    assert.matches("vlan", T.errcode(sw.fdb_add, sw, { dev = "p1", mac = "02:00:5e:00:53:14", vlan = 1 }))
    assert.is_nil(entry(swname, "02:00:5e:00:53:14"))
  end)

  it("adds many entries in one call, checking every one before sending any", function()
    local list = {}
    for i = 1, 300 do list[i] = { dev = "p1", mac = ("02:00:5e:00:%02x:%02x"):format(i >> 8, i & 255) } end
    sw:fdb_add_many(list)
    -- A kernel with bridge VLAN support (Debian's) adds each entry also for
    -- every VLAN of the port (VLAN 1 by default): count those for all VLANs.
    local n = 0
    for _, e in ipairs(sw:fdb { dev = "p1" }) do
      if e.mac:match("^02:00:5e:00:0[01]:") and not e.permanent and e.vlan == nil then n = n + 1 end
    end
    assert.equal(300, n)
    assert.matches("entry 2: field 'mac'", T.errcode(sw.fdb_add_many, sw,
      { { dev = "p1", mac = "02:00:5e:00:53:21" }, { dev = "p1", mac = "bad" } }))
    assert.matches("entry 1: unknown option 'vlan'", T.errcode(sw.fdb_add_many, sw,
      { { dev = "p1", mac = "02:00:5e:00:53:21", vlan = 1 } }))
    assert.is_nil(entry(swname, "02:00:5e:00:53:21"))
    local ok, e = pcall(sw.fdb_add_many, sw, { { dev = "p1", mac = "02:00:5e:00:53:22" }, { dev = "nope", mac = "02:00:5e:00:53:23" } })
    assert.is_false(ok)
    assert.equal("ENODEV", e.code)
    assert.matches('dev "nope" %(entry 2%)', tostring(e))
  end)
end)
