-- dhcp.lua: a host gets its address and default route from a DHCP server.
--
-- What it teaches: `server` (192.0.2.254/24) runs dnsmasq as a DHCP server
-- with a pool of 192.0.2.100-192.0.2.200; `client` has an interface but no
-- address, so it reaches nothing. A DHCP client (dhclient) broadcasts for a
-- lease; the server offers an address from the pool and itself as the
-- router; the client configures both and reaches the server.
-- Stands for the book's:
--   ip link add s-veth0 type veth peer name c-veth0  (server / client)
--   ip netns exec server ip address add 192.0.2.254/24 dev s-veth0
--   ip netns exec server dnsmasq --dhcp-range=192.0.2.100,192.0.2.200,255.255.255.0 \
--       --interface=s-veth0 --port 0 --no-resolv --no-daemon
--   ip netns exec client dhclient -d c-veth0
--   ip netns exec client ip address show; ip netns exec client ip route show
-- Unlike the book's plain `dhclient`, it runs with its own configuration
-- step (-sf, a script written below) and lease/pid files in a temporary
-- directory, so the host's /etc/resolv.conf and /var/lib/dhcp stay
-- untouched; the scenario checks that resolv.conf is byte-for-byte the same.
-- The script sets the lease as Debian's dhclient-script does (broadcast
-- address, the lease time as the address's lifetime: `ip address show` says
-- "brd 192.0.2.255 scope global dynamic", as in the book). At the end the
-- client releases its lease (`dhclient -r`): the servers stop with the run,
-- so a lab left up with --keep is where the book's dhcp.sh leaves it, ready
-- for the book's dnsmasq and dhclient commands.
-- Run: nslab examples/dhcp.lua   (needs dnsmasq, dhclient)
local lab = require "netns.lab"
local tools = require "netns.tools"
local ipaddr = require "netns.ipaddr"

local bin = tools.need { "dnsmasq", "dhclient", "ip", "sh", "ss" }
local resolv_before = tools.read("/etc/resolv.conf")
local CLIENT_MAC = "00:00:5e:00:53:02"

local l <close> = lab.new { name = "dhcp" }
l:host("server")
l:host("client")
l:link("server:s-veth0 192.0.2.254/24 mac=00:00:5e:00:53:01", "client:c-veth0 mac=" .. CLIENT_MAC)
l:up()
local server, client = l:node("server"), l:node("client")
local tmp <close> = tools.tempdir(server, "dhcp")

-- The client's configuration step, in place of dhclient-script: the lease's
-- address (with its broadcast address and the lease time as lifetime, as
-- dhclient-script sets it) and router go on c-veth0 in the client's
-- namespace, and nothing else on the machine changes (no resolv.conf, no
-- hooks). Releasing or losing the lease flushes the address, and with it
-- the routes through it.
local script = tmp.path .. "/dhclient-script"
tools.write(script, ([[#!/bin/sh
ip=%s
echo "$reason $interface ${new_ip_address:-} ${new_subnet_mask:-} ${new_routers:-}" >> %s/events
lease() {
  $ip -4 addr "$1" "$new_ip_address/$new_subnet_mask" \
    ${new_broadcast_address:+broadcast "$new_broadcast_address"} \
    ${new_dhcp_lease_time:+valid_lft "$new_dhcp_lease_time" preferred_lft "$new_dhcp_lease_time"} \
    dev "$interface" label "$interface"
}
case "$reason" in
PREINIT) $ip link set dev "$interface" up ;;
BOUND|RENEW|REBIND|REBOOT)
  if [ -n "$old_ip_address" ] && [ "$old_ip_address" != "$new_ip_address" ]; then
    $ip -4 addr flush dev "$interface"
  fi
  if [ "$old_ip_address" = "$new_ip_address" ]; then lease change; else lease add; fi
  for r in $new_routers; do $ip route replace default via "$r" dev "$interface"; break; done ;;
EXPIRE|FAIL|RELEASE|STOP) $ip -4 addr flush dev "$interface" ;;
esac
exit 0
]]):format(tools.find("ip"), tmp.path), "755")

