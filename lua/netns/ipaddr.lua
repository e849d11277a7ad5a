-- netns.ipaddr: IPv4 and IPv6 addresses and prefixes as plain Lua values, for
-- the lab layer's validation and automatic addressing (the C core checks what
-- reaches the kernel; this checks a whole description before anything does).
--
-- An address is a table {family="inet"|"inet6", bytes={...} (4 or 16 integers),
-- plen=<prefix length or nil>, text=<the string given>}. Parsing is as strict
-- as the core's: no "10.1", no octal, no /33, no "/0x18", no trailing junk.
local M = {}

-- A MAC address as text, xx:xx:xx:xx:xx:xx (for building patterns).
M.MAC = "%x%x:%x%x:%x%x:%x%x:%x%x:%x%x"

-- ipaddr.is_mac(s) -> boolean: s is a MAC address written as above.
function M.is_mac(s)
  return type(s) == "string" and s:match("^" .. M.MAC .. "$") ~= nil
end

local function parse4(s)
  local a, b, c, d = s:match("^(%d+)%.(%d+)%.(%d+)%.(%d+)$")
  if not a then return nil end
  local t = { a, b, c, d }
  for i = 1, 4 do
    if #t[i] > 1 and t[i]:sub(1, 1) == "0" then return nil end
    if #t[i] > 3 then return nil end
    t[i] = tonumber(t[i])
    if t[i] > 255 then return nil end
  end
  return t
end

