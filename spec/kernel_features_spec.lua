-- What a distribution kernel (Debian's linux-image-amd64) has and a minimal
-- one may lack, used through the kernel's own tools in test namespaces:
-- each test is pending where the kernel lacks the feature, and runs where it
-- is there (make test-vm boots such a kernel: tools/vm-run).
local T = require "spec.testlib"

-- Runs cmd; where it fails because the kernel lacks what `feature` names,
-- marks the test pending with the tool's own words.
local function or_pending(cmd, feature)
  local out, ok = T.run(cmd)
  if not ok then
    pending(("this kernel has no %s: %s: %s"):format(feature, cmd, (out:gsub("%s+$", ""))))
  end
  return out
end

describe("the kernel", function()
  after_each(T.cleanup)

  it("delays a namespace's packets by a netem qdisc's delay (ping RTT at least twice it on lo)", function()
    local ns, name = T.ns("netem")
    ns:link_set("lo", { up = true })
    or_pending(("tc -n %s qdisc add dev lo root netem delay 20ms"):format(name), "netem qdisc (sch_netem)")
    local q = T.ipj("-n", name, "link", "show", "lo")[1]
    assert.equal("netem", q.qdisc)
    local out = T.run(("tc -n %s qdisc show dev lo"):format(name))
    assert.matches("qdisc netem %S+: root .*delay 20ms", out)
    -- Request and reply both leave through lo: each waits 20 ms.
    local r = ns:ping("127.0.0.1", { count = 3, interval = 0.05, timeout = 2 })
    assert.equal(3, r.received)
    assert.is_true(r.rtt.min >= 40, ("min RTT %.3f ms under a 20 ms netem delay"):format(r.rtt.min))
    -- Deleting it leaves lo with its default again.
    T.run(("tc -n %s qdisc del dev lo root"):format(name))
    assert.equal("noqueue", T.ipj("-n", name, "link", "show", "lo")[1].qdisc)
  end)
end)
