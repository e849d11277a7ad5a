-- netns.cli: the prompt with a lab up (`l:cli()`, `nslab -i script.lua`).
--
--   cli.prompt(labs [, opts]) -> nil   until end of input (Ctrl-D) or `exit`
--
-- A line is, in this order:
--   a command: help, nodes, links (net), dump [NODE], pingall, lab [NAME],
--     exit, or a check: reachable A B [k=v ...], unreachable ..., expect_*;
--   NODE cmd args...: cmd runs in that node's namespace (/etc/netns applied,
--     as `ip netns exec` does), its output straight to the terminal; a word
--     that is a node's name becomes the address of that node the first node
--     can reach; Ctrl-C stops the command, not the prompt;
--   Lua, as lua.c's prompt takes it (an expression prints its values
--     readably, netns.pretty), with each node by name (ns1:links()), `lab`
--     (the current lab) and `labs` visible.
-- Under nslab, lines come from netns.readline (line editing, completion of
-- commands, node and interface names, history in ~/.nslab_history or
-- $NSLAB_HISTORY); under the stock lua5.4, from io.read.
local core = require "netns.check_core"
local pretty = require "netns.pretty"

local M = {}

-- A mistake in a prompt command (no such node): its message, no traceback.
local CliError = { __tostring = function(e) return e.message end }
local function fail(fmt, ...)
  error(setmetatable({ message = fmt:format(...) }, CliError), 0)
end

local CHECKS = { "reachable", "unreachable", "expect_link_up", "expect_addr", "expect_route",
  "expect_neigh", "expect_fdb", "expect_sysctl" }