local function v4_addrs()
  local t = {}
  for _, a in ipairs(client:addrs { dev = "c-veth0", family = "inet" }) do t[#t + 1] = a end
  return t
end

l:stage("no address yet")
tools.expect("client has no IPv4 address on c-veth0", #v4_addrs() == 0, "none", #v4_addrs() .. " addresses")
l:unreachable("client", "192.0.2.254", { how = "network unreachable" })

l:stage("dnsmasq serves the pool, dhclient asks")
local dnsmasq = server:spawn({ bin.dnsmasq, "--no-daemon", "--conf-file=/dev/null", "--port=0", "--no-resolv",
  "--interface=s-veth0", "--bind-interfaces", "--dhcp-range=192.0.2.100,192.0.2.200,255.255.255.0",
  "--dhcp-option=option:router,192.0.2.254", "--dhcp-leasefile=" .. tmp.path .. "/dnsmasq.leases",
  "--pid-file=", "--log-dhcp" })
assert(tools.wait_port(server, 67, { proto = "udp", process = dnsmasq, name = "dnsmasq" }))
-- dhclient with our script and files, then the given options, on c-veth0.
local function dhclient_argv(...)
  local argv = { bin.dhclient, "-4", "-sf", script, "-lf", tmp.path .. "/dhclient.leases",
    "-pf", tmp.path .. "/dhclient.pid", "-cf", "/dev/null", ... }
  argv[#argv + 1] = "c-veth0"
  return argv
end
local dhclient = client:spawn(dhclient_argv("-d", "-v", "-1"))
-- The script sets the address, then the route: wait for both.
local function has_default()
  for _, r in ipairs(client.ns:routes { family = "inet" }) do  -- client.routes is the declared list
    if r.dst == "default" then return true end
  end
end
local leased = tools.wait(function()
  local a = v4_addrs()[1]
  if a and has_default() then return a end
  if not dhclient:running() then return false end
end, 20) or v4_addrs()[1]
local _, dlog = dhclient:read()
local _, slog = dnsmasq:read()
if not leased then io.stderr:write("dhclient:\n", dlog, "\ndnsmasq:\n", slog, "\n") end

l:stage("the lease")
local pool_lo, pool_hi = ipaddr.parse("192.0.2.100"), ipaddr.parse("192.0.2.200")
local function in_pool(s)
  local a = ipaddr.parse(s)
  return a and ipaddr.key(a) >= ipaddr.key(pool_lo) and ipaddr.key(a) <= ipaddr.key(pool_hi)
end
tools.expect("client got an address from the pool 192.0.2.100-200, /24",
  leased and in_pool(leased.address) and leased.prefixlen == 24, "192.0.2.100-200/24",
  leased and leased.cidr or ("no address; dhclient said: " .. dlog:gsub("%s+$", "")))
local function has(list, x)
  for _, v in ipairs(list or {}) do if v == x then return true end end
  return false
end
tools.expect("the lease is set as dhclient-script sets it: broadcast 192.0.2.255, dynamic (the lease time as lifetime)",
  leased and leased.broadcast == "192.0.2.255" and not has(leased.flags, "permanent"), "brd 192.0.2.255 dynamic",
  leased and ("brd %s %s"):format(tostring(leased.broadcast), has(leased.flags, "permanent") and "forever" or "dynamic")
  or "no address")
io.write("ip -4 address show dev c-veth0 in client (the book's \"scope global dynamic\"):\n",
  client:exec({ bin.ip, "-4", "address", "show", "dev", "c-veth0" }).stdout)
l:expect_route("client", "default", { via = "192.0.2.254", dev = "c-veth0" })
l:reachable("client", "192.0.2.254", { ttl = 64 })
local leases = tools.read(tmp.path .. "/dnsmasq.leases") or ""
tools.expect("dnsmasq recorded the lease for the client's MAC",
  leased and leases:find(CLIENT_MAC .. " " .. leased.address, 1, true) ~= nil,
  CLIENT_MAC .. " " .. (leased and leased.address or "?"), leases:gsub("%s+$", ""))
tools.expect("dnsmasq logged the DHCPACK", slog:find("DHCPACK(s-veth0)", 1, true) ~= nil, "DHCPACK(s-veth0) ...",
  slog:match("[^\n]*DHCPACK[^\n]*") or slog:sub(-200))
local events = tools.read(tmp.path .. "/events") or ""
tools.expect("dhclient ran our configuration script with reason BOUND", events:find("BOUND c-veth0", 1, true) ~= nil,
  "BOUND c-veth0 ...", events:gsub("%s+$", ""))

l:stage("the client releases its lease")
-- dhclient -r stops the running dhclient (its pid file), sends DHCPRELEASE
-- and runs the script with RELEASE, which flushes the address.
local release = client:exec(dhclient_argv("-r", "-v"), { timeout = 10 })
tools.expect("dhclient -r exits 0", release.code == 0, "exit 0",
  ("exit %s %s"):format(tostring(release.code), release.stderr:gsub("%s+$", "")))
tools.expect("the client has no IPv4 address on c-veth0 any more", #v4_addrs() == 0, "none", #v4_addrs() .. " addresses")
l:unreachable("client", "192.0.2.254", { how = "network unreachable" })
local released = tools.wait(function()
  slog = slog .. select(2, dnsmasq:read())
  return slog:find("DHCPRELEASE(s-veth0)", 1, true) ~= nil
end, 5)
tools.expect("dnsmasq logged the DHCPRELEASE", released, "DHCPRELEASE(s-veth0) ...", slog:sub(-200))
events = tools.read(tmp.path .. "/events") or ""
io.write("dhclient's script saw:\n", events)
dhclient:close()
dnsmasq:close()
tools.expect("the host's /etc/resolv.conf is unchanged (byte for byte)",
  tools.read("/etc/resolv.conf") == resolv_before, "same bytes",
  tools.read("/etc/resolv.conf") == resolv_before and "same bytes" or "changed")
