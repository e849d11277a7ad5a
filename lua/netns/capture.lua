-- netns.capture: packet capture on one interface of a namespace, with
-- tcpdump, returning parsed packets a scenario can assert on.
--
--   local capture = require "netns.capture"
--   local cap <close> = capture.start(l:node("router"), "gw-veth0", { filter = "icmp" })
--   l:reachable("ns1", "ns2")
--   local pkts = cap:wait({ proto = "icmp", icmp = "echo reply" })  -- until one is seen
--   cap:stop()                                    -- -> every packet, parsed
--   capture.expect(cap, { src_mac = "00:00:5e:00:53:01", proto = "icmp" }, "ns1's frame")
--
-- It runs `tcpdump -i IF -e -n -l -tt -v --immediate-mode [filter]` in the
-- namespace (ns:spawn, so the lab kills it at teardown if the script does
-- not), waits until tcpdump says "listening on" (the socket is then open and
-- filtered: nothing sent afterwards is missed), and stops it with SIGINT so
-- it prints what it still holds. With pcap = path it also writes a pcap file
-- for Wireshark (`-w path --print`). Each packet is a table:
--   time, src_mac, dst_mac, ethertype ("IPv4", "IPv6", "ARP", ...), length,
--   family ("inet"|"inet6"), src, dst, sport, dport, ttl (hop limit for IPv6),
--   proto ("icmp", "icmp6", "tcp", "udp", "arp", ...), flags (TCP: "S", "S.",
--   ".", "P.", "F.", "R."), icmp ("echo request", "echo reply", ...),
--   arp ("request"|"reply"), payload (TCP/UDP payload length), info (the rest
--   of tcpdump's text), line (tcpdump's whole text for the packet).
local netns = require "netns"
local core = require "netns.check_core"
local tools = require "netns.tools"

local capture = {}

---------------------------------------------------------------- parsing

local MAC = require("netns.ipaddr").MAC

-- "192.0.2.1.36370" -> "192.0.2.1", 36370; "2001:db8::1.80" -> "2001:db8::1", 80.
local function split_endpoint(s)
  if s:find(":", 1, true) then
    local _, dots = s:gsub("%.", "")
    -- An IPv6 address has no dot, or four in an embedded IPv4 tail (::ffff:a.b.c.d).
    if dots == 1 or dots == 4 then
      local a, p = s:match("^(.*)%.(%d+)$")
      if a then return a, tonumber(p), "inet6" end
    end
    return s, nil, "inet6"
  end
  local a, p = s:match("^(%d+%.%d+%.%d+%.%d+)%.(%d+)$")
  if a then return a, tonumber(p), "inet" end
  return s, nil, "inet"
end
capture._split_endpoint = split_endpoint

local PROTO = { ICMP = "icmp", ICMPv6 = "icmp6", TCP = "tcp", UDP = "udp", SCTP = "sctp", IGMP = "igmp",
  GRE = "gre", Options = "hbh" }

