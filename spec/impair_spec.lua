-- Impaired links in the lab layer: declared on l:link, checked with the rest
-- of the description at the script's line, installed by up on both ends (or
-- per end), changed and removed at run time, cables cut and restored, shown
-- by --trace as tc commands that build the same qdiscs, and measured by the
-- checks. tbf (a rate) works on every kernel; netem needs sch_netem, and its
-- tests are pending where the kernel has none.
local netns = require "netns"
local lab = require "netns.lab"
local trace = require "netns.trace"
local T = require "spec.testlib"
local json = require "dkjson"

local function newlab(desc) return T.lab(desc, "I") end

local function here() return debug.getinfo(2, "l").currentline end

-- The root qdisc of dev in a namespace, as `tc -j qdisc show` sees it.
local function outside(nsname, dev)
  local out, ok = T.run(("tc -j -n %s qdisc show dev %s"):format(nsname, dev))
  assert(ok, out)
  for _, q in ipairs(json.decode(out) or {}) do
    if q.root then return q end
  end
end

local function operstate(nsname, dev)
  return T.ipj("-n", nsname, "link", "show", "dev", dev)[1].operstate
end

local function has_netem()
  local ns = T.ns("probe")
  local ok, e = pcall(ns.qdisc_set, ns, "lo", { delay = "1ms" })
  if not ok and (type(e) ~= "table" or e.code ~= "EOPNOTSUPP") then error(e, 0) end
  if not ok then
    local _, mok = T.run("modprobe sch_netem")
    ok = mok and pcall(ns.qdisc_set, ns, "lo", { delay = "1ms" })
  end
  return ok
end

local function two_hosts(opts)
  local l = newlab()
  l:host("h1")
  l:host("h2")
  local link = l:link("h1 10.7.0.1/24", "h2 10.7.0.2/24", opts)
  return l, link
end

