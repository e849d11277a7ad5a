-- netns.owned: under nslab, the namespaces a script makes with netns.create
-- belong to the run, like a lab's. The runner starts it before the script
-- and finishes it after: each such namespace is journalled (one journal for
-- the run, lab name "run") and marked with the run's mark before its name
-- appears (netns.set_create_hook), deleted at the end of the run (normal end,
-- error, signal), and removed by `nslab clean` after a SIGKILL. A namespace
-- created with { persist = true } (or with a mark of the caller's own, as
-- labs do) is not the run's. Under the stock lua5.4 nothing of this runs.
local netns = require "netns"
local journal = require "netns.journal"

local M = {}
local j -- the run's journal, written at its first namespace

local function hook(name)
  netns.uninterruptible(function()
    if not j then j = assert(journal.create("run", {})) end
  end)
  assert(j:plan("ns", name))
  return j.mark
end

function M.start()
  j = nil
  netns.set_create_hook(hook)
end

-- Ends the run's ownership: with keep, leaves the namespaces and returns
-- their names (the journal says "keep", for `nslab clean ID`); otherwise
-- kills their processes and deletes every one that carries the run's mark,
-- and returns nil or a list of problems. The journal goes when all are gone.
function M.finish(keep)
  netns.set_create_hook(nil)
  local mine = j
  j = nil
  if not mine then return nil end
  local r, why = journal.read(mine.path)
  if not r then return { ("journal %s %s"):format(mine.path, why) } end
  if keep then
    mine:add("keep")
    local names = {}
    for _, name in ipairs(r.ns) do
      if netns.exists(name) then names[#names + 1] = name end
    end
    return nil, names, mine.id
  end
  local said = {}
  local gone = netns.uninterruptible(journal.clean_one, r, function(msg) said[#said + 1] = msg end)
  if not gone then return said end
  mine:remove()
  return nil
end

return M