local function groups(part)
  local g = {}
  if part == "" then return g end
  for h in (part .. ":"):gmatch("([^:]*):") do
    if not h:match("^%x%x?%x?%x?$") then return nil end
    g[#g + 1] = tonumber(h, 16)
  end
  return g
end

local function parse6(s)
  local v4 = {}
  local head = s:match("^(.*:)(%d+%.%d+%.%d+%.%d+)$")
  if head then
    v4 = parse4(s:sub(#head + 1))
    if not v4 then return nil end
    s = head .. "0:0" -- two placeholder groups, replaced below
  end
  local left, right = s:match("^(.-)::(.*)$")
  local lg, rg
  if left then
    if right:find("::", 1, true) then return nil end
    lg, rg = groups(left), groups(right)
    if not lg or not rg or #lg + #rg > 7 then return nil end
    for _ = 1, 8 - #lg - #rg do lg[#lg + 1] = 0 end
    for _, x in ipairs(rg) do lg[#lg + 1] = x end
  else
    lg = groups(s)
    if not lg or #lg ~= 8 then return nil end
  end
  local bytes = {}
  for i = 1, 8 do
    bytes[2 * i - 1] = lg[i] >> 8
    bytes[2 * i] = lg[i] & 0xff
  end
  if #v4 == 4 then
    for i = 1, 4 do bytes[12 + i] = v4[i] end
  end
  return bytes
end

-- parse("192.0.2.1/24", true) -> addr | nil, reason. want_prefix: true (a
-- prefix is required), false (none allowed), nil (optional).
function M.parse(s, want_prefix)
  if type(s) ~= "string" then return nil, "string expected, got " .. type(s) end
  local a, p = s:match("^([^/]*)/(.*)$")
  if not a then a = s end
  if p and want_prefix == false then return nil, "no prefix length expected" end
  if not p and want_prefix == true then return nil, "prefix length missing (e.g. /24)" end
  local family, bytes = "inet", parse4(a)
  if not bytes and a:find(":", 1, true) then family, bytes = "inet6", parse6(a) end
  if not bytes then return nil, "not an IPv4 or IPv6 address" end
  local max = family == "inet" and 32 or 128
  local plen
  if p then
    if not p:match("^%d+$") or (#p > 1 and p:sub(1, 1) == "0") or tonumber(p) > max then
      return nil, ("bad prefix length (0-%d)"):format(max)
    end
    plen = tonumber(p)
  end
  return { family = family, bytes = bytes, plen = plen, text = s }
end

-- The address part as a string key (equal addresses, equal keys).
function M.key(a)
  return a.family .. ":" .. table.concat(a.bytes, ".")
end

-- Is address b inside network n (n's prefix length)? Whole bytes at a time:
-- validation asks this of every pair of ends on a segment until one matches.
function M.contains(n, b)
  if n.family ~= b.family then return false end
  local nb, bb = n.bytes, b.bytes
  local plen = n.plen or #nb * 8
  local full = plen // 8
  for i = 1, full do
    if nb[i] ~= bb[i] then return false end
  end
  local rest = plen % 8
  if rest == 0 then return true end
  local mask = (0xff << (8 - rest)) & 0xff
  return nb[full + 1] & mask == bb[full + 1] & mask
end

-- Host part all zeros / all ones (IPv4 only for ones) for prefixes that have
-- a network and broadcast address: "network", "broadcast" or nil.
function M.special(a)
  local bytes = a.bytes
  local bits = #bytes * 8
  local plen = a.plen or bits
  if (a.family == "inet" and plen >= 31) or (a.family == "inet6" and plen >= 127) then return nil end
  -- The host part: the low (8 - plen % 8) bits of the byte the prefix ends
  -- in, then every byte after it.
  local first = plen // 8 + 1
  local mask = 0xff >> (plen % 8)
  local zeros, ones = bytes[first] & mask == 0, bytes[first] & mask == mask
  for i = first + 1, #bytes do
    zeros = zeros and bytes[i] == 0
    ones = ones and bytes[i] == 0xff
  end
  if zeros then return "network" end
  if ones and a.family == "inet" then return "broadcast" end
  return nil
end

-- Text without the prefix (IPv6 compressed as RFC 5952 says).
function M.tostring(a, with_prefix)
  local s
  if a.family == "inet" then
    s = table.concat(a.bytes, ".")
  else
    local g = {}
    for i = 1, 8 do g[i] = (a.bytes[2 * i - 1] << 8) | a.bytes[2 * i] end
    local best, blen, i = nil, 1, 1
    while i <= 8 do
      if g[i] == 0 then
        local j = i
        while j <= 8 and g[j] == 0 do j = j + 1 end
        if j - i > blen then best, blen = i, j - i end
        i = j
      else
        i = i + 1
      end
    end
    local parts = {}
    for k = 1, 8 do parts[k] = ("%x"):format(g[k]) end
    if best then
      local l = table.concat(parts, ":", 1, best - 1)
      local r = table.concat(parts, ":", best + blen, 8)
      s = l .. "::" .. r
    else
      s = table.concat(parts, ":")
    end
  end
  if with_prefix and a.plen then s = s .. "/" .. a.plen end
  return s
end

-- The network of a (host bits cleared), same prefix length.
function M.network(a)
  local bytes, plen = {}, a.plen or #a.bytes * 8
  for i = 1, #a.bytes do
    local keep = math.max(0, math.min(8, plen - (i - 1) * 8))
    bytes[i] = a.bytes[i] & ((0xff << (8 - keep)) & 0xff)
  end
  return { family = a.family, bytes = bytes, plen = plen }
end

-- n + k: adds the integer k at bit position `at` counted from the right
-- (k << at), carrying across bytes. Raises on overflow of the address.
function M.add(n, k, at)
  local bytes = {}
  for i = 1, #n.bytes do bytes[i] = n.bytes[i] end
  local byte, shift = #bytes - at // 8, at % 8
  local carry = k << shift
  while carry > 0 do
    if byte < 1 then error("address arithmetic overflow") end
    local v = bytes[byte] + (carry & 0xff)
    bytes[byte] = v & 0xff
    carry = (carry >> 8) + (v >> 8)
    byte = byte - 1
  end
  return { family = n.family, bytes = bytes, plen = n.plen }
end

return M