describe("impaired links", function()
  after_each(T.cleanup)

  describe("declared", function()
    it("keeps the impairment in the topology: the link's shared settings and each end's own", function()
      local _, link = two_hosts({ rate = "10mbit", limit = 50, b = { rate = "1mbit" } })
      assert.same({ rate = "10mbit", limit = 50 }, link.impair)
      assert.same({ rate = "10mbit", limit = 50 }, link.a.impair)
      assert.same({ rate = "1mbit", limit = 50 }, link.b.impair)
      local _, plain = two_hosts()
      assert.is_nil(plain.impair)
      assert.is_nil(plain.a.impair)
    end)

    it("refuses bad values, unknown keys and bad per-end settings at the script's line", function()
      local l = newlab()
      l:host("h1")
      l:host("h2")
      local cases = {
        { { loss = "150%" }, "link: loss: '150%': more than 100%" },
        { { delay = 20 }, "link: delay: a time with its unit expected" },
        { { rate = "10mbps" }, "link: rate: '10mbps': tc reads 'bps'" },
        { { jitter = "1ms" }, "link: jitter: needs a delay" },
        { { reorder = "5%" }, "link: reorder: needs a delay above 0" },
        { { delay = "1ms", a = { jitter = "5" } }, "link: a.jitter: '5': no unit" },
        { { b = { lost = "1%" } }, "link: b: unknown option 'lost'" },
        { { latency = "1ms" }, "link: unknown option 'latency'" },
      }
      for _, c in ipairs(cases) do
        local line = here() + 1
        local ok, e = pcall(l.link, l, "h1", "h2", c[1])
        assert.is_false(ok)
        assert.truthy(tostring(e):find(("impair_spec.lua:%d: %s"):format(line, c[2]), 1, true), tostring(e))
      end
      assert.equals(0, #l.links)
    end)
  end)

  describe("a rate limit (tbf, on every kernel)", function()
    it("is installed by up on both ends, with per-end overrides", function()
      local l = two_hosts({ rate = "10mbit", b = { rate = "1mbit" } })
      l:up()
      local qa = outside(l.nodes.h1.nsname, "h1-eth0")
      local qb = outside(l.nodes.h2.nsname, "h2-eth0")
      assert.equals("tbf", qa.kind)
      assert.equals(1250000, qa.options.rate)
      assert.equals("tbf", qb.kind)
      assert.equals(125000, qb.options.rate)
      assert.equals("10mbit", l.nodes.h1:qdisc_get("h1-eth0").rate)
    end)

    it("is changed at run time by l:impair and removed by l:impair(a, b, false)", function()
      local l, link = two_hosts({ rate = "10mbit" })
      l:up()
      l:impair("h2", "h1", { rate = "2mbit", a = { rate = "4mbit" } })   -- a: h2's end
      assert.equals(500000, outside(l.nodes.h2.nsname, "h2-eth0").options.rate)
      assert.equals(250000, outside(l.nodes.h1.nsname, "h1-eth0").options.rate)
      assert.same({ rate = "2mbit" }, link.impair)
      assert.same({ rate = "4mbit" }, link.b.impair)
      l:impair("h1", "h2", false)
      assert.equals("noqueue", outside(l.nodes.h1.nsname, "h1-eth0").kind)
      assert.equals("noqueue", outside(l.nodes.h2.nsname, "h2-eth0").kind)
      assert.is_nil(link.impair)
      assert.is_nil(link.a.impair)
      assert.truthy(l:reachable("h1", "h2", { record = false }))
    end)

    it("names the link it cannot find, or asks for an interface when there are several", function()
      local l = newlab()
      l:host("h1")
      l:host("h2")
      l:link("h1", "h2")
      l:link("h1", "h2")
      local line = here() + 1
      local ok, e = pcall(l.impair, l, "h1", "h3", { rate = "1mbit" })
      assert.is_false(ok)
      assert.truthy(tostring(e):find(("impair_spec.lua:%d: impair: no link between 'h1' and 'h3'"):format(line), 1, true), tostring(e))
      ok, e = pcall(l.impair, l, "h1", "h2", { rate = "1mbit" })
      assert.is_false(ok)
      assert.truthy(tostring(e):find("impair: 2 links between 'h1' and 'h2': name the interface", 1, true), tostring(e))
      l:up()
      l:impair("h1:h1-eth1", "h2", { rate = "1mbit" })
      assert.equals("tbf", outside(l.nodes.h1.nsname, "h1-eth1").kind)
      assert.equals("noqueue", outside(l.nodes.h1.nsname, "h1-eth0").kind)
    end)

    it("shows in --trace as the tc commands that, run by hand, build the same qdiscs", function()
      local lines = {}
      trace.enable(function(line) lines[#lines + 1] = line end, { queries = false })
      local ok, err = pcall(function()
        local l = two_hosts({ rate = "10mbit", b = { rate = "1mbit", limit = 20 } })
        l:up()
        l:impair("h1", "h2", { rate = "3mbit" })
      end)
      trace.disable()
      assert(ok, err)
      local tcs = {}
      for _, line in ipairs(lines) do
        if line:match("^tc ") then tcs[#tcs + 1] = line end
      end
      assert.equals(4, #tcs)
      assert.truthy(tcs[1]:match("^tc %-n %S+h1 qdisc replace dev h1%-eth0 root tbf rate 10mbit burst 12500 limit 137500$"), tcs[1])
      assert.truthy(tcs[2]:match("^tc %-n %S+h2 qdisc replace dev h2%-eth0 root tbf rate 1mbit burst 1514 limit 30280$"), tcs[2])
      -- Replayed in fresh namespaces, each line builds what nslab built.
      local a, an = T.ns("ra")
      local b = T.ns("rb")
      a:link_add { name = "h1-eth0", kind = "veth", peer = { name = "h2-eth0", ns = b } }
      for i = 1, 2 do
        local line = tcs[i]:gsub("^tc %-n %S+", "tc -n " .. an):gsub("h2%-eth0", "h1-eth0")
        local out, rok = T.run(line)
        assert(rok, out)
        local want = assert(netns.qdisc_check(i == 1 and { rate = "10mbit" } or { rate = "1mbit", limit = 20 }, 1500))
        assert.same(want, a:qdisc_get("h1-eth0"))
      end
    end)

    it("traces netem settings in the order tc reads them, and the removal", function()
      local a, an = T.ns("tr")
      assert.equals(("tc -n %s qdisc replace dev lo root netem delay 20ms 2ms 25%% loss 1%% 10%% "
        .. "duplicate 0.5%% reorder 10%% gap 2 corrupt 0.1%% rate 10mbit"):format(an),
        trace.command("qdisc_set", a, "lo", { delay = "20ms", jitter = "2ms", delay_correlation = 25,
          loss = "1%", loss_correlation = "10%", duplicate = "0.5%", reorder = "10%", gap = 2,
          corrupt = "0.1%", rate = "10mbit" }))
      assert.equals(("tc -n %s qdisc del dev lo root"):format(an), trace.command("qdisc_del", a, "lo"))
      assert.equals(("tc -n %s qdisc show dev lo"):format(an), trace.command("qdiscs", a, "lo"))
    end)
  end)

  describe("cables", function()
    it("are cut and restored: both ends down, carrier gone on both sides, then back and running", function()
      local l = two_hosts()
      l:up()
      l:link_down("h1", "h2")
      assert.equals("DOWN", operstate(l.nodes.h1.nsname, "h1-eth0"))
      assert.equals("DOWN", operstate(l.nodes.h2.nsname, "h2-eth0"))
      assert.is_false(l.nodes.h1:link_get("h1-eth0").running)
      assert.is_false((l:reachable("h1", "h2", { record = false })))
      l:link_up("h2", "h1")
      assert.equals("UP", operstate(l.nodes.h1.nsname, "h1-eth0"))
      assert.equals("UP", operstate(l.nodes.h2.nsname, "h2-eth0"))
      assert.truthy(l:reachable("h1", "h2", { record = false, timeout = 3 }))
    end)

    it("work on switch ports too", function()
      local l = newlab()
      l:host("h1")
      l:host("h2")
      l:switch("s1")
      l:link("h1 10.7.0.1/24", "s1")
      l:link("h2 10.7.0.2/24", "s1")
      l:up()
      l:link_down("s1", "h1")
      assert.is_false(l.nodes.s1:link_get("s1-eth0").running)
      assert.is_false((l:reachable("h2", "h1", { record = false })))
      l:link_up("h1", "s1")
      assert.truthy(l:reachable("h2", "h1", { record = false, timeout = 3 }))
    end)

    it("need a lab that is up", function()
      local l = two_hosts()
      local ok, e = pcall(l.link_down, l, "h1", "h2")
      assert.is_false(ok)
      assert.truthy(tostring(e):find("link_down: lab '" .. l.name .. "' is not up", 1, true), tostring(e))
    end)
  end)

  describe("checks", function()
    it("report the measured loss and RTT, and hold them to bounds", function()
      local l = two_hosts()
      l:up()
      local ok, d = l:reachable("h1", "h2", { count = 5, interval = 0.01, record = false,
        rtt = { max = 1000 }, loss = { max = 0 } })
      assert.is_true(ok)
      assert.truthy(d.actual:find("(5/5 received, 0% loss, RTT min/avg/max ", 1, true), d.actual)
      assert.equals(0, d.loss)
      assert.truthy(d.rtt.avg > 0)
      ok, d = l:reachable("h1", "h2", { count = 2, interval = 0.01, record = false, rtt = { min = 500 } })
      assert.is_false(ok)
      assert.equals("reply from 10.7.0.2, average RTT at least 500 ms", d.expected)
      assert.has_error(function() l:reachable("h1", "h2", { rtt = { max = "1ms" } }) end)
      assert.has_error(function() l:reachable("h1", "h2", { loss = 5 }) end)
    end)
  end)

  describe("without netem", function()
    it("a lab that asks for a delay stops at up with the clear error and leaves nothing", function()
      if has_netem() then pending("this kernel has netem") end
      local l = two_hosts({ delay = "20ms" })
      local ok, e = pcall(l.up, l)
      assert.is_false(ok)
      assert.equals("EOPNOTSUPP", e.code)
      assert.truthy(tostring(e.message):find("up failed at step 'impairments'", 1, true), e.message)
      assert.truthy(tostring(e.message):find("the kernel has no netem qdisc (sch_netem)", 1, true), e.message)
      assert.falsy(T.run("ip netns list"):find(l.prefix, 1, true))
    end)

    it("l:impair with a delay raises it and leaves both ends as they were", function()
      if has_netem() then pending("this kernel has netem") end
      local l, link = two_hosts({ rate = "1mbit" })
      l:up()
      local ok, e = pcall(l.impair, l, "h1", "h2", { delay = "20ms" })
      assert.is_false(ok)
      assert.equals("EOPNOTSUPP", e.code)
      assert.equals("tbf", outside(l.nodes.h1.nsname, "h1-eth0").kind)
      assert.equals("tbf", outside(l.nodes.h2.nsname, "h2-eth0").kind)
      assert.same({ rate = "1mbit" }, link.impair)
    end)
  end)

  describe("with netem", function()
    it("a lab with 20 ms each way measures about 40 ms, changes at run time, and goes down leaving nothing", function()
      if not has_netem() then pending("the kernel has no netem qdisc (sch_netem)") end
      local l = two_hosts({ delay = "20ms", loss = "0%" })
      l:up()
      -- netem never delivers early: 40 ms is a floor (see qdisc_spec for the ceiling's reasoning).
      assert.truthy(l:reachable("h1", "h2", { count = 10, interval = 0.05, record = false,
        rtt = { min = 39.9, max = 50 } }))
      l:impair("h1", "h2", { delay = "50ms" })
      assert.truthy(l:reachable("h1", "h2", { count = 5, interval = 0.05, record = false, rtt = { min = 99.9 } }))
      l:impair("h1", "h2", false)
      assert.truthy(l:reachable("h1", "h2", { count = 5, interval = 0.05, record = false, rtt = { max = 20 } }))
      l:impair("h1", "h2", { loss = "100%" })
      assert.is_false((l:reachable("h1", "h2", { count = 3, interval = 0.05, record = false })))
      local prefix = l.prefix
      l:down()
      assert.falsy(T.run("ip netns list"):find(prefix, 1, true))
    end)
  end)
end)
