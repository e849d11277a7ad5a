-- netns.pretty: values as a person reads them at the prompt: tables nested
-- and indented, keys sorted (array part first, in order), strings quoted,
-- depth and width bounded so a lab's cyclic tables print in a few lines.
-- Tables and userdata with a __tostring (a Lab, a Node, a check's detail,
-- a Namespace handle) print as their tostring.
--
--   pretty.format(v [, {depth = 3, items = 50}]) -> string
local M = {}

local function key_less(a, b)
  local ta, tb = type(a), type(b)
  if ta ~= tb then
    if ta == "number" then return true end
    if tb == "number" then return false end
    return ta < tb
  end
  if ta == "number" or ta == "string" then return a < b end
  return tostring(a) < tostring(b)
end

local function scalar(v)
  if type(v) == "string" then return ("%q"):format(v):gsub("\\\n", "\\n") end
  return tostring(v)
end

local function has_tostring(v)
  local mt = getmetatable(v)
  return type(mt) == "table" and mt.__tostring ~= nil
end

local function keyname(k)
  if type(k) == "string" and k:match("^[%a_][%w_]*$") then return k end
  return "[" .. scalar(k) .. "]"
end

local function fmt(v, opts, depth, indent, seen)
  if type(v) ~= "table" or has_tostring(v) then
    return type(v) == "string" and scalar(v) or tostring(v)
  end
  if seen[v] then return "<cycle>" end
  if next(v) == nil then return "{}" end
  if depth >= opts.depth then return "{...}" end
  seen[v] = true
  local n, keys = #v, {}
  for k in pairs(v) do
    if not (math.type(k) == "integer" and k >= 1 and k <= n) then keys[#keys + 1] = k end
  end
  table.sort(keys, key_less)
  local parts, total = {}, n + #keys
  local inner = indent .. "  "
  for i = 1, n do
    if #parts >= opts.items then break end
    parts[#parts + 1] = fmt(v[i], opts, depth + 1, inner, seen)
  end
  for _, k in ipairs(keys) do
    if #parts >= opts.items then break end
    parts[#parts + 1] = keyname(k) .. " = " .. fmt(v[k], opts, depth + 1, inner, seen)
  end
  if total > #parts then parts[#parts + 1] = ("... (%d more)"):format(total - #parts) end
  seen[v] = nil
  local flat = "{ " .. table.concat(parts, ", ") .. " }"
  if #flat + #indent <= 78 and not flat:find("\n") then return flat end
  return "{\n" .. inner .. table.concat(parts, ",\n" .. inner) .. "\n" .. indent .. "}"
end

function M.format(v, opts)
  opts = opts or {}
  return fmt(v, { depth = opts.depth or 3, items = opts.items or 50 }, 0, "", {})
end

return M
