-- netns.run: what the nslab program calls (core/nslab/nslab.c parses the command
-- line, this does the rest).
--
--   main(chunk, args, opts) -> exit_code, message|nil
--       runs a scenario: applies the options, runs the chunk under xpcall,
--       tears down every lab still up (or, with --keep, leaves them and says
--       how to enter them), prints the report, and returns 0 (every check
--       passed), 1 (a check failed, also one that stopped the run) or 2 (the
--       script raised: message and traceback). A signal arrives as the error "interrupted (SIGINT)" and
--       unwinds the same way; nslab then exits 128+signo.
--       With opts.interactive (nslab -i) the prompt (netns.cli) follows the
--       chunk, with its labs still up; they go down when the prompt ends.
--   clean(opts, args) -> exit_code  `nslab clean [--dry-run] [--force] [ID|LAB ...]`
--   list(opts) -> exit_code      `nslab list`
--   command(name, args, opts) -> exit_code   `nslab NAME args...` (clean,
--       list, and the commands of netns.commands: inspect, graph, up, ...)
--   options() -> opts            the current options; defaults outside nslab
--       (stock lua5.4, busted), where NSLAB_PREFIX gives the prefix.
local netns = require "netns"

local M = {}

local current

local function defaults()
  local p = os.getenv("NSLAB_PREFIX")
  return {
    keep = false, tap = false, junit = nil, trace = false, color = false, script = nil,
    prefix = (p and p ~= "") and p or nil, fail_fast = false,
  }
end

function M.options()
  return current or defaults()
end

local function normalize(opts)
  local o = defaults()
  for k, v in pairs(opts or {}) do o[k] = v end
  return o
end

-- os.exit inside a scenario must not skip teardown: it unwinds like an error
-- carrying the code, and main returns that code once the labs are down.
local ExitMT = { __tostring = function(e) return ("os.exit(%s)"):format(tostring(e.code)) end }

local function exit_code(e)
  if e.code == nil or e.code == true then return 0 end
  if e.code == false then return 1 end
  return math.tointeger(e.code) or 1
end

-- Once the script has ended (returned, raised, or been interrupted), the
-- run is in teardown: interruptions are held from the message handler on,
-- so a signal that arrives now cannot cut teardown short (it stays recorded
-- for the exit status). nslab ends the hold when main has returned.
local holding = false
local function hold()
  if not holding then
    holding = true
    netns.hold_interrupts()
  end
end

-- The error as the run reports it: os.exit and a stopping check as they
-- are, an interruption as its message, anything else with a traceback from
-- `level` (that of the function that raised, seen from describe).
local function describe(e, level)
  if getmetatable(e) == ExitMT or require("netns.check_core").is_stop(e) then return e end
  local s = type(e) == "table" and e.message or tostring(e)
  if type(s) ~= "string" then s = tostring(e) end
  if s:match("interrupted %(%w+%)$") then return s end
  return debug.traceback(s, level)
end

local function traceback(e) return describe(e, 3) end

local function handler(e)
  hold()
  return describe(e, 3)
end

-- The runner's options pushed down as the defaults of the modules it drives.
local function configure(o)
  local core, lab = require "netns.check_core", require "netns.lab"
  core.options.fail_fast = o.fail_fast == true
  core.options.out = o.tap and io.stderr or nil -- TAP owns stdout
  lab.options.prefix, lab.options.keep = o.prefix, o.keep == true
  lab.options.prompt = o.interactive == true
end

