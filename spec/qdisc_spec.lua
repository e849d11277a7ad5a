local netns = require "netns"
local T = require "spec.testlib"
local trace = require "netns.trace"
local json = require "dkjson"

-- The root qdisc of dev as `tc -j [-s] qdisc show` reports it (kind, handle,
-- options; with stats, drops and the rest).
local function outside(nsname, dev, stats)
  local out, ok = T.run(("tc -j %s -n %s qdisc show dev %s"):format(stats and "-s" or "", nsname, dev))
  assert(ok, out)
  for _, q in ipairs(json.decode(out) or {}) do
    if q.root then return q end
  end
end

-- Two namespaces joined by a veth with addresses: a:va 10.9.0.1 - b:vb 10.9.0.2.
local function pair()
  local a, an = T.ns("qa")
  local b, bn = T.ns("qb")
  a:link_add { name = "va", kind = "veth", up = true, peer = { name = "vb", ns = b, up = true } }
  a:addr_add("va", "10.9.0.1/24")
  b:addr_add("vb", "10.9.0.2/24")
  assert.truthy(T.wait_until(function()
    local la, lb = a:link_get("va"), b:link_get("vb")
    return la.running and lb.running
  end, 5), "the veth never got carrier")
  return a, b, an, bn
end

local function msg(e) return type(e) == "table" and e.message or tostring(e) end

-- Sets netem settings, or marks the test pending where the kernel has no netem
-- (this machine's kernel; Debian's has it as the module sch_netem).
local function netem(ns, dev, opts)
  local ok, e = pcall(ns.qdisc_set, ns, dev, opts)
  if ok then return e end
  if type(e) ~= "table" or e.code ~= "EOPNOTSUPP" then error(e, 0) end
  local out, mok = T.run("modprobe sch_netem")
  if not mok then
    pending("the kernel has no netem qdisc and `modprobe sch_netem` failed: " .. (out:gsub("%s+$", "")))
  end
  return ns:qdisc_set(dev, opts)
end

