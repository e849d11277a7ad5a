-- The runner nslab calls (minimal version; the lab layer replaces it).
local M = {}
local current = {}

function M.options() return current end

function M.main(chunk, args, opts)
  current = opts or {}
  local ok, err = xpcall(chunk, debug.traceback, table.unpack(args))
  if not ok then return 2, tostring(err) end
  return 0
end

function M.clean() return 0 end
function M.list() return 0 end

return M
