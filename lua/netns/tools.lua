-- netns.tools: what a scenario needs besides the lab itself.
--
--   local tools = require "netns.tools"
--   local bin = tools.need{ "tcpdump", "nc" }   -- paths, or exit 77 naming what is missing
--   tools.wait_port(l:node("ns2"), 54321, { proto = "tcp", process = server })
--   local tmp <close> = tools.tempdir(l:node("ns1")) -- tmp.path, removed when closed
--   tools.expect("the page arrived", ok, "hello", got)
--
-- Scenarios install nothing at run time (tools/install-deps does that once).
-- need() looks every program up before the lab is built, so a missing tool is
-- one clear message (the program, its Debian package, the install command)
-- and exit status 77, the usual "skipped" code (automake, meson), instead of
-- a failure halfway through. Processes run only inside the lab's namespaces:
-- the port and directory helpers go through ns:exec, never a shell.
local netns = require "netns"
local core = require "netns.check_core"

local tools = {}

-- The Debian package each program comes from (the README's set-up installs them).
tools.packages = {
  tcpdump = "tcpdump", dnsmasq = "dnsmasq-base", dhclient = "isc-dhcp-client",
  nft = "nftables", iptables = "iptables", nc = "netcat-openbsd", python3 = "python3", curl = "curl",
  fping = "fping", ping = "iputils-ping", ss = "iproute2", ip = "iproute2",
  mktemp = "coreutils", rm = "coreutils", chmod = "coreutils", sh = "dash",
}

tools.SKIP = 77

local SYSTEM_DIRS = { "/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin" }

local function exists(path)
  local f = io.open(path, "rb")
  if not f then return false end
  -- A directory opens too on Linux, but cannot be read; a program is never empty.
  local ok = f:read(1) ~= nil
  f:close()
  return ok
end

-- tools.find(name) -> path, in_path | nil: name in $PATH, then in the
-- system's sbin and bin directories (sudo and cron often leave sbin out of
-- PATH); in_path says whether $PATH found it.
function tools.find(name)
  if type(name) ~= "string" or name == "" then
    error(("bad argument #1 to 'find' (program name expected, got %s)"):format(type(name)), 2)
  end
  if name:find("/", 1, true) then return exists(name) and name or nil end
  local seen = {}
  local dirs = {}
  for d in (os.getenv("PATH") or ""):gmatch("[^:]+") do dirs[#dirs + 1] = d end
  local in_path = #dirs
  for _, d in ipairs(SYSTEM_DIRS) do dirs[#dirs + 1] = d end
  for i, d in ipairs(dirs) do
    if not seen[d] then
      seen[d] = true
      local p = d .. "/" .. name
      if exists(p) then return p, i <= in_path end
    end
  end
  return nil
end

-- The word to run a program by: its bare name when $PATH finds it (so
-- --trace shows `nc -l 54321` as the book writes it), else its full path.
local function argv0(name)
  local p, in_path = tools.find(name)
  if not p then return nil end
  return in_path and name or p
end
tools.argv0 = argv0

-- tools.missing(names) -> { name, ... } of the programs not found.
function tools.missing(names)
  local t = {}
  for _, n in ipairs(names) do
    if not tools.find(n) then t[#t + 1] = n end
  end
  return t
end

-- tools.need{ "tcpdump", "dnsmasq", ... } -> { tcpdump = "tcpdump", dnsmasq = "/usr/sbin/dnsmasq", ... }
-- (the bare name where $PATH finds the program, else its full path).
-- When any is missing, says which (and the packages to install) on stderr and
-- exits with status 77 (under nslab the exit unwinds, so labs still go down).
function tools.need(names)
  if type(names) == "string" then names = { names } end
  if type(names) ~= "table" then
    error(("bad argument #1 to 'need' (array of program names expected, got %s)"):format(type(names)), 2)
  end
  local found, missing, pkgs, seen = {}, {}, {}, {}
  for _, n in ipairs(names) do
    local p = argv0(n)
    if p then
      found[n] = p
    else
      missing[#missing + 1] = n
      local pkg = tools.packages[n] or n
      if not seen[pkg] then seen[pkg] = true; pkgs[#pkgs + 1] = pkg end
    end
  end
  if #missing == 0 then return found end
  local script = arg and arg[0] or "this scenario"
  io.stderr:write(("%s: needs %s, not found in PATH or the system's bin directories.\n")
    :format(script, table.concat(missing, ", ")))
  io.stderr:write(("Nothing was changed. Install with: apt-get install %s  (or, as root: tools/install-deps)\n")
    :format(table.concat(pkgs, " ")))
  io.stderr:flush()
  os.exit(tools.SKIP)
end

local function ns_of(x)
  if type(x) == "table" and x.ns then return x.ns end
  return x
end

local sleep = netns.sleep

-- tools.wait_port(node, port [, {proto="tcp"|"udp", timeout=30, process=}])
-- -> true | false, why: polls (with `ss`, inside the node's namespace) until
-- something listens on the port, so a client never races its server. Gives
-- up at the deadline, or at once when the given process has exited (why then
-- carries what it printed on stderr). The deadline is generous (30 s): a
-- server that works returns at once, and under emulation (the stock-kernel
-- guest) python3 alone takes over 10 s to start.
function tools.wait_port(node, port, opts)
  opts = opts or {}
  local ns = ns_of(node)
  if math.type(port) ~= "integer" or port < 1 or port > 65535 then
    error(("bad argument #2 to 'wait_port' (port 1-65535 expected, got %s)"):format(tostring(port)), 2)
  end
  local proto = opts.proto or "tcp"
  if proto ~= "tcp" and proto ~= "udp" then
    error(("bad argument #3 to 'wait_port' (field 'proto': \"tcp\" or \"udp\", got %s)"):format(tostring(proto)), 2)
  end
  local deadline = netns.now() + (opts.timeout or 30)
  local argv = { argv0("ss") or "ss", "-Hln" .. (proto == "tcp" and "t" or "u"), "sport", "=", ":" .. port }
  local err = ""
  while true do
    local r = ns:exec(argv, { timeout = 5 })
    if r.code == 0 and r.stdout:find("%S") then return true end
    local p = opts.process
    if p then
      local _, e = p:read()
      err = err .. (e or "")
      if not p:running() then
        local w = p:wait(0) or {}
        return false, ("%s exited (%s %s) before listening on %s port %d: %s"):format(
          opts.name or "the server", w.status or "?", tostring(w.code or w.signal), proto, port,
          (err .. (w.stderr or "")):gsub("%s+$", ""))
      end
    end
    if netns.now() > deadline then
      return false, ("nothing listens on %s port %d after %gs"):format(proto, port, opts.timeout or 30)
    end
    sleep(0.02)
  end
end

-- tools.wait(fn [, timeout]) -> the first true value of fn(), or nil at the
-- deadline (default 5 s). Polling with a deadline, never sleep-and-hope.
function tools.wait(fn, timeout)
  local deadline = netns.now() + (timeout or 5)
  while true do
    local v = fn()
    if v then return v end
    if netns.now() > deadline then return nil end
    sleep(0.02)
  end
end

local TmpMT = {}
TmpMT.__index = TmpMT
function TmpMT:remove()
  if self.removed then return end
  self.removed = true
  local ns = self.ns
  if ns and not ns.closed then
    ns:exec({ argv0("rm") or "rm", "-rf", "--one-file-system", "--", self.path }, { timeout = 10 })
  end
end
TmpMT.__close = TmpMT.remove
TmpMT.__gc = TmpMT.remove

-- tools.tempdir(node [, tag]) -> {path=, remove()}: a fresh private directory
-- under $TMPDIR or /tmp (made by `mktemp -d` in the node's namespace), for
-- lease and pid files and web roots. Use it with <close>, declared after the
-- lab so it is removed while the lab is still up.
function tools.tempdir(node, tag)
  local ns = ns_of(node)
  local r = ns:exec({ argv0("mktemp") or "mktemp", "-d", "-t", ("nslab-%s.XXXXXX"):format(tag or "tmp") },
    { timeout = 10 })
  if r.code ~= 0 then error("mktemp -d: " .. (r.stderr or "failed"), 2) end
  return setmetatable({ path = (r.stdout:gsub("%s+$", "")), ns = ns }, TmpMT)
end

-- tools.write(path, text [, mode]): writes a file; with a mode (octal text
-- such as "755" or "0644", or an integer such as 493 = 0755), then sets it.
-- Every argument is checked before the file is touched.
function tools.write(path, text, mode)
  if type(path) ~= "string" then
    error(("bad argument #1 to 'write' (path expected, got %s)"):format(type(path)), 2)
  end
  if type(text) ~= "string" then
    error(("bad argument #2 to 'write' (string expected, got %s)"):format(type(text)), 2)
  end
  local bits = mode
  if type(mode) == "string" then
    bits = mode:match("^[0-7]+$") and tonumber(mode, 8) or nil
  end
  if mode ~= nil and (math.type(bits) ~= "integer" or bits < 0 or bits > 4095) then
    error(("bad argument #3 to 'write' (mode such as \"0644\" or \"755\" expected, got %s)")
      :format(type(mode) == "string" and ("'" .. mode .. "'") or tostring(mode)), 2)
  end
  local f, e = io.open(path, "wb")
  if not f then error("write " .. e, 2) end
  local ok, we = f:write(text)
  f:close()
  if not ok then error(("write %s: %s"):format(path, we), 2) end
  if bits then netns.chmod(path, bits) end
end

-- tools.read(path) -> contents | nil
function tools.read(path)
  return (netns.readfile(path))
end

-- tools.expect(name, ok, expected, actual) -> ok: a scenario's own check, for
-- facts netns.check has no function for (a payload, a leased address, a file
-- left unchanged); recorded in the run's report like the others, and like
-- them it stops the run when the run asked to stop on a failed check.
tools.expect = core.api(function(name, ok, expected, actual)
  return (core.record(nil, { name = name, ok = ok, expected = expected, actual = actual }))
end)

return tools
