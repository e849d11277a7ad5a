-- http_names.lua: a web server, a client, and names from a hosts file.
--
-- What it teaches: ns2 (192.0.2.2) runs a web server (`python3 -m
-- http.server`); ns1 (192.0.2.1) fetches a page with curl. Before the
-- server runs the connection is refused; then the page arrives by address.
-- A name is only a lookup: ns1 has its own /etc/hosts (the file
-- /etc/netns/ns1/hosts, which `ip netns exec ns1` shows as /etc/hosts) that
-- says www.example.com is 192.0.2.2, so ns1 fetches the page by name, while
-- ns2, without that entry, cannot resolve it. The host's own /etc/hosts is
-- never touched.
-- Stands for the book's:
--   mkdir -p /etc/netns/ns1; echo '192.0.2.2 www.example.com' > /etc/netns/ns1/hosts
--   ip netns exec ns2 python3 -m http.server 80 --bind 192.0.2.2
--   ip netns exec ns1 curl http://192.0.2.2/
--   ip netns exec ns1 getent hosts www.example.com
--   ip netns exec ns1 curl http://www.example.com/
-- Run: nslab examples/http_names.lua   (needs python3, curl)
local lab = require "netns.lab"
local tools = require "netns.tools"

local bin = tools.need { "python3", "curl", "ss", "getent" }
local NAME = "www.example.com"
local hosts_before = tools.read("/etc/hosts")

-- No DNS server in this lab: without a nameserver line the resolver tries
-- 127.0.0.1 inside the namespace and fails at once; nothing leaves the lab.
local resolv = "# nslab http_names: no DNS here, names come from /etc/hosts\noptions timeout:1 attempts:1\n"
local l <close> = lab.new { name = "http-names" }
l:host("ns1", { etc = { hosts = "127.0.0.1\tlocalhost\n192.0.2.2\t" .. NAME .. "\n", ["resolv.conf"] = resolv } })
l:host("ns2", { etc = { ["resolv.conf"] = resolv } })
l:link("ns1:ns1-veth0 192.0.2.1/24 mac=00:00:5e:00:53:01", "ns2:ns2-veth0 192.0.2.2/24 mac=00:00:5e:00:53:02")
l:up()
local ns1, ns2 = l:node("ns1"), l:node("ns2")
local www <close> = tools.tempdir(ns2, "www")
local marker = "nslab http_names: hello from ns2"
tools.write(www.path .. "/index.html", "<html><body><h1>" .. marker .. "</h1></body></html>\n")

local function curl(node, url)
  -- --noproxy: a proxy set in the environment must not divert the request.
  return node:exec({ bin.curl, "-sS", "--noproxy", "*", "--max-time", "5", url }, { timeout = 15 })
end
local function status(r)
  return ("exit %s%s"):format(tostring(r.code), r.stderr ~= "" and (": " .. r.stderr:gsub("%s+$", "")) or "")
end

l:stage("no server yet")
local r = curl(ns1, "http://192.0.2.2/")
tools.expect("curl http://192.0.2.2/ from ns1: connection refused (curl exit 7)", r.code == 7, "exit 7", status(r))

l:stage("a web server in ns2")
local server = ns2:spawn({ bin.python3, "-u", "-m", "http.server", "80", "--bind", "192.0.2.2" }, { cwd = www.path })
assert(tools.wait_port(ns2, 80, { process = server, name = "python3 -m http.server", timeout = 60 }))
r = curl(ns1, "http://192.0.2.2/")
tools.expect("curl http://192.0.2.2/ from ns1 gets the page", r.code == 0 and r.stdout:find(marker, 1, true) ~= nil,
  marker, r.code == 0 and r.stdout:sub(1, 80) or status(r))

l:stage("names from ns1's own /etc/hosts")
r = ns1:exec({ bin.getent, "hosts", NAME }, { timeout = 10 })
tools.expect(("ns1 resolves %s to 192.0.2.2"):format(NAME), r.code == 0 and r.stdout:match("^192%.0%.2%.2%s") ~= nil,
  "192.0.2.2", r.code == 0 and r.stdout:gsub("%s+$", "") or status(r))
r = curl(ns1, "http://" .. NAME .. "/")
tools.expect(("curl http://%s/ from ns1 gets the page"):format(NAME),
  r.code == 0 and r.stdout:find(marker, 1, true) ~= nil, marker, r.code == 0 and r.stdout:sub(1, 80) or status(r))
r = ns2:exec({ bin.getent, "hosts", NAME }, { timeout = 10 })
tools.expect(("ns2 has no such entry: %s does not resolve there"):format(NAME), r.code ~= 0, "getent exit 2",
  status(r) .. (r.stdout ~= "" and (" " .. r.stdout:gsub("%s+$", "")) or ""))
r = curl(ns2, "http://" .. NAME .. "/")
tools.expect("curl by name from ns2 fails: could not resolve host (curl exit 6)", r.code == 6, "exit 6", status(r))

l:stage("what the server saw")
local _, log = server:read()
tools.expect("the server logged GETs from 192.0.2.1",
  log:find('192%.0%.2%.1 %- %- %[[^%]]*%] "GET / HTTP/1%.1" 200') ~= nil, '192.0.2.1 ... "GET / HTTP/1.1" 200',
  (log:gsub("%s+$", "")))
io.write(log)
server:close()
tools.expect("the host's /etc/hosts is unchanged", tools.read("/etc/hosts") == hosts_before, "same bytes",
  tools.read("/etc/hosts") == hosts_before and "same bytes" or "changed")
