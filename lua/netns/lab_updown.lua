-- netns.lab_updown: turns a validated lab description into a live lab, and
-- back into nothing.
--
-- up: refuse names that exist (never reuse or delete what is not ours),
-- write the journal's plan, then create in dependency order: namespaces (each
-- marked on its lo before its name appears), bridges, veth links, their
-- impairments (a root qdisc on each end that has some), addresses (IPv6
-- with nodad), routes, sysctls, /etc/netns files. Each created object is
-- remembered in lab.made; if any step fails, teardown removes exactly those
-- and the error names the step and the declaration.
--
-- teardown: kill the lab's processes, remove files, then delete namespaces in
-- reverse order. A namespace's name disappears at once but the kernel
-- destroys it later, once nothing holds it: netns.release closes our handles
-- and returns when the kernel has destroyed every one (it watches for
-- RTM_DELNSID), so the same lab can come up again at once. The journal is
-- removed after a clean teardown.
local netns = require "netns"
local journal = require "netns.journal"
local V = require "netns.topo_validate"

local M = {}
M.labs = {} -- labs not yet down, in creation order

-- Where up() is, for its error message (cur.step, .where, .what), and how
-- long each step took: cur.times, {step=, seconds=} in the order the steps
-- came, which up() leaves in l.timings (big labs: where the time goes).
local function step(cur, name, where, what)
  if name ~= cur.step then
    local t = netns.now()
    if cur.step then
      local last = cur.times[#cur.times]
      last.seconds = last.seconds + (t - cur.t)
    end
    cur.times[#cur.times + 1], cur.t = { step = name, seconds = 0 }, t
  end
  cur.step, cur.where, cur.what = name, where, what
end

-- up() polls link_state (link_get's request without statistics, read by
-- hand: about half the cost) until links are ready; the poll is ours, not an
-- operation of the scenario: taken from the methods table, which tracing
-- (netns.hook_methods) leaves as it is, it is never traced.
local link_state = netns.Namespace.link_state

local LabErrorMT = { __name = "netns.LabError", __tostring = function(e) return e.message end }
M.LabErrorMT = LabErrorMT


-- What failed, for a message of our own that gives the script's position:
-- a netns.Error's operation, reason and code (its position is where the
-- library called the core, not the script's); any other error as it is.
function M.reason(e)
  local mt = getmetatable(e)
  if type(mt) == "table" and mt.__name == "netns.Error" then
    return ("%s: %s (%s)"):format(e.op, e.reason, e.code)
  end
  return tostring(e)
end

-- The nodes that own a namespace (a switch placed `at` a node has none).
function M.ns_nodes(self)
  local t = {}
  for _, node in ipairs(self.order) do
    if not node.at then t[#t + 1] = node end
  end
  return t
end

local function register(self)
  for _, l in ipairs(M.labs) do
    if l == self then return end
  end
  M.labs[#M.labs + 1] = self
end

local function unregister(self)
  for i, l in ipairs(M.labs) do
    if l == self then table.remove(M.labs, i); return end
  end
end

local function etcdir(node) return "/etc/netns/" .. node.nsname end

local function apply_route(node, r)
  local t = { dst = r.dst, via = r.via, dev = r.dev, metric = r.metric, table = r.table,
    type = r.type, src = r.src, scope = r.scope }
  if not r.via then t.family = r.family end
  node.ns:route_add(t)
end
M.apply_route = apply_route

-- A veth reports carrier a moment after both ends are up, and until then its
-- first packets are lost; IPv6 starts on an interface only once it has
-- carrier (its link-local address appears then), and until then neighbour
-- solicitations go nowhere. So up() returns only once every end that should
-- be up is running and, where it has IPv6 addresses, has its link-local one.
local addrs = netns.Namespace.addrs

local function has_ipv6(e)
  for _, a in ipairs(e.parsed or {}) do
    if a.family == "inet6" then return true end
  end
  return false
end

-- Also keeps the end's MAC as the kernel gave it (e.seen_mac): teaching the
-- switches needs it, and a read of its own would be another request per end.
local function ready(e)
  local l = link_state(e.node.ns, e.name)
  if not (l and l.running) then return false end
  e.seen_mac = l.mac
  if not has_ipv6(e) then return true end
  for _, a in ipairs(addrs(e.node.ns, { dev = e.name, family = "inet6" })) do
    if a.scope == "link" and not a.tentative then return true end
  end
  return false
end

-- The kernel sets operstate for a whole batch of links at once (linkwatch),
-- in the order they changed, so the end made last is about the last to be
-- running: each round checks the pending ends from the last made backwards
-- and stops at the first that is not ready yet. A round of a 10,000-host lab
-- then costs one request, not 20,000, while it waits.
local function wait_running(self, cur, deadline)
  local pending = {}
  for _, link in ipairs(self.links) do
    for _, e in ipairs { link.a, link.b } do
      if e.up then pending[#pending + 1] = e end
    end
  end
  local t0 = netns.now()
  while #pending > 0 do
    while #pending > 0 and ready(pending[#pending]) do pending[#pending] = nil end
    if #pending == 0 then return end
    if netns.now() - t0 > deadline then
      local still = {}
      for _, e in ipairs(pending) do
        if not ready(e) then still[#still + 1] = e end
      end
      if #still == 0 then return end
      local e = still[1]
      step(cur, "carrier", e.where, ("wait for %s:%s to be running"):format(e.node.name, e.name))
      error(("%d interfaces still have no carrier after %gs"):format(#still, deadline), 0)
    end
    netns.sleep(0.002)
  end
end

-- Waits until every end in `ends` is ready (running = true) or has lost its
-- carrier (running = false): l:link_up and l:link_down, two ends at a time.
-- Returns nil, or the ends still waited for at the deadline.
function M.wait_carrier(ends, running, deadline)
  local pending = ends
  local t0 = netns.now()
  while #pending > 0 do
    local still = {}
    for _, e in ipairs(pending) do
      local l = not running and link_state(e.node.ns, e.name)
      if running and not ready(e) or not running and l and l.running then still[#still + 1] = e end
    end
    pending = still
    if #pending == 0 then return nil end
    if netns.now() - t0 > deadline then return pending end
    netns.sleep(0.002)
  end
end

-- IPv6 on a namespace that needs none costs a lab dearly: every interface
-- that comes up sends MLD reports and router solicitations, and a switch
-- floods each to every port (N^2 deliveries under the RTNL lock: a 1000-host
-- star builds in 7 s with it, 3 s without; see doc/bench.md). So IPv6 is off
-- (net.ipv6.conf.default.disable_ipv6=1 before any link exists; lo keeps ::1)
--   ipv6 = "auto" (default): in a switch's own namespace (a bridge port needs
--     no IPv6 of its own), and, in labs of more than IPV6_AUTO_MAX namespaces,
--     in every namespace that has no IPv6 address or route: small labs look
--     like the book's (fe80:: on every interface), big ones build fast;
--   ipv6 = false: in every namespace without an IPv6 address or route;
--   ipv6 = true: nowhere (the kernel's defaults).
M.IPV6_AUTO_MAX = 100

local function wants_ipv6(node)
  for _, ifc in ipairs(V.ns_ifaces(node)) do
    for _, a in ipairs(ifc.parsed or {}) do
      if a.family == "inet6" then return true end
    end
  end
  for _, r in ipairs(node.resolved or {}) do
    if r.family == "inet6" or (r.via or r.dst or ""):find(":", 1, true) then return true end
  end
  return false
end

local function ipv6_off(self, node, count)
  if self.ipv6 == true or wants_ipv6(node) then return false end
  if self.ipv6 == false or node.kind == "switch" then return true end
  return count > M.IPV6_AUTO_MAX
end

-- With IPv6 on, an interface that comes up talks (MLD, router solicitation)
-- and the switches of its segment learn its MAC. With IPv6 off it is silent,
-- and the first burst of pings in a big lab floods every echo to every port
-- until the kernel drops most (2000 hosts: 256 of 2000 pairs answered). So
-- every switch of the segment gets, for every silent end on it, the entry it
-- would have learnt: the port the end is on, or the port towards the switch
-- it is on (dynamic entries: they age out like learnt ones; `bridge fdb
-- replace MAC dev PORT master dynamic`), one batch per switch.

-- For each switch: the ports leading to each other switch of its segment.
local function switch_routes(self)
  local adj = {}
  for _, link in ipairs(self.links) do
    local a, b = link.a, link.b
    if a.master and b.master and a.node ~= b.node then
      adj[a.node] = adj[a.node] or {}
      adj[b.node] = adj[b.node] or {}
      table.insert(adj[a.node], { to = b.node, port = a.name })
      table.insert(adj[b.node], { to = a.node, port = b.name })
    end
  end
  -- towards[s0] = { {switch, port towards s0}, ... }, breadth first
  local towards = {}
  return function(s0)
    if towards[s0] then return towards[s0] end
    local seen, list, queue = { [s0] = true }, {}, { s0 }
    local head = 1
    while queue[head] do
      local s = queue[head]
      head = head + 1
      for _, edge in ipairs(adj[s] or {}) do
        if not seen[edge.to] then
          seen[edge.to] = true
          queue[#queue + 1] = edge.to
          -- edge.to reaches s0 through its end of this link
          for _, back in ipairs(adj[edge.to]) do
            if back.to == s then list[#list + 1] = { switch = edge.to, port = back.port } break end
          end
        end
      end
    end
    towards[s0] = list
    return list
  end
end

local function teach_switches(self, cur)
  local routes, entries, order = switch_routes(self), {}, {}
  local function add(sw, port, mac)
    if not entries[sw] then entries[sw], order[#order + 1] = {}, sw end
    local t = entries[sw]
    t[#t + 1] = { dev = port, mac = mac }
  end
  for _, link in ipairs(self.links) do
    for _, pair in ipairs { { link.a, link.b }, { link.b, link.a } } do
      local e, port = pair[1], pair[2]
      if port.master and not e.master and e.up and (e.node.host or e.node).ipv6_off then
        -- Every end up was waited for, so the wait has read its MAC.
        local mac = e.mac or e.seen_mac
        add(port.node, port.name, mac)
        for _, r in ipairs(routes(port.node)) do add(r.switch, r.port, mac) end
      end
    end
  end
  for _, sw in ipairs(order) do
    local list = entries[sw]
    table.sort(list, function(x, y) return x.dev < y.dev end) -- one port lookup each
    step(cur, "switches", sw.where, ("tell %s where %d silent interfaces are"):format(sw.name, #list))
    sw.ns:fdb_add_many(list)
  end
end

local function build(self, nodes, cur)
  local j, made = self.journal, self.made

  -- The kernel's part of making a namespace runs on a second CPU while
  -- this one marks, names and configures the one before (prefetch.h).
  netns.prefetch(#nodes)
  for _, node in ipairs(nodes) do
    step(cur, "namespaces", node.where, ("create namespace %s"):format(node.nsname))
    -- The mark (alias "nslab:<journal id>" on lo) is set before the name
    -- appears, so a namespace under this name is ours exactly when it carries
    -- the mark, even if this process is killed right here; and no signal
    -- comes between its creation and its record.
    netns.uninterruptible(function()
      node.ns = netns.create(node.nsname, { mark = j.mark, lo_up = true })
      made[#made + 1] = { kind = "ns", node = node }
    end)
    -- The lab's own sysctls, in one visit of the namespace (a lookup under
    -- /proc/sys/net costs more the more namespaces exist: sysctl.h).
    local own = {}
    if not self.dad then
      -- Interfaces made from now on skip duplicate address detection, link-local
      -- ones included: IPv6 works at once instead of after a second.
      own["net.ipv6.conf.default.accept_dad"] = 0
    end
    if not self.icmp_ratelimit then
      -- Routers limit ICMP errors to about one a second per destination: a
      -- third "TTL exceeded" check in a row would meet silence. A lab answers
      -- every probe (lab.new{icmp_ratelimit = true} keeps the limit). IPv4:
      -- no error type in the rate mask, not icmp_ratelimit = 0, which empties
      -- the per-destination budget on every error it lets through, and the
      -- routing code's "net unreachable" draws on that budget with a limit of
      -- its own (host-wide net.ipv4.route.error_cost/error_burst: five, then
      -- one a second): after any other error it went silent for a second.
      own["net.ipv4.icmp_ratemask"] = 0
      own["net.ipv6.icmp.ratelimit"] = 0
    end
    node.ipv6_off = ipv6_off(self, node, #nodes)
    if node.ipv6_off then own["net.ipv6.conf.default.disable_ipv6"] = 1 end
    if next(own) then
      step(cur, "namespaces", node.where, ("the lab's sysctls in %s"):format(node.nsname))
      node.ns:sysctl_set(own)
    end
  end
  for _, node in ipairs(self.order) do
    if node.at then node.ns = node.host.ns end
  end
  for _, node in ipairs(self.order) do
    local br = node.bridge
    if br then
      step(cur, "bridges", node.where, ("bridge %s in %s"):format(br.name, node.nsname))
      -- Snooping off: with it, the bridge may drop the first IPv6 neighbour
      -- solicitation (about 2 runs in 100); a lab must behave the same every run.
      node.ns:link_add { name = br.name, kind = "bridge", mtu = br.mtu, mac = br.mac, up = true,
                         mcast_snooping = false }
    end
  end
  for _, link in ipairs(self.links) do
    local a, b = link.a, link.b
    step(cur, "links", link.where, ("veth %s:%s - %s:%s"):format(a.node.name, a.name, b.node.name, b.name))
    -- The far end comes up in the link's own call where it needs nothing
    -- else (a host's end); a switch's end is enslaved and brought up in one
    -- request of its own.
    a.node.ns:link_add {
      name = a.name, kind = "veth", mtu = a.mtu, mac = a.mac, up = a.up, master = a.master,
      peer = { name = b.name, ns = b.node.ns, mac = b.mac, mtu = b.mtu, up = (b.up and not b.master) or nil },
    }
    made[#made + 1] = { kind = "link", link = link }
    if b.master then
      b.node.ns:link_set(b.name, { master = b.master, up = b.up or nil })
    end
  end
  for _, link in ipairs(self.links) do
    for _, e in ipairs({ link.a, link.b }) do
      if e.impair then
        step(cur, "impairments", link.where, ("qdisc on %s:%s"):format(e.node.name, e.name))
        e.node.ns:qdisc_set(e.name, e.impair)
      end
    end
  end
  for _, node in ipairs(self.order) do
    for _, ifc in ipairs(node.ifaces) do
      for i, a in ipairs(ifc.parsed) do
        step(cur, "addresses", ifc.where, ("address %s on %s:%s"):format(ifc.addrs[i], node.name, ifc.name))
        node.ns:addr_add(ifc.name, ifc.addrs[i], a.family == "inet6" and { nodad = true } or nil)
      end
    end
  end
  for _, node in ipairs(nodes) do
    for _, r in ipairs(node.resolved) do
      step(cur, "routes", r.where, ("route %s%s on %s"):format(r.dst, r.via and (" via " .. r.via) or "", node.name))
      apply_route(node, r)
    end
  end
  for _, node in ipairs(nodes) do
    for _, s in ipairs(node.sysctls) do
      step(cur, "sysctls", s.where, ("sysctl %s=%s on %s"):format(s.key, s.value, node.name))
      node.ns:sysctl_set(s.key, s.value)
    end
  end
  for _, node in ipairs(nodes) do
    if #node.etcs > 0 then
      local dir = etcdir(node)
      step(cur, "etc", node.etcs[1].where, "create " .. dir)
      assert(journal.mkdir("/etc/netns"))
      -- Journalled before it exists (a kill in between must not leave it
      -- unknown), recorded with it (no signal in between).
      assert(j:add("made", dir))
      netns.uninterruptible(function()
        if not netns.mkdir(dir) then error(dir .. " already exists and is not this lab's", 0) end
        made[#made + 1] = { kind = "etcdir", path = dir }
      end)
      for _, e in ipairs(node.etcs) do
        local path = dir .. "/" .. e.file
        step(cur, "etc", e.where, "write " .. path)
        made[#made + 1] = { kind = "etc", path = path }
        local f = assert(io.open(path, "wb"))
        f:write(e.text)
        f:close()
      end
    end
  end
  -- 5 s, and more for big labs: a loaded machine sets carrier on 20,000
  -- links in seconds, not milliseconds.
  step(cur, "carrier", self.where, "wait for every link to be running")
  wait_running(self, cur, 5 + #self.links / 1000)
  teach_switches(self, cur)
  step(cur, "up", self.where, "")
  cur.times[#cur.times] = nil
end

-- Raises (a LabError at the declaration's line) unless every name is free.
local function check_free(self, nodes)
  for _, node in ipairs(nodes) do
    if netns.exists(node.nsname) then
      error(("%s: namespace '%s' (node '%s') already exists and is not this lab's: "
        .. "choose another name or a prefix (nslab --prefix P, lab.new{prefix=})")
        :format(node.where, node.nsname, node.name), 0)
    end
    -- ns:exec binds /etc/netns/NAME/* over /etc for any namespace of that
    -- name: a directory left by someone else would show its files inside the
    -- node even when the node declares none.
    if journal.isdir(etcdir(node)) then
      local e = node.etcs[1]
      error(("%s: %s (node '%s') already exists and is not this lab's: commands in the node "
        .. "would see its files over /etc; remove it, or choose another name or a prefix")
        :format(e and e.where or node.where, etcdir(node), node.name), 0)
    end
  end
end

-- A lab holds an fd per namespace (its handle) while it is up, and checks and
-- commands need a few more (ping sockets, pipes, the journal): a lab that
-- cannot fit under the open-files limit is refused here, before anything is
-- made, not halfway through with EMFILE. (The module's netlink sockets adapt:
-- at most a quarter of the limit.)
M.FD_RESERVE = 64

local function check_fds(self, nodes)
  local limit = netns.stats().nofile
  local need = #nodes + M.FD_RESERVE
  if limit and need > limit then
    error(("%s: lab '%s': %d namespaces need about %d open files, and the limit is %d "
      .. "(ulimit -n; nslab raises its soft limit to the hard one): raise the hard limit "
      .. "or split the lab"):format(self.up_where or self.where, self.name, #nodes, need, limit), 0)
  end
end

function M.up(self)
  local nodes = M.ns_nodes(self)
  check_fds(self, nodes)
  check_free(self, nodes)
  local plan = {}
  for _, node in ipairs(nodes) do plan[#plan + 1] = { kind = "ns", name = node.nsname, node = node.name } end
  for _, node in ipairs(nodes) do
    if #node.etcs > 0 then
      plan[#plan + 1] = { kind = "etcdir", path = etcdir(node) }
      for _, e in ipairs(node.etcs) do
        plan[#plan + 1] = { kind = "etc", path = etcdir(node) .. "/" .. e.file }
      end
    end
  end
  -- The journal and the lab's place in the list of labs to tear down come
  -- as one: a signal between them would leave a journal nobody removes.
  netns.uninterruptible(function()
    local j, e = journal.create(self.name, plan)
    if not j then error(("%s: lab '%s': %s"):format(self.where, self.name, e), 0) end
    self.journal, self.made, self.state = j, {}, "starting"
    register(self)
  end)
  local cur = { times = {} }
  local ok, err = pcall(build, self, nodes, cur)
  netns.prefetch(0) -- the thread is done; after a failure, what nobody took goes now
  self.timings = cur.times
  if ok then
    self.state = "up"
    return self
  end
  local problems = M.teardown(self)
  local msg = ("%s: lab '%s': up failed at step '%s' (%s): %s"):format(cur.where or self.where,
    self.name, cur.step or "start", cur.what or "?", M.reason(err))
  if problems then
    msg = msg .. "\nand teardown failed too: " .. table.concat(problems, "; ")
  else
    msg = msg .. "\n(everything it had created was removed)"
  end
  error(setmetatable({ message = msg, step = cur.step, code = type(err) == "table" and err.code or nil,
    cause = err }, LabErrorMT), 0)
end

-- An open handle on node's namespace (reopened by name when ours was closed,
-- e.g. by a finalizer at exit), or nil if it is gone.
local function handle(node)
  if node.ns and not node.ns.closed then return node.ns end
  local ok, ns = pcall(netns.open, node.nsname)
  if ok then node.ns = ns; return ns end
  return nil
end

-- Removes everything the lab made; returns nil, or a list of problems.
-- Runs with interruptions held (a signal meanwhile is raised once it is
-- done): teardown that was asked to stop still finishes.
local function teardown(self)
  self.state = "stopping"
  local problems, made, j = {}, self.made or {}, self.journal
  if j then j:add("down") end
  local list = {}
  for _, m in ipairs(made) do
    if m.kind == "ns" then list[#list + 1] = m.node end
  end
  -- One /proc scan for the whole lab, not one per namespace.
  local live = {}
  for i = #list, 1, -1 do
    local ns = handle(list[i])
    if ns then live[#live + 1] = ns end
  end
  journal.kill_processes(live)
  -- A listener's socket holds its namespace alive: close them first.
  for l in pairs(self.listeners or {}) do l:close() end
  self.listeners = nil
  for i = #made, 1, -1 do
    local m = made[i]
    if m.kind == "etc" then
      os.remove(m.path)
    elseif m.kind == "etcdir" then
      if not os.remove(m.path) and journal.isdir(m.path) then
        problems[#problems + 1] = m.path .. " is not empty (files not of this lab were left there)"
      end
    end
  end
  -- Names go at once; our handles keep every namespace alive until closed.
  local handles = {}
  for i = #list, 1, -1 do
    local node = list[i]
    handles[node] = handle(node)
    local ok, e = pcall(netns.delete, node.nsname)
    if not ok and netns.exists(node.nsname) then
      problems[#problems + 1] = ("delete namespace %s: %s"):format(node.nsname, M.reason(e))
    end
  end
  -- Closing our handles drops the last references: the kernel destroys the
  -- namespaces, and netns.release returns when it has (RTM_DELNSID). Last
  -- made first, as the names went: a host's end goes with its veth pair, so
  -- a switch's namespace dies last with a bridge that has no ports left.
  -- Switches first, the kernel's cleanup took about 0.2 s instead of 0.05 s
  -- for 200 hosts in 7 teardowns of 16, hosts first in 1 of 16.
  local held = {}
  for i = #list, 1, -1 do
    if handles[list[i]] then held[#held + 1] = handles[list[i]] end
  end
  -- 10 s, and more for big labs: destroying 10,000 namespaces takes the
  -- kernel longer than that on a loaded machine.
  local ok, alive = pcall(netns.release, held, 10 + #held / 500)
  if not ok then
    problems[#problems + 1] = "wait for the namespaces to be destroyed: " .. M.reason(alive)
  elseif alive > 0 then
    io.stderr:write(("nslab: %d namespaces of lab '%s' were deleted but the kernel has not "
      .. "destroyed them yet (a process or handle outside the lab holds them)\n"):format(alive, self.name))
  end
  for _, node in ipairs(self.order) do
    if node.ns then node.ns:close() end
  end
  if j and #problems == 0 then j:remove() end
  unregister(self)
  self.state, self.made = "down", nil
  return #problems > 0 and problems or nil
end

function M.teardown(self)
  if self.state == "down" or self.state == "kept" then return nil end
  return netns.uninterruptible(teardown, self)
end

-- --keep: leaves the lab up, records it in the journal (so `nslab clean`
-- removes it once this process is gone) and returns the namespace names.
function M.keep(self)
  if self.state ~= "up" and self.state ~= "starting" then return {} end
  if self.journal then self.journal:add("keep") end
  local names = {}
  for _, node in ipairs(M.ns_nodes(self)) do
    names[#names + 1] = node.nsname
    if node.ns then node.ns:close() end
  end
  self.state = "kept"
  unregister(self)
  return names
end

return M
