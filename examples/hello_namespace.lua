-- hello_namespace.lua: a network namespace is a network stack of its own.
--
-- What it teaches: a new namespace holds only the loopback interface `lo`,
-- and even that is down; its route table is empty, so not even 127.0.0.1
-- answers until lo is brought up. Deleting the namespace removes it all.
-- Stands for the book's:
--   ip netns add ns1
--   ip netns list
--   ip netns exec ns1 ip link show          (only lo, state DOWN)
--   ip netns exec ns1 ip route show         (nothing)
--   ip netns exec ns1 ping -c 1 127.0.0.1   (connect: Network is unreachable)
--   ip netns exec ns1 ip link set lo up
--   ip netns delete ns1
-- It uses the netns module directly (a lab brings lo up by itself).
-- Run: nslab examples/hello_namespace.lua
local netns = require "netns"
local check = require "netns.check"
local tools = require "netns.tools"
local prefix = require("netns.run").options().prefix or ""
local name = prefix .. "ns1"

-- Deleted when this scope ends: normally, on an error, or on Ctrl-C.
local ns <close> = setmetatable({ handle = nil }, { __close = function(t)
  if t.handle and not t.handle.closed then t.handle:delete() end
end })

check.stage("a new namespace")
tools.expect(("%s does not exist yet"):format(name), not netns.exists(name), "absent",
  netns.exists(name) and "exists (choose another --prefix)" or "absent")
if netns.exists(name) then os.exit(1) end
ns.handle = netns.create(name)
local ns1 = ns.handle
local listed = false
for _, n in ipairs(netns.list()) do
  if n == name then listed = true end
end
tools.expect(("`ip netns list` shows %s"):format(name), listed, name, listed and name or "not listed")

local links = ns1:links()
local names = {}
for _, l in ipairs(links) do names[#names + 1] = l.name end
tools.expect("it has one interface: lo", #links == 1 and links[1].name == "lo", "lo",
  table.concat(names, ", "))
local lo = ns1:link_get("lo")
tools.expect("lo is down", lo and not lo.up, "down (flags without UP)",
  lo and (lo.up and "up" or "down") .. " (" .. table.concat(lo.flags, ",") .. ")")
local routes = ns1:routes()
tools.expect("the IPv4 route table is empty", #routes == 0, "no routes", #routes .. " routes")
local addrs = ns1:addrs()
tools.expect("lo has no address yet", #addrs == 0, "no addresses", #addrs .. " addresses")
check.unreachable(nil, ns1, "127.0.0.1", { how = "network unreachable" })

check.stage("bring lo up")
ns1:link_set("lo", { up = true })
check.expect_link_up(nil, ns1, "lo")
check.expect_addr(nil, ns1, "lo", "127.0.0.1/8")
check.expect_route(nil, ns1, "127.0.0.1", { dev = "lo", table = 255 })
check.reachable(nil, ns1, "127.0.0.1", { ttl = 64 })

check.stage("delete it")
ns1:delete()
tools.expect(("%s is gone from `ip netns list`"):format(name), not netns.exists(name), "absent",
  netns.exists(name) and "still there" or "absent")
