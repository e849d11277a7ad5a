-- netns.commands: the nslab commands that work on a lab as a whole, from
-- outside a scenario (netns.run.command dispatches to them):
--
--   nslab graph FILE [--format=dot|mermaid|json] [-o OUT]
--   nslab inspect LAB [--json]        nslab list --json
--   nslab up FILE [--prefix=P]        nslab down LAB
--   nslab shell LAB NODE              nslab exec LAB NODE cmd [args...]
--
-- LAB is a lab's name or its journal id (nslab list); FILE is a topology
-- file (.yaml, .yml, .json) or, for graph, also a Lua script. Each returns
-- nslab's exit status: 0 done, 1 something could not be done, 2 bad usage
-- or an error; exec returns the command's own status.
local M = {}

local function usage(msg)
  error({ usage = msg }, 0)
end

-- Options in GNU forms (--format=dot, --format dot) and positional words;
-- "--" ends the options. spec: { format = "value", json = "flag", ... }.
local function getopt(args, spec, stop_after)
  local opts, pos, i = {}, {}, 1
  while i <= #args do
    local a = args[i]
    if a == "--" then
      for j = i + 1, #args do pos[#pos + 1] = args[j] end
      break
    end
    local name, val = a:match("^%-%-([%w-]+)=(.*)$")
    name = name or a:match("^%-%-([%w-]+)$") or (a == "-o" and "output")
    if name then
      local kind = spec[name]
      if not kind then usage(("unknown option '%s'"):format(a)) end
      if kind == "flag" then
        if val then usage(("'--%s' takes no value"):format(name)) end
        opts[name] = true
      else
        if not val then
          i = i + 1
          val = args[i]
          if val == nil then usage(("'%s' needs an argument"):format(a)) end
        end
        opts[name] = val
      end
    else
      pos[#pos + 1] = a
      if stop_after and #pos >= stop_after then
        for j = i + 1, #args do pos[#pos + 1] = args[j] end
        break
      end
    end
    i = i + 1
  end
  return opts, pos
end

local function is_topofile(path) return path:match("%.ya?ml$") or path:match("%.json$") end

---------------------------------------------------------------- graph

-- The labs a script declares, up to its first l:up(): the script runs with
-- lab.on_up set, which stops it there, so nothing is built. (A script that
-- creates namespaces itself with netns.create before that is not a lab
-- description and is refused by the lack of labs; what it made is its own.)
local STOP = setmetatable({}, { __tostring = function() return "graph: stopped at up()" end })

local function script_labs(path)
  local lab = require "netns.lab"
  local chunk, err = loadfile(path)
  if not chunk then error(err, 0) end
  local labs = {}
  lab.on_new = function(l) labs[#labs + 1] = l end
  lab.on_up = function() error(STOP, 0) end
  local ok, e = pcall(chunk)
  lab.on_new, lab.on_up = nil, nil
  if not ok and e ~= STOP then error(e, 0) end
  if #labs == 0 then error(("%s describes no lab (netns.lab)"):format(path), 0) end
  return labs
end

function M.graph(args)
  local opts, pos = getopt(args, { format = "value", output = "value" })
  if #pos ~= 1 then usage("graph takes one file: nslab graph FILE [--format=dot|mermaid|json]") end
  local graph = require "netns.graph"
  local format = opts.format or "dot"
  if not graph.FORMATS[format] then usage(("unknown format '%s' (dot, mermaid, json)"):format(format)) end
  local labs = is_topofile(pos[1]) and { require("netns.lab").load(pos[1]) } or script_labs(pos[1])
  local parts = {}
  for _, l in ipairs(labs) do parts[#parts + 1] = graph.render(l, format) end
  local text = table.concat(parts, format == "mermaid" and "\n" or "")
  local out = io.stdout
  if opts.output then
    local f, e = io.open(opts.output, "wb")
    if not f then error(e, 0) end
    out = f
  end
  out:write(text)
  if out ~= io.stdout then out:close() end
  return 0
end

---------------------------------------------------------------- inspect, list

function M.inspect(args)
  local opts, pos = getopt(args, { json = "flag" })
  if #pos ~= 1 then usage("inspect takes one lab: nslab inspect LAB [--json]") end
  local inspect = require "netns.inspect"
  local state = inspect.lab(inspect.find_one(pos[1]))
  if opts.json then
    io.stdout:write(inspect.json(state), "\n")
    return 0
  end
  io.stdout:write(("%s  lab %s  owner pid %d%s\n"):format(state.id, state.lab or "?", state.owner.pid,
    state.owner.running and " (running)" or state.kept and " (kept)" or " (gone)"))
  for _, n in ipairs(state.nodes) do
    io.stdout:write(("%s (netns %s)\n"):format(n.node, n.namespace))
    inspect.write_namespace(io.stdout, n)
  end
  return 0
end

function M.list(args)
  local opts, pos = getopt(args, { json = "flag" })
  if #pos > 0 or not opts.json then usage("list takes only --json") end
  local inspect = require "netns.inspect"
  io.stdout:write(inspect.json(inspect.list()), "\n")
  return 0
end

---------------------------------------------------------------- up, down

function M.up(args, run_opts)
  local opts, pos = getopt(args, { prefix = "value" })
  if #pos ~= 1 or not is_topofile(pos[1]) then usage("up takes one topology file: nslab up FILE.yaml|FILE.json [--prefix=P]") end
  local lab = require "netns.lab"
  local updown = require "netns.lab_updown"
  -- The runner's --prefix (nslab --prefix=P up FILE) is already in every lab's prefix.
  local l = lab.load(pos[1], { prefix = opts.prefix })
  l:up()
  local names = updown.keep(l)
  local id = l.journal and l.journal.id or l.name
  io.stdout:write(("lab '%s' is up (%s): %d namespaces\n"):format(l.name, id, #names))
  io.stdout:write("Enter a node with:\n")
  for _, node in ipairs(updown.ns_nodes(l)) do
    io.stdout:write(("  nslab shell %s %s        (ip netns exec %s bash)\n"):format(l.name, node.name, node.nsname))
  end
  io.stdout:write(("Look at it with: nslab inspect %s\nRemove it with:  nslab down %s\n"):format(l.name, l.name))
  return 0
end

function M.down(args)
  local _, pos = getopt(args, {})
  if #pos ~= 1 then usage("down takes one lab: nslab down LAB") end
  local inspect, journal = require "netns.inspect", require "netns.journal"
  local code = 0
  for _, r in ipairs(inspect.find(pos[1])) do
    if r.alive then
      io.stderr:write(("nslab down: lab '%s' (%s) belongs to the running pid %d: end that run instead\n")
        :format(r.lab, r.id, r.pid))
      code = 1
    elseif journal.clean_run(r, io.stdout) ~= 0 then
      code = 1
    end
  end
  return code
end

---------------------------------------------------------------- shell, exec

-- The namespace of NODE in the lab: the journal names each namespace's node.
local function node_ns(which, node)
  local inspect, journal, netns = require "netns.inspect", require "netns.journal", require "netns"
  local r = inspect.find_one(which)
  local names = {}
  for _, nsname in ipairs(r.ns) do
    local n = r.node[nsname] or nsname
    names[#names + 1] = n
    if n == node or nsname == node then
      local mine, ns = journal.owns(r, nsname)
      if ns then ns:close() end
      if not mine then error(("node '%s' of lab '%s' is not up (namespace %s)"):format(node, r.lab, nsname), 0) end
      return netns.open(nsname), r, n
    end
  end
  error(("lab '%s' has no node '%s' (nodes: %s)"):format(r.lab, node, table.concat(names, ", ")), 0)
end

-- Runs argv in ns with our terminal, SIGINT left to it (as a shell does for
-- a foreground job); returns the command's exit status as a shell gives it.
local function foreground(ns, argv, env)
  local ok, rl = pcall(require, "netns.readline")
  local function run() return ns:exec(argv, { capture = false, env = env }) end
  local r = ok and rl.foreground(run) or run()
  if r.status == "signaled" then return 128 + r.signal end
  return r.code
end

function M.shell(args)
  local _, pos = getopt(args, {})
  if #pos ~= 2 then usage("shell takes a lab and a node: nslab shell LAB NODE") end
  local ns, r, node = node_ns(pos[1], pos[2])
  local shell = os.getenv("SHELL")
  if not shell or shell == "" then shell = "/bin/sh" end
  io.stderr:write(("nslab: %s in node %s of lab %s (netns %s); exit to leave\n"):format(shell, node, r.lab, ns.name))
  local code = foreground(ns, { shell }, { NSLAB_LAB = r.lab, NSLAB_NODE = node })
  ns:close()
  return code
end

function M.exec(args)
  local _, pos = getopt(args, {}, 2)
  if #pos < 3 then usage("exec takes a lab, a node and a command: nslab exec LAB NODE cmd [args...]") end
  local ns, r, node = node_ns(pos[1], pos[2])
  local code = foreground(ns, { table.unpack(pos, 3) }, { NSLAB_LAB = r.lab, NSLAB_NODE = node })
  ns:close()
  return code
end

---------------------------------------------------------------- dispatch

function M.run(name, args, run_opts)
  local f = M[name]
  if type(f) ~= "function" or name == "run" then
    io.stderr:write(("nslab: unknown command '%s'\n"):format(name))
    return 2
  end
  local ok, r = pcall(f, args, run_opts)
  if ok then return r end
  if type(r) == "table" and r.usage then
    io.stderr:write(("nslab %s: %s\n"):format(name, r.usage))
    return 2
  end
  local msg = type(r) == "table" and r.message or tostring(r)
  io.stderr:write(("nslab %s: %s\n"):format(name, tostring(msg)))
  return 2
end

return M