describe("netns qdiscs", function()
  after_each(T.cleanup)

  describe("arguments", function()
    local bad = {
      { { delay = "20" }, "field 'delay': '20': no unit" },
      { { delay = 20 }, "field 'delay': a time with its unit expected" },
      { { delay = "-1ms" }, "field 'delay': '-1ms': not a time" },
      { { delay = "2min" }, "field 'delay': '2min': unknown unit (us, ms or s)" },
      { { delay = "101s" }, "field 'delay': '101s': more than 100s" },
      { { delay = "0.1us" }, "below one microsecond" },
      { { jitter = "2ms" }, "field 'jitter': needs a delay" },
      { { delay = "10ms", delay_correlation = "25%" }, "field 'delay_correlation': needs a jitter above 0" },
      { { loss = "150%" }, "field 'loss': '150%': more than 100%" },
      { { loss = 101 }, "field 'loss': 101.0 out of range (0 to 100)" },
      { { loss = -1 }, "field 'loss': -1.0 out of range" },
      { { loss = "ten%" }, "field 'loss': 'ten%': not a percentage" },
      { { loss = "10" }, "field 'loss': '10': not a percentage" },
      { { loss = true }, "field 'loss': a percentage expected" },
      { { loss_correlation = "25%" }, "field 'loss_correlation': needs a loss above 0" },
      { { loss = "0%", loss_correlation = "25%" }, "field 'loss_correlation': needs a loss above 0" },
      { { duplicate_correlation = "5%" }, "field 'duplicate_correlation': needs a duplicate above 0" },
      { { reorder = "25%" }, "field 'reorder': needs a delay above 0" },
      { { delay = "10ms", gap = 5 }, "field 'gap': needs a reorder above 0" },
      { { corrupt_correlation = "1%" }, "field 'corrupt_correlation': needs a corrupt above 0" },
      { { rate = "10mbps" }, "field 'rate': '10mbps': tc reads 'bps', 'kbps', 'mbps' as BYTES per second" },
      { { rate = "0bit" }, "field 'rate': '0bit': must be more than 0" },
      { { rate = "1kbit" }, "field 'rate': '1kbit': below 8kbit" },
      { { rate = "20gbit" }, "field 'rate': '20gbit': above 17gbit" },
      { { rate = 1000000 }, "field 'rate': a rate with its unit expected" },
      { { rate = "fast" }, "field 'rate': 'fast': not a rate" },
      { { limit = 0 }, "field 'limit': 0 out of range (1 to 1000000)" },
      { { limit = 1.5 }, "field 'limit': number has no integer representation" },
      { { burst = 10000 }, "field 'burst': only with a rate alone" },
      { { rate = "1mbit", delay = "1ms", burst = 10000 }, "field 'burst': only with a rate alone" },
      { { dealy = "1ms" }, "unknown option 'dealy' (expected one of: limit, delay, jitter" },
      { {}, "nothing to set" },
    }
    for _, case in ipairs(bad) do
      local opts, want = case[1], case[2]
      local shown = {}
      for k, v in pairs(opts) do shown[#shown + 1] = ("%s=%s"):format(k, tostring(v)) end
      table.sort(shown)
      it(("refuses {%s} before anything reaches the kernel: %s"):format(table.concat(shown, ", "), want), function()
        local a, _, an = pair()
        local ok, e = pcall(function() a:qdisc_set("va", opts) end)
        assert.is_false(ok)
        assert.equals("string", type(e))
        assert.truthy(e:find("bad argument #2 to 'qdisc_set'", 1, true), e)
        assert.truthy(e:find(want, 1, true), e)
        assert.equals("noqueue", outside(an, "va").kind)
      end)
    end

    it("names a bad interface name and a closed handle", function()
      local a = T.ns("qa")
      assert.has_error(function() a:qdisc_set("a-name-too-long-x", { rate = "1mbit" }) end,
        "bad argument #1 to 'qdisc_set' (interface name 'a-name-too-long-x' too long (at most 15 bytes))")
      assert.has_error(function() a:qdisc_get(42) end)
      a:close()
      assert.has_error(function() a:qdisc_get("lo") end)
    end)

    it("raises ENODEV with the operation for a link that is not there", function()
      local a = T.ns("qa")
      local ok, e = pcall(a.qdisc_set, a, "nope0", { rate = "1mbit" })
      assert.is_false(ok)
      assert.equals("ENODEV", e.code)
      assert.truthy(msg(e):find("replace root qdisc tbf on nope0 in ", 1, true), msg(e))
      assert.equals("ENODEV", T.errcode(a.qdisc_get, a, "nope0"))
      assert.equals("ENODEV", T.errcode(a.qdisc_del, a, "nope0"))
      assert.equals("ENODEV", T.errcode(a.qdiscs, a, "nope0"))
    end)
  end)

  describe("a rate alone (tbf, which every kernel with traffic control has)", function()
    it("is installed as the root tbf that tc shows, and read back with the same fields and units", function()
      local a, _, an = pair()
      local set = a:qdisc_set("va", { rate = "10mbit" })
      assert.same({ kind = "tbf", rate = "10mbit", burst = 12500, limit_bytes = 137500, limit = 90 }, set)
      local q = outside(an, "va")
      assert.equals("tbf", q.kind)
      assert.equals(1250000, q.options.rate)      -- bytes per second
      assert.equals(12500, q.options.burst)
      assert.same(set, a:qdisc_get("va"))
    end)

    it("takes rates in any unit case and keeps them in bytes per second, as the kernel does", function()
      local a, _, an = pair()
      assert.equals("1500kbit", a:qdisc_set("va", { rate = "1.5Mbit" }).rate)
      assert.equals(187500, outside(an, "va").options.rate)
      assert.equals("1gbit", a:qdisc_set("va", { rate = "1GBIT" }).rate)
    end)

    it("sizes the bucket at one full frame at least and the queue from limit in full frames", function()
      local a, _, an = pair()
      local q = a:qdisc_set("va", { rate = "1mbit", limit = 10 })
      assert.equals(1514, q.burst)              -- 10 ms at 1mbit is 1250 bytes, less than a frame
      assert.equals(15140, q.limit_bytes)       -- 10 x (1500 + 14)
      assert.equals(10, q.limit)
      -- tc shows the queue as the time it takes to drain: (limit - burst) / rate.
      assert.equals(math.floor((15140 - 1514) / 125000 * 1e6), outside(an, "va").options.lat)
      q = a:qdisc_set("va", { rate = "1mbit", burst = 4000 })
      assert.equals(4000, q.burst)
      assert.equals(4000, outside(an, "va").options.burst)
    end)

    it("is changed in place by a second set (the same qdisc, new settings)", function()
      local a, _, an = pair()
      a:qdisc_set("va", { rate = "10mbit" })
      local h = outside(an, "va").handle
      a:qdisc_set("va", { rate = "2mbit" })
      assert.equals(h, outside(an, "va").handle)
      assert.equals(250000, outside(an, "va").options.rate)
    end)

    it("limits what passes: at 8kbit most of a burst of large pings is dropped, without it none", function()
      -- 8kbit is 1000 bytes a second; the bucket holds one 1042-byte frame and
      -- the queue (100 ms at the rate plus the bucket) one more, so of 20
      -- pings sent 10 ms apart at most a few get through and the rest are
      -- dropped; this is a count of packets, not a timing.
      local a, b, an = pair()
      local before = a:ping("10.9.0.2", { count = 20, interval = 0.01, size = 1000, timeout = 3 })
      assert.equals(20, before.received)
      a:qdisc_set("va", { rate = "8kbit" })
      local r = a:ping("10.9.0.2", { count = 20, interval = 0.01, size = 1000, timeout = 3 })
      assert.truthy(r.received >= 1 and r.received <= 5, ("received %d of 20"):format(r.received))
      assert.truthy(outside(an, "va", true).drops >= 10)
      assert.is_true(a:qdisc_del("va"))
      local after = a:ping("10.9.0.2", { count = 20, interval = 0.01, size = 1000, timeout = 3 })
      assert.equals(20, after.received)
      assert.is_nil(b:qdisc_get("vb"))
    end)
  end)

  describe("listing and removing", function()
    it("lists every qdisc with its link, handle and parent, as tc qdisc show", function()
      local a, _, an = pair()
      a:qdisc_set("va", { rate = "1mbit" })
      local list = a:qdiscs()
      local found
      for _, q in ipairs(list) do
        if q.dev == "va" then found = q end
      end
      assert.truthy(found)
      assert.equals("tbf", found.kind)
      assert.equals("root", found.parent)
      assert.equals(outside(an, "va").handle, found.handle)
      assert.equals("1mbit", found.rate)
      assert.same({ found }, a:qdiscs("va"))
    end)

    it("removes the root qdisc (the default comes back) and says false when there was none", function()
      local a, _, an = pair()
      assert.is_nil(a:qdisc_get("va"))
      assert.is_false(a:qdisc_del("va"))
      a:qdisc_set("va", { rate = "1mbit" })
      assert.is_true(a:qdisc_del("va"))
      assert.equals("noqueue", outside(an, "va").kind)
      assert.is_nil(a:qdisc_get("va"))
      assert.is_false(a:qdisc_del("va"))
    end)

    it("keeps fds and memory flat over 200 set/get/del cycles", function()
      local a = pair()
      local function cycle()
        a:qdisc_set("va", { rate = "1mbit" })
        a:qdisc_get("va")
        a:qdiscs()
        a:qdisc_del("va")
      end
      for _ = 1, 20 do cycle() end
      collectgarbage()
      local fds, mem = T.fds(), collectgarbage("count")
      for _ = 1, 200 do cycle() end
      collectgarbage()
      assert.equals(fds, T.fds())
      assert.truthy(collectgarbage("count") < mem + 64)
    end)
  end)

  describe("netns.qdisc_check", function()
    it("says what qdisc_set would install, without a link, or why not and which field", function()
      assert.same({ kind = "netem", delay = "20ms", loss = "1%" }, netns.qdisc_check { delay = "20ms", loss = 1 })
      assert.same({ kind = "tbf", rate = "10mbit" }, netns.qdisc_check { rate = "10mbit" })
      assert.same({ kind = "tbf", rate = "10mbit", burst = 12500, limit_bytes = 137500, limit = 90 },
        netns.qdisc_check({ rate = "10mbit" }, 1500))
      -- A limit goes with the rest: tbf's with a rate alone, netem's with any netem setting.
      assert.same({ kind = "tbf", rate = "10mbit", limit = 5 }, netns.qdisc_check { rate = "10mbit", limit = 5 })
      assert.same({ kind = "netem", rate = "10mbit", limit = 5, delay = "0us" },
        netns.qdisc_check { rate = "10mbit", limit = 5, delay = "0ms" })
      assert.same({ kind = "netem", limit = 5 }, netns.qdisc_check { limit = 5 })
      local ok, why, field = netns.qdisc_check { loss = "150%" }
      assert.is_nil(ok)
      assert.equals("'150%': more than 100%", why)
      assert.equals("loss", field)
      ok, why, field = netns.qdisc_check { nope = 1 }
      assert.is_nil(ok)
      assert.truthy(why:find("unknown option 'nope'", 1, true))
      assert.is_nil(field)
    end)
  end)

  describe("a kernel without netem", function()
    it("says so clearly, with EOPNOTSUPP, and leaves the link as it was", function()
      local a, _, an = pair()
      a:qdisc_set("va", { rate = "1mbit" })
      local before = outside(an, "va")
      local ok, e = pcall(a.qdisc_set, a, "va", { delay = "20ms" })
      if ok then pending("this kernel has netem") end
      assert.equals("EOPNOTSUPP", e.code)
      assert.truthy(msg(e):find("the kernel has no netem qdisc (sch_netem): qdisc netem on va in "
        .. an .. ": Operation not supported (EOPNOTSUPP)", 1, true), msg(e))
      assert.same(before, outside(an, "va"))
    end)
  end)

  describe("netem (where the kernel has sch_netem)", function()
    it("installs exactly the settings given and reads them back the same, as tc would", function()
      local a, b, an = pair()
      local want = { kind = "netem", limit = 1000, delay = "20ms", jitter = "2ms", delay_correlation = "25%",
        loss = "1%", loss_correlation = "10%", duplicate = "0.5%", reorder = "10%", gap = 1,
        corrupt = "0.1%", rate = "10mbit" }
      local opts = {}
      for k, v in pairs(want) do if k ~= "kind" and k ~= "limit" and k ~= "gap" then opts[k] = v end end
      netem(a, "va", opts)
      assert.same(want, a:qdisc_get("va"))
      local q = outside(an, "va")
      assert.equals("netem", q.kind)
      -- The line --trace prints for it, run by hand, builds the same qdisc.
      local out, ok = T.run(trace.command("qdisc_set", b, "vb", opts))
      assert(ok, out)
      assert.same(want, b:qdisc_get("vb"))
      -- A second set is the whole state: what it does not name is gone.
      a:qdisc_set("va", { loss = "5%" })
      assert.same({ kind = "netem", limit = 1000, loss = "5%" }, a:qdisc_get("va"))
    end)

    it("20 ms each way gives an RTT of 40 ms", function()
      -- netem never delivers a packet early, so 40 ms is a hard lower bound
      -- (less the kernel's 64 ns ticks); above it there is the veth's own
      -- round trip (0.05 ms here, about 1 ms under software emulation) and
      -- timer slack: 10 ms is ten times the worst base RTT we have seen.
      local a, b = pair()
      netem(a, "va", { delay = "20ms" })
      netem(b, "vb", { delay = "20ms" })
      local r = a:ping("10.9.0.2", { count = 20, interval = 0.05, timeout = 2 })
      assert.equals(20, r.received)
      assert.truthy(r.rtt.min >= 39.9, ("min RTT %.3f ms"):format(r.rtt.min))
      assert.truthy(r.rtt.avg <= 50, ("average RTT %.3f ms"):format(r.rtt.avg))
    end)

    it("10% loss over 1000 pings loses between 52 and 148 (five standard deviations)", function()
      -- Loss on one direction only: each echo request is dropped with p = 0.1,
      -- so the count lost is binomial(1000, 0.1): mean 100, sd 9.5; outside
      -- 100 +- 48 happens less than once in a million runs.
      -- The qdisc's own drop counter tells netem's losses from any other (it
      -- also counts the ARP and IPv6 packets it dropped: at least the pings).
      local a, _, an = pair()
      netem(a, "va", { loss = "10%" })
      local r = a:ping("10.9.0.2", { count = 1000, interval = 0.005, timeout = 2 })
      local lost, drops = 1000 - r.received, outside(an, "va", true).drops
      local why = ("lost %d of 1000, netem dropped %d"):format(lost, drops)
      assert.truthy(lost >= 52 and lost <= 148, why)
      assert.truthy(lost <= drops, why)
    end)

    it("makes duplicates and reordering visible", function()
      local a = pair()
      netem(a, "va", { duplicate = "100%" })
      local r = a:ping("10.9.0.2", { count = 10, interval = 0.02, timeout = 2 })
      assert.equals(10, r.received)
      assert.equals(10, r.duplicates)
      -- Reordered packets are the ones sent at once, ahead of those delayed.
      netem(a, "va", { delay = "50ms", reorder = "50%" })
      r = a:ping("10.9.0.2", { count = 50, interval = 0.01, timeout = 2 })
      local fast, slow, back = 0, 0, 0
      for i, rep in ipairs(r.replies) do
        if rep.rtt < 25 then fast = fast + 1 else slow = slow + 1 end
        if i > 1 and rep.seq < r.replies[i - 1].seq then back = back + 1 end
      end
      assert.truthy(fast >= 5 and slow >= 5, ("%d fast, %d slow"):format(fast, slow))
      assert.truthy(back >= 1, "no reply came back before an earlier one")
    end)

    it("takes a change at run time, and removal restores the perfect link", function()
      local a = pair()
      netem(a, "va", { delay = "20ms" })
      assert.truthy(a:ping("10.9.0.2", { count = 3, interval = 0.05 }).rtt.min >= 19.9)
      a:qdisc_set("va", { delay = "100ms" })
      assert.truthy(a:ping("10.9.0.2", { count = 3, interval = 0.05 }).rtt.min >= 99.9)
      assert.is_true(a:qdisc_del("va"))
      assert.truthy(a:ping("10.9.0.2", { count = 3, interval = 0.05 }).rtt.max < 20)
    end)
  end)
end)
