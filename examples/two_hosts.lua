-- two_hosts.lua: two namespaces on one veth pair, with the netns module alone.
--
-- What it teaches: a namespace is a network stack of its own; a veth pair is
-- a cable between two of them; an interface needs an address and to be up
-- before it carries traffic. Stands for the book's:
--   ip netns add ns1; ip netns add ns2
--   ip link add ns1-veth0 type veth peer name ns2-veth0
--   ip link set ns1-veth0 netns ns1; ip link set ns2-veth0 netns ns2
--   ip netns exec ns1 ip address add 192.0.2.1/24 dev ns1-veth0
--   ip netns exec ns1 ip link set ns1-veth0 up   (and the same in ns2)
--   ip netns exec ns1 ping -c 3 192.0.2.2
-- Everything is checked through the module's own getters, then removed.
-- `nslab --prefix P examples/two_hosts.lua` prefixes the namespace names.
local netns = require "netns"
local prefix = require("netns.run").options().prefix or ""

-- Deletes what was made, in reverse, when this scope ends: normally, on an
-- error, or on Ctrl-C (nslab turns signals into errors that unwind here).
local made <close> = setmetatable({}, { __close = function(list)
  for i = #list, 1, -1 do
    if not list[i].closed then list[i]:delete() end
  end
end })
local function namespace(name)
  local ns = netns.create(prefix .. name)
  made[#made + 1] = ns
  return ns
end

local ns1, ns2 = namespace("ns1"), namespace("ns2")

-- Each end is created directly in its own namespace.
ns1:link_add{ name = "ns1-veth0", kind = "veth", mac = "00:00:5e:00:53:01",
              peer = { name = "ns2-veth0", ns = ns2, mac = "00:00:5e:00:53:02" } }
ns1:addr_add("ns1-veth0", "192.0.2.1/24")
ns2:addr_add("ns2-veth0", "192.0.2.2/24")
for _, ns in ipairs { ns1, ns2 } do
  ns:link_set("lo", { up = true })
end
ns1:link_set("ns1-veth0", { up = true })
ns2:link_set("ns2-veth0", { up = true })

local failures = 0
local function check(ok, what)
  print(("%s  %s"):format(ok and "ok  " or "FAIL", what))
  if not ok then failures = failures + 1 end
end

for _, side in ipairs { { ns1, "ns1-veth0", "192.0.2.1" }, { ns2, "ns2-veth0", "192.0.2.2" } } do
  local ns, dev, want = side[1], side[2], side[3]
  local link = ns:link_get(dev)
  check(link and link.up, ("%s: %s is up (mtu %d, mac %s)"):format(ns.name, dev, link.mtu, link.mac))
  local found
  for _, a in ipairs(ns:addrs{ dev = dev, family = "inet" }) do
    if a.address == want then found = a end
  end
  check(found ~= nil, ("%s: %s has %s/24 (broadcast %s)"):format(ns.name, dev, want,
        found and found.broadcast or "-"))
end

-- A veth reports carrier a moment after it is up; an ARP request sent before
-- is lost and repeated after a second, so the replies get 3 s to come.
local r = ns1:ping("192.0.2.2", { count = 3, interval = 0.2, timeout = 3 })
check(r.received == 3, ("ns1 -> 192.0.2.2: %d/%d replies, ttl %s, rtt avg %.3f ms"):format(
      r.received, r.transmitted, r.replies[1] and r.replies[1].ttl or "-", r.rtt and r.rtt.avg or 0))
for _, n in ipairs(ns1:neighs{ dev = "ns1-veth0" }) do
  check(n.mac == "00:00:5e:00:53:02", ("ns1 learned %s is at %s (%s)"):format(n.address, n.mac, n.state))
end

print(failures == 0 and "two_hosts: all checks passed" or ("two_hosts: %d checks failed"):format(failures))
if failures > 0 then os.exit(1, true) end