local COMMANDS = { "help", "nodes", "links", "net", "dump", "pingall", "lab", "exit", "quit" }
for _, c in ipairs(CHECKS) do COMMANDS[#COMMANDS + 1] = c end
local is_command = {}
for _, c in ipairs(COMMANDS) do is_command[c] = true end

local HELP = [[
At this prompt:
  nodes                    the nodes: kind, namespace, interfaces
  links, net               the links, end to end, with addresses
  dump [NODE]              addresses and routes, read from the kernel
  pingall                  every host pings every other one
  reachable A B [k=v ...]  a check, as l:reachable(A, B, {k=v}) (also unreachable,
                           expect_link_up, expect_addr, expect_route, expect_neigh,
                           expect_fdb, expect_sysctl); printed, not recorded
  lab [NAME]               the current lab, or switch to another
  NODE cmd args...         run cmd in NODE (ns1 ping -c1 ns2: node names in it
                           become an address NODE can reach); Ctrl-C stops it
  anything else            Lua: ns1:links(), lab:address("ns2"), x = 1
  exit, Ctrl-D             leave the prompt]]

---------------------------------------------------------------- words

-- Splits a line into words as a shell would for simple quoting: '...' and
-- "..." group (no expansion); returns the words and which were quoted.
local function split(line)
  local words, quoted, i, n = {}, {}, 1, #line
  while i <= n do
    local c = line:sub(i, i)
    if c:match("%s") then
      i = i + 1
    else
      local w, q = {}, false
      while i <= n and not line:sub(i, i):match("%s") do
        c = line:sub(i, i)
        if c == "'" or c == '"' then
          local j = line:find(c, i + 1, true) or n + 1 -- unmatched: the rest
          w[#w + 1] = line:sub(i + 1, j - 1)
          q, i = true, j + 1
        else
          w[#w + 1] = c
          i = i + 1
        end
      end
      words[#words + 1] = table.concat(w)
      quoted[#words] = q
    end
  end
  return words, quoted
end
M.split = split

---------------------------------------------------------------- the labs

local Session = {}
Session.__index = Session

local function find_node(self, name)
  local l = self.lab
  if l then
    local n = l:node(name)
    if n then return n, l end
  end
  for _, x in ipairs(self.labs) do
    local n = x:node(name)
    if n then return n, x end
  end
end

-- The address of dst that src can reach, as the checks pick it
-- (check_core.destination: a shared segment, else routed); IPv4 first.
function M.reach_address(l, src, dst)
  for _, fam in ipairs({ "inet", "inet6" }) do
    local ok, addr = pcall(core.destination, l, dst, fam, 1, "cli", src)
    if ok then return addr end
  end
end

---------------------------------------------------------------- commands

local out = io.stdout
local function say(fmt, ...) out:write(fmt:format(...), "\n") end

local function all_nodes(self)
  local t = {}
  for _, l in ipairs(self.labs) do
    for _, n in ipairs(l.order) do t[#t + 1] = n end
  end
  return t
end

local function iface_names(node)
  local t = {}
  for _, ifc in ipairs(node.ifaces or {}) do t[#t + 1] = ifc.name end
  return t
end

function Session:nodes()
  for _, l in ipairs(self.labs) do
    say("lab %s%s", l.name, l == self.lab and " (current)" or "")
    for _, n in ipairs(l.order) do
      say("  %-12s %-7s %-22s %s", n.name, n.kind, n.at and ("in " .. n.nsname) or ("netns " .. n.nsname),
        table.concat(iface_names(n), " "))
    end
  end
end

function Session:links()
  local graph = require "netns.graph"
  for _, l in ipairs(self.labs) do
    local m = graph.model(l)
    say("lab %s", l.name)
    local function e(x)
      local a = #x.addresses > 0 and (" " .. table.concat(x.addresses, " ")) or ""
      return ("%s:%s%s"):format(x.node, x.interface, a)
    end
    for _, k in ipairs(m.links) do
      local imp = graph.describe_impairments(k)
      say("  %s <-> %s%s", e(k.a), e(k.b), imp and ("  [" .. imp .. "]") or "")
    end
  end
end

function Session:dump(which)
  local inspect = require "netns.inspect"
  local list = all_nodes(self)
  if which then
    local n = find_node(self, which)
    if not n then fail("no node '%s'", which) end
    list = { n }
  end
  for _, n in ipairs(list) do
    if not n.at and n.ns and not n.ns.closed then
      say("%s (%s, netns %s)", n.name, n.kind, n.nsname)
      inspect.write_namespace(out, inspect.namespace(n.ns))
    end
  end
end

-- "ttl=63" -> 63, "true" -> true; the rest stays a string.
local function value(s)
  if s == "true" then return true elseif s == "false" then return false end
  return math.tointeger(tonumber(s)) or tonumber(s) or s
end

function Session:check(name, args)
  local pos, opts = {}, { record = false }
  for _, a in ipairs(args) do
    local k, v = a:match("^([%a_][%w_]*)=(.*)$")
    if k then opts[k] = value(v) else pos[#pos + 1] = a end
  end
  local l = self.lab
  if pos[1] then
    local _, owner = find_node(self, pos[1])
    l = owner or l
  end
  if not l then fail("no lab is up") end
  -- expect_route takes its route fields before the options
  if name == "expect_route" then
    local fields = {}
    for k, v in pairs(opts) do if k ~= "record" and k ~= "name" then fields[k] = v; opts[k] = nil end end
    pos[#pos + 1] = fields
  end
  pos[#pos + 1] = opts
  local ok, d = l[name](l, table.unpack(pos))
  say("%s  %s", ok and "PASS" or "FAIL", ok and d.name or tostring(d))
end

function Session:pingall()
  if not self.lab then fail("no lab is up") end
  local ok, d = self.lab:ping_all { record = false }
  say("%s  %s", ok and "PASS" or "FAIL", d.name or "ping_all")
end

function Session:select(name)
  if not name then
    if self.lab then say("lab %s (%s)", self.lab.name, self.lab.state) else say("no lab") end
    return
  end
  for _, l in ipairs(self.labs) do
    if l.name == name then self.lab = l; return end
  end
  fail("no lab '%s'", name)
end

-- NODE cmd args...: in the node's namespace, in our terminal's process
-- group, while the prompt ignores SIGINT (readline.foreground), as a shell
-- runs a foreground job: Ctrl-C reaches only the command.
function Session:run_in(node, words, quoted)
  local argv = {}
  for i = 2, #words do
    local w = words[i]
    local other, l = nil, nil
    if not quoted[i] then other, l = find_node(self, w) end
    if other and other ~= node then w = M.reach_address(l, node, other) or w end
    argv[#argv + 1] = w
  end
  if not node.ns or node.ns.closed then fail("node '%s' is not up", node.name) end
  local function run() return node.ns:exec(argv, { capture = false }) end
  io.stdout:flush() -- what we printed comes before what the command prints
  local r = self.rl and self.rl.foreground(run) or run()
  io.stdout:flush()
  if r.status == "signaled" then
    say("(%s: killed by signal %d)", argv[1], r.signal)
  elseif r.code ~= 0 then
    say("(%s: exit %d)", argv[1], r.code)
  end
end

---------------------------------------------------------------- Lua

local function incomplete(msg)
  return type(msg) == "string" and msg:find("<eof>$") ~= nil
end

function Session:env()
  local self_ = self
  return setmetatable({}, {
    __index = function(_, k)
      if k == "lab" then return self_.lab end
      if k == "labs" then return self_.labs end
      local v = _G[k]
      if v ~= nil then return v end
      return type(k) == "string" and (find_node(self_, k)) or nil
    end,
    __newindex = function(_, k, v) _G[k] = v end,
  })
end

-- Compiles a Lua chunk, reading more lines while it is incomplete;
-- nil at end of input.
function Session:compile(line)
  local env = self:env()
  local f = load("return " .. line .. ";", "=stdin", "t", env)
  if f then return f end
  local code = line
  while true do
    local g, err = load(code, "=stdin", "t", env)
    if g then return g end
    if not incomplete(err) then error(err, 0) end
    local more = self:read(">> ")
    if more == nil then return nil end
    code = code .. "\n" .. more
  end
end

local function show(...)
  local n = select("#", ...)
  if n == 0 then return end
  local t = {}
  for i = 1, n do t[i] = pretty.format((select(i, ...))) end
  say("%s", table.concat(t, "\t"))
end

---------------------------------------------------------------- the loop

function Session:read(p)
  if self.rl then return self.rl.read(self.name .. p) end
  if self.tty then io.write(self.name .. p); io.flush() end
  return io.read("l")
end

function Session:complete(text, before)
  local words = split(before)
  local cands = {}
  local function add(list) for _, w in ipairs(list) do cands[#cands + 1] = w end end
  if #words == 0 then
    add(COMMANDS)
    for _, n in ipairs(all_nodes(self)) do cands[#cands + 1] = n.name end
  else
    for _, n in ipairs(all_nodes(self)) do cands[#cands + 1] = n.name end
    local first = find_node(self, words[1])
    if first then add(iface_names(first)) else
      for _, n in ipairs(all_nodes(self)) do add(iface_names(n)) end
    end
  end
  local t, seen = {}, {}
  for _, w in ipairs(cands) do
    if w:sub(1, #text) == text and not seen[w] then seen[w] = true; t[#t + 1] = w end
  end
  table.sort(t)
  return t
end

-- One line: a command, a node command, or Lua. Returns false to leave.
function Session:line(line)
  if line:match("^%s*$") then return true end
  local words, quoted = split(line)
  local first, rest = words[1], { table.unpack(words, 2) }
  -- "ns1 = 1", "nodes.x", "dump(...)": Lua, not a command
  local lua_like = #words > 1 and words[2]:match("^[=%.:%[%(]") or first:match("[%.:%[%(=]")
  if not lua_like and not quoted[1] then
    if first == "exit" or first == "quit" then return false end
    if first == "help" then say("%s", HELP); return true end
    if first == "nodes" then self:nodes(); return true end
    if first == "links" or first == "net" then self:links(); return true end
    if first == "dump" then self:dump(rest[1]); return true end
    if first == "pingall" then self:pingall(); return true end
    if first == "lab" and #words <= 2 then self:select(rest[1]); return true end
    if is_command[first] then self:check(first, rest); return true end
    local node = find_node(self, first)
    if node and #words > 1 then self:run_in(node, words, quoted); return true end
  end
  local f = self:compile(line)
  if not f then return false end
  show(f())
  return true
end

local function message(e)
  if type(e) == "table" and e.message then return tostring(e.message) end
  return tostring(e)
end

function M.prompt(labs, opts)
  opts = opts or {}
  local ok, rl = pcall(require, "netns.readline")
  -- Under the stock lua5.4 (no netns.readline) the prompt is printed, as
  -- lua.c prints it, whatever standard input is.
  local self = setmetatable({ labs = {}, name = opts.name or "nslab",
    rl = ok and rl or nil, tty = not ok or rl.tty }, Session)
  for _, l in ipairs(labs or {}) do self.labs[#self.labs + 1] = l end
  self.lab = self.labs[#self.labs]
  if self.rl then
    local home = os.getenv("HOME")
    local hist = os.getenv("NSLAB_HISTORY") or (home and home .. "/.nslab_history")
    if hist and hist ~= "" then self.rl.history(hist) end
    self.rl.completer(function(text, before) return self:complete(text, before) end)
  end
  if self.tty then
    local names = {}
    for _, l in ipairs(self.labs) do names[#names + 1] = ("%s (%d nodes)"):format(l.name, #l.order) end
    say("%s", #names > 0 and ("labs up: " .. table.concat(names, ", ") .. ".  help: commands;  Ctrl-D: leave")
      or "no lab up.  help: commands;  Ctrl-D: leave")
  end
  -- Ctrl-C at the prompt is meant for the line or the statement only: it is
  -- forgotten in the message handler, before the pcall returns (under nslab
  -- a pending interruption is raised again as soon as a pcall returns).
  local sig
  local function forget_int(e)
    sig = self.rl and self.rl.interrupted()
    if sig == "INT" then self.rl.clear_interrupt() end
    return e
  end
  while true do
    sig = nil
    local rok, line = xpcall(self.read, forget_int, self, "> ")
    if not rok then
      -- a Ctrl-C that landed in Lua between two reads: only the line goes
      if sig ~= "INT" then error(line, 0) end
      line = ""
    end
    if line == nil then break end
    sig = nil
    local lok, go = xpcall(self.line, function(e)
      forget_int(e)
      if type(e) == "string" and e:match("interrupted %(%w+%)$") then return e end
      if type(e) == "table" and tostring(e):match("^os%.exit%(") then return e end
      -- our commands' mistakes and the system's errors (netns.Error): the
      -- message; an error in the user's Lua: its traceback, up to the prompt
      if type(e) == "table" then return message(e) end
      return (debug.traceback(message(e), 2):gsub("\n[^\n]*netns/cli%.lua.*$", ""))
    end, self, line)
    if not lok then
      if sig and sig ~= "INT" then error(go, 0) end -- SIGTERM, SIGHUP: leave, tear down
      if type(go) == "table" and tostring(go):match("^os%.exit%(") then error(go, 0) end
      if sig then go = "interrupted" end -- Ctrl-C stopped the statement
      io.stderr:write("nslab: ", tostring(go), "\n")
    elseif go == false then
      break
    end
    -- labs made at the prompt join it
    for _, l in ipairs(require("netns.lab").up_labs()) do
      local known = false
      for _, x in ipairs(self.labs) do if x == l then known = true end end
      if not known then self.labs[#self.labs + 1] = l; self.lab = l end
    end
  end
  if self.rl then self.rl.done() end
  if self.tty then out:write("\n") end
end

return M
