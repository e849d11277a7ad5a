-- The lab tools/signal-torture (and spec/teardown_spec.lua) signal and kill:
-- three routers in a chain between two hosts, an /etc/netns file, and a
-- background process in a host, so that a run owns namespaces, links,
-- addresses, routes, sysctls, files and a process. It prints "starting"
-- before up(), "up" after, "down-start" before down() and "down" after.
-- arg[1]: a number that names the background `sleep` (found in /proc by the
-- tool); arg[2] = "hold": after up, wait instead of going down (a live
-- lab that clean must leave alone, until it is killed).
local lab = require "netns.lab"
local netns = require "netns"

local function say(s) io.stdout:write(s, "\n"); io.stdout:flush() end

local l <close> = lab.new { name = "torture" }
l:host("h1", { default = "r1", etc = { hosts = "192.0.2.1 h1\n" } })
l:host("h2", { default = "r3" })
l:router("r1", { routes = { ["198.51.100.0/24"] = "r2", ["203.0.113.0/24"] = "r2" } })
l:router("r2", { routes = { ["192.0.2.0/24"] = "r1", ["198.51.100.0/24"] = "r3" } })
l:router("r3", { routes = { ["192.0.2.0/24"] = "r2", ["10.9.1.0/24"] = "r2" } })
l:link("h1 192.0.2.1/24", "r1 192.0.2.254/24")
l:link("r1 10.9.1.1/24", "r2 10.9.1.2/24")
l:link("r2 203.0.113.1/24", "r3 203.0.113.2/24")
l:link("r3 198.51.100.254/24", "h2 198.51.100.1/24")
say("starting")
l:up()
l:node("h1"):spawn({ "sleep", arg[1] or "7777" })
say("up")
if arg[2] == "hold" then netns.sleep(86400) end
say("down-start")
l:down()
say("down")
