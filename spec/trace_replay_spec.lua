-- --trace prints commands that, run through sh, build what nslab built: each
-- example runs with --trace --keep, its trace is replayed in fresh namespaces
-- (another prefix), and the two labs are compared through iproute2's own
-- dumps (spec/labstate.lua).
local T = require "spec.testlib"
local S = require "spec.labstate"

local NSLAB = os.getenv("NSLAB") or "build/nslab"

local run = S.run

---------------------------------------------------------------- the replay

-- Programs whose commands in a trace change the lab's state. Everything else
-- a trace shows (ping, a capture, a server or client started with `&`) is
-- traffic or a process; what those change on their own (dhclient's script
-- setting an address) is theirs, not an operation of nslab.
local STATEFUL = { ip = true, bridge = true, tc = true, sysctl = true, nft = true, iptables = true,
  ip6tables = true }

-- A command of iproute2's own, reaching the namespace with -n.
local function iproute2(cmd)
  return cmd:find("^ip ") ~= nil or cmd:find("^bridge ") ~= nil or cmd:find("^tc ") ~= nil
end

local function replayable(cmd)
  if cmd:find(" &$") then return false end
  local prog = cmd:match("^ip netns exec %S+ (%S+)")
  if prog then return STATEFUL[prog] == true end
  return iproute2(cmd)
end

-- The trace's commands (a here-document belongs to its command), without
-- those that failed in the run ("# failed: ..." follows them).
local function commands(stderr)
  local cmds, lines, i = {}, {}, 1
  for l in stderr:gmatch("[^\n]*") do lines[#lines + 1] = l end
  while i <= #lines do
    local l = lines[i]
    if l:find("^# failed:") then
      cmds[#cmds] = nil
    elseif iproute2(l) then
      local tag = l:match("<<'([%w_]+)'$")
      if tag then
        local body = { l }
        repeat
          i = i + 1
          body[#body + 1] = lines[i]
        until lines[i] == nil or lines[i] == tag
        l = table.concat(body, "\n")
      end
      cmds[#cmds + 1] = l
    end
    i = i + 1
  end
  return cmds
end

local function plain_gsub(s, from, to)
  return (s:gsub(from:gsub("%p", "%%%0"), (to:gsub("%%", "%%%%"))))
end

---------------------------------------------------------------- the specs

describe("a traced example, replayed through sh", function()
  after_each(T.cleanup)

  for i, file in ipairs(T.examples()) do
    it(("builds what nslab built: %s"):format(file), function()
      local built, replayed = ("%srp%d-"):format(T.prefix, i), ("%srq%d-"):format(T.prefix, i)
      local errf, path = os.tmpname(), os.tmpname()
      -- one finally: busted keeps only the last one a test registers
      finally(function()
        run(NSLAB .. " clean")
        os.remove(errf)
        os.remove(path)
      end)
      local p = assert(io.popen(("%s --no-color --trace --keep --prefix %s %s 2>%s"):format(NSLAB, built, file, errf)))
      local out = p:read("a")
      local code = select(3, p:close())
      local trace = T.read(errf) or ""
      if code == 77 then return pending(file .. " skipped: a tool is missing: " .. trace) end
      assert.are.equal(0, code, file .. " exited " .. tostring(code) .. ":\n" .. out .. trace)

      local script = {}
      for _, c in ipairs(commands(trace)) do
        if replayable(c) then
          c = plain_gsub(c, built, replayed)
          script[#script + 1] = c
          local name = c:match("^ip netns add (%S+)$")
          if name then T.track(name) end
        end
      end
      assert.is_true(#script > 0, "no commands in the trace:\n" .. trace)
      local f = assert(io.open(path, "w"))
      f:write(table.concat(script, "\n"), "\n")
      f:close()
      -- Not sh -e: a command may fail where nslab's operation has nothing to
      -- do and says so (qdisc_del of a default qdisc returns false, tc
      -- fails); the states compared are what counts, the output explains.
      local sh_out = run("sh -x " .. path)

      local diff = S.differences(built, replayed, 10, nil, { "built by nslab", "built by the replayed trace" })
      assert.is_nil(diff, diff and (diff .. "\nthe replay:\n" .. sh_out))
    end)
  end
end)
