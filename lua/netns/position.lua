-- netns.position: the script's line, for what the library raises and
-- records. A public function is made with position.api(fn): calling it notes
-- where the script called it (the first Lua frame below it: C frames such as
-- pcall are skipped), and position.where() gives that line to everything fn
-- does, however deep in the library. A public function that calls another
-- keeps the outer position; the position is forgotten when the outer call
-- returns or raises. No frame is skipped by file name and none is counted,
-- so tail calls and wrappers change nothing.
local P = {}

-- "file:line" while a public function runs; false when its caller had no
-- line; nil outside.
local current
local leave = setmetatable({}, { __close = function() current = nil end })

-- P.of(level): "file:line" of the first Lua frame at or above level (1: the
-- caller of P.of), or nil.
function P.of(level)
  for l = level + 1, level + 20 do
    local info = debug.getinfo(l, "Sl")
    if not info then return nil end
    if info.currentline > 0 then return ("%s:%d"):format(info.short_src, info.currentline) end
  end
end

-- P.at(pos, fn, ...): runs fn with pos as the script's position (unless a
-- public function is already running: then its position stays).
function P.at(pos, fn, ...)
  if current ~= nil then return fn(...) end
  current = pos or false
  local _ <close> = leave
  return fn(...)
end

-- P.api(fn) -> the function a script calls: fn at the caller's position.
function P.api(fn)
  return function(...)
    if current ~= nil then return fn(...) end
    return P.at(P.of(2), fn, ...)
  end
end

-- The script's position of the running public function, or nil.
function P.where()
  return current or nil
end

return P