-- One packet's text (its first line and continuation lines joined) -> table.
local function parse_packet(text)
  local p = { line = text }
  local t, smac, dmac, rest = text:match("^(%d+%.%d+)%s+(" .. MAC .. ") > (" .. MAC .. "),%s*(.*)$")
  if not t then
    -- Not an Ethernet frame with -e (a cooked or loopback capture): keep the time.
    t, rest = text:match("^(%d+%.%d+)%s+(.*)$")
    if not t then return nil end
  end
  p.time, p.src_mac, p.dst_mac = tonumber(t), smac, dmac
  local et, len, body = rest:match("^ethertype (%S+) %(0x%x+%), length (%d+): (.*)$")
  if et then
    p.ethertype, p.length, rest = et, tonumber(len), body
  end
  if p.ethertype == "ARP" then
    p.proto = "arp"
    local who, tell = rest:match("Request who%-has (%S+) tell ([^,%s]+)")
    if who then
      p.arp, p.src, p.dst, p.family = "request", tell, who, "inet"
    else
      local ip, mac = rest:match("Reply (%S+) is%-at (" .. MAC .. ")")
      if ip then p.arp, p.src, p.is_at, p.family = "reply", ip, mac, "inet" end
    end
    p.info = rest
    return p
  end
  -- -v: the IP header in parentheses before the addresses.
  local ttl = rest:match("^%(tos 0x%x+, ttl (%d+),")
  local proto = rest:match("proto (%S+) %(%d+%)")
  if not ttl then
    ttl = rest:match("hlim (%d+),")
    proto = rest:match("next%-header (%S+) %(%d+%)") or proto
  end
  p.ttl = tonumber(ttl)
  local s, d, info = rest:match("([%x:.]+) > ([%x:.]+): (.*)$")
  if s then
    local sport, dport, fam
    p.src, sport, fam = split_endpoint(s)
    p.dst, dport = split_endpoint(d)
    p.family, p.sport, p.dport, p.info = fam, sport, dport, info
  else
    p.info = rest
  end
  p.proto = PROTO[proto or ""] or (proto and proto:lower())
  info = p.info or ""
  if not p.proto then
    if info:find("^ICMP6,") or info:find("%] ICMP6,") then p.proto = "icmp6"
    elseif info:find("^ICMP ") then p.proto = "icmp"
    elseif info:find("^Flags %[") then p.proto = "tcp"
    elseif info:find("^UDP,") then p.proto = "udp" end
  end
  if p.proto == "tcp" then
    p.flags = info:match("^Flags %[([^%]]*)%]")
    p.payload = tonumber(info:match("length (%d+)"))
  elseif p.proto == "udp" then
    p.payload = tonumber(info:match("length (%d+)"))
  elseif p.proto == "icmp" then
    local kind = info:match("^ICMP ([%a ]-)[,]") or info:match("^ICMP (.-) unreachable")
    if info:match("^ICMP echo request") then kind = "echo request"
    elseif info:match("^ICMP echo reply") then kind = "echo reply"
    elseif info:match("unreachable") then kind = "unreachable"
    elseif info:match("time exceeded") then kind = "time exceeded" end
    p.icmp = kind
  elseif p.proto == "icmp6" then
    p.icmp = info:match("ICMP6, ([%a ]+)")
    if p.icmp then p.icmp = p.icmp:gsub("%s+$", "") end
  end
  return p
end
capture.parse_packet = parse_packet

