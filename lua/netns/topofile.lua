-- netns.topofile: a lab described in a YAML or JSON file, in the same data
-- form as lab.new{...}:
--
--   name: two-segments            # lab name (prefix:, pool:, dad:,
--   hosts:                        # stop_on_failure: as lab.new takes them)
--     ns1: { default: router }    # a node: name -> its options, or a list
--     ns2: { default: router }    # of names / {name:, ...} tables
--   routers: [router]
--   switches: { sw: { bridge: br0 } }
--   links:                        # each: [end, end] or [end, end, {options}]
--     - [ "ns1:ns1-veth0 192.0.2.1/24", "router:gw-veth0 192.0.2.254/24" ]
--
--   topofile.load(path [, {prefix=}]) -> Lab (declared, not up)
--
-- Every declaration carries the file's line (the key of a node, the item of
-- a link), so the lab's own validation reports `lab.yaml:7: ...` as it
-- reports a script's lines. YAML is read with Debian's lua-yaml (libyaml's
-- event parser, which gives each node's line); JSON with lua-dkjson, whose
-- syntax errors give line and column, and whose values are placed on lines
-- by finding their keys in the text. Scalars follow YAML 1.2's core schema
-- (so a MAC such as 00:00:5e:00:53:01 stays a string).
local netns = require "netns"
local topo = require "netns.topo"

local M = {}

local function fail(where, fmt, ...)
  error(("%s: %s"):format(where, fmt:format(...)), 0)
end

---------------------------------------------------------------- YAML

local function yaml_scalar(e)
  local v = e.value
  if e.style ~= "PLAIN" then return v end
  if v == "true" or v == "True" or v == "TRUE" then return true end
  if v == "false" or v == "False" or v == "FALSE" then return false end
  if v == "" or v == "~" or v == "null" or v == "Null" or v == "NULL" then return nil end
  if v:match("^[-+]?%d+$") then return math.tointeger(tonumber(v)) end
  if v:match("^[-+]?%d*%.%d+$") or v:match("^[-+]?%d+%.%d*$") or v:match("^[-+]?%d[%d.]*[eE][-+]?%d+$") then
    return tonumber(v)
  end
  return v
end

-- Parses YAML text into Lua values; lines[t] is the line of table t and
-- keylines[t][k] the line of key k (1-based).
local function parse_yaml(text, name)
  local ok, yaml = pcall(require, "yaml")
  if not ok then error(name .. ": reading YAML needs Debian's lua-yaml (apt-get install lua-yaml)", 0) end
  local lines, keylines, anchors = {}, {}, {}
  local parser = yaml.parser(text)
  local function next_event()
    local pok, e = pcall(parser)
    if not pok then
      local msg = tostring(e)
      local line = msg:match("line: (%d+)")
      fail(("%s:%s"):format(name, line or "?"), "%s", (msg:gsub("%s+", " "):gsub("^%s*", "")))
    end
    return e
  end
  local value
  local function node(e)
    local line = e.start_mark.line + 1
    if e.type == "SCALAR" then
      local v = yaml_scalar(e)
      if e.anchor then anchors[e.anchor] = v end
      return v, line
    elseif e.type == "ALIAS" then
      return anchors[e.anchor], line
    elseif e.type == "SEQUENCE_START" then
      local t, i = {}, 0
      lines[t], keylines[t] = line, {}
      if e.anchor then anchors[e.anchor] = t end
      while true do
        local x = next_event()
        if x.type == "SEQUENCE_END" then return t, line end
        i = i + 1
        local v, l = node(x)
        t[i] = v
        keylines[t][i] = l
      end
    elseif e.type == "MAPPING_START" then
      local t = {}
      lines[t], keylines[t] = line, {}
      if e.anchor then anchors[e.anchor] = t end
      while true do
        local k = next_event()
        if k.type == "MAPPING_END" then return t, line end
        local key, kl = node(k)
        if type(key) == "table" then fail(("%s:%d"):format(name, kl), "a key must be a scalar") end
        if key == nil then fail(("%s:%d"):format(name, kl), "a key must not be empty") end
        if t[key] ~= nil then fail(("%s:%d"):format(name, kl), "key '%s' given twice", tostring(key)) end
        t[key] = (node(next_event()))
        keylines[t][key] = kl
      end
    end
    fail(("%s:%d"):format(name, line), "unexpected %s", tostring(e.type))
  end
  local docs = 0
  while true do
    local e = next_event()
    if not e or e.type == "STREAM_END" then break end
    if e.type == "DOCUMENT_START" then
      docs = docs + 1
      if docs > 1 then fail(("%s:%d"):format(name, e.start_mark.line + 1), "one document per file") end
      local x = next_event()
      if x.type ~= "DOCUMENT_END" then
        value = node(x)
        next_event() -- DOCUMENT_END
      end
    end
  end
  return value, lines, keylines
end

---------------------------------------------------------------- JSON

local function line_at(text, pos)
  local n = 1
  for _ in text:sub(1, pos - 1):gmatch("\n") do n = n + 1 end
  return n
end

-- dkjson gives no positions for values: the lines of keys and link items
-- are found in the text, in document order.
local function parse_json(text, name)
  local ok, json = pcall(require, "dkjson")
  if not ok then error(name .. ": reading JSON needs Debian's lua-dkjson (apt-get install lua-dkjson)", 0) end
  local v, pos, err = json.decode(text, 1, json.null)
  if err then
    local l = err:match("at line (%d+)")
    fail(("%s:%s"):format(name, l or line_at(text, pos or 1)), "%s", (err:gsub(" at line %d+, column %d+", "")))
  end
  local lines, keylines = {}, {}
  local function find_key(k, from)
    local s = text:find('"' .. tostring(k):gsub("%p", "%%%0") .. '"%s*:', from)
    return s
  end
  local function walk(t, from)
    lines[t], keylines[t] = line_at(text, from), {}
    local keys = {}
    for k in pairs(t) do keys[#keys + 1] = k end
    table.sort(keys, function(a, b) return tostring(a) < tostring(b) end)
    for _, k in ipairs(keys) do
      local at = from
      if type(k) == "string" then at = find_key(k, from) or from
      else
        -- the k-th item of an array: the first string of it after the last one
        local x = t[k]
        local first = type(x) == "table" and x[1] or x
        if type(first) == "string" then
          at = text:find(json.encode(first), from, true) or from
          from = at + 1
        end
      end
      keylines[t][k] = line_at(text, at)
      if type(t[k]) == "table" then walk(t[k], at) end
      if t[k] == json.null then t[k] = nil end
    end
  end
  if type(v) == "table" then walk(v, 1) end
  return v, lines, keylines
end

---------------------------------------------------------------- the lab

local NODE_LISTS = { hosts = true, routers = true, switches = true, links = true }

-- Declares the lab from data, each declaration at its line: topo.where()
-- answers with topo.location while it is set.
local function build(data, name, lines, keylines, opts)
  local lab = require "netns.lab"
  local at = function(line) return ("%s:%d"):format(name, line or 1) end
  if type(data) ~= "table" then fail(at(1), "a lab description (a mapping) expected, got %s", type(data)) end
  local kl = keylines[data] or {}
  for k in pairs(data) do
    if not lab.FIELDS[k] then
      local known = {}
      for x in pairs(lab.FIELDS) do known[#known + 1] = x end
      table.sort(known)
      fail(at(kl[k]), "unknown key '%s' (known: %s)", tostring(k), table.concat(known, ", "))
    end
  end
  local l
  local ok, err = pcall(function()
    topo.location = at(kl.name or lines[data])
    local prefix = data.prefix
    if opts and opts.prefix then prefix = opts.prefix .. (prefix or "") end
    local desc = {}
    for k, v in pairs(data) do if not NODE_LISTS[k] then desc[k] = v end end
    desc.prefix = prefix
    l = lab.new(desc)
    for _, kind in ipairs({ "host", "router", "switch" }) do
      local key = kind == "switch" and "switches" or kind .. "s"
      local list = data[key]
      if list ~= nil then
        topo.location = at(kl[key])
        if type(list) ~= "table" then fail(at(kl[key]), "%s must be a list or a mapping", key) end
        local lk = keylines[list] or {}
        local names = {}
        for k in pairs(list) do names[#names + 1] = k end
        table.sort(names, function(a, b)
          return (lk[a] or 0) < (lk[b] or 0) or ((lk[a] or 0) == (lk[b] or 0) and tostring(a) < tostring(b))
        end)
        for _, k in ipairs(names) do
          local v = list[k]
          topo.location = at(lk[k])
          local nname, o = k, v
          if math.type(k) == "integer" then
            if type(v) == "table" then
              nname, o = v.name, {}
              for kk, vv in pairs(v) do if kk ~= "name" then o[kk] = vv end end
            else
              nname, o = v, nil
            end
          elseif v ~= nil and type(v) ~= "table" then
            fail(at(lk[k]), "%s.%s: options must be a mapping", key, tostring(k))
          end
          l[kind](l, nname, o)
        end
      end
    end
    if data.links ~= nil then
      if type(data.links) ~= "table" then fail(at(kl.links), "links must be a list") end
      local lk = keylines[data.links] or {}
      for i, item in ipairs(data.links) do
        topo.location = at(lk[i])
        if type(item) ~= "table" then fail(at(lk[i]), "links[%d]: a link is [end, end] or [end, end, {options}]", i) end
        l:link(item[1], item[2], item[3])
      end
    end
  end)
  topo.location = nil
  if not ok then error(err, 0) end
  return l
end

-- The lab a file describes, declared (not up); errors at the file's lines.
function M.load(path, opts)
  if type(path) ~= "string" then error(("bad argument #1 to 'load' (file name expected, got %s)"):format(type(path)), 2) end
  local text, e = netns.readfile(path)
  if not text then error(("lab.load: %s"):format(e), 2) end
  local data, lines, keylines
  if path:match("%.json$") then
    data, lines, keylines = parse_json(text, path)
  elseif path:match("%.ya?ml$") then
    data, lines, keylines = parse_yaml(text, path)
  else
    error(("lab.load: %s: a .yaml, .yml or .json file expected"):format(path), 2)
  end
  return build(data, path, lines, keylines, opts)
end

M.parse_yaml, M.parse_json = parse_yaml, parse_json

return M