-- Tears down (or keeps) every lab still up; returns a list of problems.
local function finish_labs(o, out)
  local lab, updown = require "netns.lab", require "netns.lab_updown"
  local owned = require "netns.owned"
  local problems = {}
  local p, names, id = owned.finish(o.keep)
  if names and #names > 0 then
    out:write(("the namespaces %s are left up (--keep); remove them with: nslab clean %s\n")
      :format(table.concat(names, " "), id))
  elseif p then
    problems[#problems + 1] = "the run's own namespaces: " .. table.concat(p, "; ")
  end
  for _, l in ipairs(lab.up_labs()) do
    if o.keep then
      local names = updown.keep(l)
      out:write(("lab '%s' is left up (--keep). Enter it with:\n"):format(l.name))
      for _, n in ipairs(names) do out:write(("  ip netns exec %s bash\n"):format(n)) end
      out:write(("Look at it with: nslab inspect %s\nRemove it with: nslab down %s (or nslab clean %s)\n")
        :format(l.name, l.name, l.journal.id))
    else
      local p = updown.teardown(l)
      if p then
        problems[#problems + 1] = ("teardown of lab '%s': %s"):format(l.name, table.concat(p, "; "))
      end
    end
  end
  return problems
end

function M.main(chunk, args, opts)
  local o = normalize(opts)
  current = o
  configure(o)
  local report = require "netns.report"
  report.reset()
  local trace
  if o.trace then
    trace = require "netns.trace"
    trace.enable(io.stderr)
  end
  local out = o.tap and io.stderr or io.stdout -- TAP owns stdout
  if o.tap then
    -- The version line first: whatever the script prints comes after it,
    -- where TAP consumers skip it as text that is not TAP.
    io.stdout:write("TAP version 13\n")
    io.stdout:flush()
  end
  local real_exit = os.exit
  os.exit = function(code) error(setmetatable({ code = code }, ExitMT)) end
  holding = false
  require("netns.owned").start()
  local code, msg, explicit = 0, nil, nil
  local ok, err = xpcall(function(...)
    if o.interactive then
      -- A learner explores what the script built, also after its error
      -- (reported now, before the prompt; the run still exits 2).
      local sok, serr = xpcall(chunk, traceback, ...)
      if not sok and getmetatable(serr) == ExitMT then error(serr, 0) end
      if not sok then
        io.stderr:write("nslab: ", tostring(serr), "\n")
        code = 2
      end
      require("netns.cli").prompt(require("netns.lab").up_labs())
    else
      chunk(...)
    end
    hold()
  end, handler, table.unpack(args or {}))
  os.exit = real_exit

  if not ok then
    if getmetatable(err) == ExitMT then
      explicit = exit_code(err)
    elseif not require("netns.check_core").is_stop(err) then
      -- A check that stopped the run (fail_fast, stop_on_failure) is a
      -- failed check, reported as one: status 1, no traceback.
      code, msg = 2, err
    end
  end
  local tok, problems = pcall(finish_labs, o, out)
  if not tok then problems = { tostring(problems) } end
  if #problems > 0 then
    code = 2
    msg = (msg and (msg .. "\n") or "") .. table.concat(problems, "\n")
  end
  if trace then trace.disable() end

  if o.tap then
    -- A script that failed (code 2: an error, a teardown problem) ends the
    -- stream with "Bail out!", so prove reports it instead of a short plan.
    report.tap(io.stdout, { header = false, bail = code == 2 and (msg or "the script failed") or nil })
  elseif #report.checks() > 0 then
    report.summary(io.stdout, { color = o.color })
  end
  if o.junit then
    local jok, jerr = pcall(report.junit, o.junit)
    if not jok then
      code = 2
      msg = (msg and (msg .. "\n") or "") .. tostring(jerr)
    end
  end
  if code == 0 and report.failed() > 0 then code = 1 end
  if explicit and explicit > code then code = explicit end
  io.stdout:flush()
  return code, msg
end

local clean_usage = "usage: nslab clean [--dry-run] [--force] [LAB-ID|LAB ...]"

-- `nslab clean [--dry-run] [--force] [ID|LAB ...]`: removes what runs whose
-- process is gone left behind (only the runs named, if any).
function M.clean(opts, args)
  current = normalize(opts)
  local copts, only = {}, nil
  for _, a in ipairs(args or {}) do
    if a == "--dry-run" then copts.dry_run = true
    elseif a == "--force" then copts.force = true
    elseif a:sub(1, 1) == "-" then
      io.stderr:write(("nslab clean: unknown option '%s'\n%s\n"):format(a, clean_usage))
      return 2
    else
      only = only or {}
      only[#only + 1] = a
    end
  end
  copts.only = only
  local journal = require "netns.journal"
  local ok, code = pcall(journal.clean, io.stdout, copts)
  if not ok then
    io.stderr:write("nslab clean: ", tostring(code), "\n")
    return 2
  end
  return code
end

-- `nslab list [--json]`: the labs that are up and who owns them.
function M.list(opts, args)
  current = normalize(opts)
  if args and #args > 0 then return require("netns.commands").run("list", args, current) end
  local journal = require "netns.journal"
  local ok, e = pcall(journal.list, io.stdout)
  if not ok then
    io.stderr:write("nslab list: ", tostring(e), "\n")
    return 2
  end
  return 0
end

-- `nslab NAME args...`: clean and list here, the others in netns.commands.
function M.command(name, args, opts)
  if name == "clean" or name == "list" then
    return M[name](opts, args)
  end
  current = normalize(opts)
  configure(current)
  return require("netns.commands").run(name, args, current)
end

return M