-- capture.parse(text) -> { packet, ... }: tcpdump's `-e -n -tt [-v]` output
-- (a packet starts at a line with a timestamp; indented lines continue it).
function capture.parse(text)
  local out, cur = {}, nil
  local function flush()
    if cur then
      local p = parse_packet(table.concat(cur, " "))
      if p then out[#out + 1] = p end
      cur = nil
    end
  end
  for line in (text or ""):gmatch("[^\n]+") do
    if line:match("^%d+%.%d+ ") then
      flush()
      cur = { line }
    elseif cur and line:match("^%s") then
      cur[#cur + 1] = (line:gsub("^%s+", ""))
    end
  end
  flush()
  return out
end

---------------------------------------------------------------- matching

local function lower(v) return type(v) == "string" and v:lower() or v end

-- capture.match(pkt, pattern) -> boolean: pattern is a function(pkt), or a
-- table of field = value (MACs compared without case; a value may be a
-- function(v) -> boolean).
function capture.match(p, pattern)
  if pattern == nil then return true end
  if type(pattern) == "function" then return pattern(p) and true or false end
  for k, want in pairs(pattern) do
    local got = p[k]
    if type(want) == "function" then
      if not want(got) then return false end
    elseif lower(got) ~= lower(want) then
      return false
    end
  end
  return true
end

-- capture.filter(packets, pattern) -> the matching packets, in order.
function capture.filter(pkts, pattern)
  local t = {}
  for _, p in ipairs(pkts) do
    if capture.match(p, pattern) then t[#t + 1] = p end
  end
  return t
end

-- capture.format(pkt) -> one short line, as a learner reads a capture.
function capture.format(p)
  local l2 = p.src_mac and ("%s > %s"):format(p.src_mac, p.dst_mac) or ""
  local l3 = ""
  if p.src and p.dst then
    l3 = ("%s%s > %s%s"):format(p.src, p.sport and ("." .. p.sport) or "", p.dst,
      p.dport and ("." .. p.dport) or "")
  elseif p.src then
    l3 = p.src
  end
  local what = p.proto or p.ethertype or "?"
  if p.flags then what = ("%s [%s]"):format(what, p.flags)
  elseif p.icmp then what = ("%s %s"):format(what, p.icmp)
  elseif p.arp then what = ("arp %s%s"):format(p.arp, p.is_at and (" is-at " .. p.is_at) or "") end
  return ("%s  %s  %s%s"):format(l2, l3, what, p.ttl and (" ttl " .. p.ttl) or "")
end

local function describe(pkts, limit)
  if #pkts == 0 then return "no packets" end
  local lines = {}
  for i = 1, math.min(#pkts, limit or 6) do lines[#lines + 1] = capture.format(pkts[i]) end
  if #pkts > (limit or 6) then lines[#lines + 1] = ("... (%d packets)"):format(#pkts) end
  return table.concat(lines, "\n")
end
capture.describe = describe

local function pattern_text(pattern)
  if type(pattern) ~= "table" then return "a matching packet" end
  local keys = {}
  for k in pairs(pattern) do keys[#keys + 1] = k end
  table.sort(keys)
  local t = {}
  for _, k in ipairs(keys) do t[#t + 1] = ("%s=%s"):format(k, tostring(pattern[k])) end
  return "{" .. table.concat(t, " ") .. "}"
end

---------------------------------------------------------------- capturing

local Capture = {}
Capture.__index = Capture
Capture.__name = "netns.Capture"

local function ns_of(x)
  if type(x) == "table" and x.ns then return x.ns, x.name end
  local mt = type(x) == "userdata" and getmetatable(x)
  if mt and mt.__name == "netns.Namespace" then return x, x.name end
  error(("bad argument #1 to 'start' (lab node or netns.Namespace expected, got %s)"):format(type(x)), 3)
end

local START_KEYS = { filter = true, pcap = true, timeout = true, snaplen = true, direction = true,
  verbose = true }

-- capture.start(node, ifname [, {filter=, pcap=, timeout=5, snaplen=, direction="in"|"out"|"inout",
-- verbose=true}]) -> Capture, capturing. Raises if tcpdump is missing or
-- does not start (its own message: no such device, a bad filter).
function capture.start(node, ifname, opts)
  local ns, label = ns_of(node)
  if type(ifname) ~= "string" or ifname == "" or #ifname > 15 then
    error(("bad argument #2 to 'start' (interface name expected, got %s)"):format(tostring(ifname)), 2)
  end
  opts = opts or {}
  if type(opts) ~= "table" then error(("bad argument #3 to 'start' (table expected, got %s)"):format(type(opts)), 2) end
  for k in pairs(opts) do
    if not START_KEYS[k] then error(("bad argument #3 to 'start' (unknown option '%s')"):format(tostring(k)), 2) end
  end
  if opts.filter ~= nil and type(opts.filter) ~= "string" then
    error("bad argument #3 to 'start' (field 'filter': string expected)", 2)
  end
  if opts.direction ~= nil and opts.direction ~= "in" and opts.direction ~= "out" and opts.direction ~= "inout" then
    error("bad argument #3 to 'start' (field 'direction': \"in\", \"out\" or \"inout\")", 2)
  end
  local bin = tools.argv0("tcpdump")
  if not bin then
    error("capture: tcpdump is not installed (Debian package tcpdump; tools/install-deps as root)", 2)
  end
  local argv = { bin, "-i", ifname, "-e", "-n", "-l", "-tt", "--immediate-mode" }
  if opts.verbose ~= false then argv[#argv + 1] = "-v" end
  if opts.snaplen then argv[#argv + 1] = "-s"; argv[#argv + 1] = tostring(math.tointeger(opts.snaplen)) end
  if opts.direction then argv[#argv + 1] = "-Q"; argv[#argv + 1] = opts.direction end
  if opts.pcap then
    -- tcpdump drops to its own user before it opens the file: stay root so
    -- any path the script may write works.
    for _, w in ipairs { "-Z", "root", "-w", tostring(opts.pcap), "--print" } do argv[#argv + 1] = w end
  end
  if opts.filter and opts.filter ~= "" then argv[#argv + 1] = opts.filter end

  local self = setmetatable({ node = node, ns = ns, ifname = ifname, where = label, out = {}, err = {},
    argv = argv }, Capture)
  self.proc = ns:spawn(argv, { stdout = "pipe", stderr = "pipe" })
  local deadline = netns.now() + (opts.timeout or 5)
  while true do
    self:_drain()
    local err = table.concat(self.err)
    if err:find("listening on", 1, true) then break end
    if not self.proc:running() then
      local r = self.proc:wait(0) or {}
      self:_take(r)
      self.proc:close()
      self.stopped = true
      error(("capture on %s in %s: tcpdump exited (%s): %s"):format(ifname, label,
        tostring(r.code or r.signal), (table.concat(self.err):gsub("%s+$", ""))), 2)
    end
    if netns.now() > deadline then
      self.proc:close()
      self.stopped = true
      error(("capture on %s in %s: tcpdump did not start listening within %gs: %s"):format(
        ifname, label, opts.timeout or 5, err), 2)
    end
    netns.sleep(0.01)
  end
  return self
end

function Capture:_drain()
  if self.stopped then return end
  local o, e = self.proc:read()
  if o and o ~= "" then self.out[#self.out + 1] = o end
  if e and e ~= "" then self.err[#self.err + 1] = e end
end

function Capture:_take(r)
  if r.stdout and r.stdout ~= "" then self.out[#self.out + 1] = r.stdout end
  if r.stderr and r.stderr ~= "" then self.err[#self.err + 1] = r.stderr end
end

-- Only whole lines: a packet still being printed waits for the next read.
function Capture:_text()
  local s = table.concat(self.out)
  if not self.stopped then s = s:match("^(.*\n)") or "" end
  return s
end

-- cap:packets() -> the packets captured so far (complete ones).
function Capture:packets()
  if self.stopped then return self.result end
  self:_drain()
  local pkts = capture.parse(self:_text())
  -- With -v tcpdump prints an IPv4 packet's header line, then its addresses
  -- on the next: a last packet without them is not complete yet.
  local last = pkts[#pkts]
  if last and last.ethertype == "IPv4" and not last.src then table.remove(pkts) end
  return pkts
end

-- cap:wait(pattern [, {count=1, timeout=3}]) -> matching packets | nil, all:
-- polls until count packets match (so a check never races tcpdump's output).
function Capture:wait(pattern, opts)
  opts = opts or {}
  local count, deadline = opts.count or 1, netns.now() + (opts.timeout or 3)
  while true do
    local pkts = self:packets()
    local m = capture.filter(pkts, pattern)
    if #m >= count then return m end
    if self.stopped or netns.now() > deadline then return nil, pkts end
    netns.sleep(0.01)
  end
end

-- cap:stop() -> every packet, parsed; cap.stats = {captured=, dropped=}.
-- SIGINT makes tcpdump print what it holds and its counts; idempotent.
function Capture:stop()
  if self.stopped then return self.result end
  -- SIGINT ends tcpdump's loop at once: packets still in its ring buffer
  -- would be lost. Let its output go quiet first (0.1 s, at most 1 s).
  local quiet, deadline = netns.now(), netns.now() + 1
  local n = #self.out
  while netns.now() - quiet < 0.1 and netns.now() < deadline and self.proc:running() do
    netns.sleep(0.02)
    self:_drain()
    if #self.out ~= n then n, quiet = #self.out, netns.now() end
  end
  local p = self.proc
  if p:running() then p:kill("INT") end
  local r = p:wait(3)
  if not r then
    p:close()
    r = {}
  end
  self:_take(r)
  p:close()
  self.stopped = true
  local err = table.concat(self.err)
  self.stats = { captured = tonumber(err:match("(%d+) packets? captured")),
                 dropped = tonumber(err:match("(%d+) packets? dropped by kernel")) }
  self.text = table.concat(self.out)
  self.result = capture.parse(self.text)
  return self.result
end

Capture.close = Capture.stop
Capture.__close = function(self) pcall(Capture.stop, self) end
Capture.__gc = Capture.__close
Capture.__tostring = function(self)
  return ("netns.Capture (%s in %s%s)"):format(self.ifname, self.where, self.stopped and ", stopped" or "")
end

---------------------------------------------------------------- checks

local function list_of(x)
  if getmetatable(x) == Capture then return x:packets(), x end
  if type(x) ~= "table" then core.argerror(1, "expect", ("capture or packet list expected, got %s"):format(type(x))) end
  return x, nil
end

-- capture.expect(cap | packets, pattern, name [, {count=, none=true, timeout=}])
-- -> ok, matching: records a check that at least count (default 1) packets
-- match, or with none=true that none does. On a running capture it first
-- waits (up to timeout) for the packets to show up. Recorded like every
-- check (netns.check_core).
capture.expect = core.api(function(src, pattern, name, opts)
  opts = opts or {}
  if type(name) ~= "string" then core.argerror(3, "expect", "check name expected") end
  local pkts, cap = list_of(src)
  local count = opts.count or 1
  if cap and not cap.stopped and not opts.none then
    cap:wait(pattern, { count = count, timeout = opts.timeout })
    pkts = cap:packets()
  end
  local m = capture.filter(pkts, pattern)
  local ok
  local expected
  if opts.none then
    ok = #m == 0
    expected = "no packet like " .. pattern_text(pattern)
  else
    ok = #m >= count
    expected = (count == 1 and "a packet like " or (count .. " packets like ")) .. pattern_text(pattern)
  end
  local actual = ok and not opts.none and describe(m, 3)
    or (opts.none and #m > 0 and describe(m, 3))
    or ("%d matching; captured:\n%s"):format(#m, describe(pkts))
  core.record(nil, { name = name, ok = ok, expected = expected, actual = actual })
  return ok, m
end)

return capture
