-- teardown_times.lua N REPS PREFIX: a star of N hosts up and down REPS times
-- in one process; prints the seconds of each up and each down ("up 0.35
-- down 0.04"). The down waits until the kernel has destroyed every
-- namespace (netns.release), so it shows how the kernel's cleanup batches
-- them: see doc/bench.md, Big labs.
local netns = require "netns"
local lab = require "netns.lab"

local n, reps, prefix = tonumber(arg[1]), tonumber(arg[2]), arg[3]
assert(n and reps and prefix, "usage: teardown_times.lua N REPS PREFIX")
for rep = 1, reps do
  local l = lab.new { name = prefix .. "td", prefix = ("%s%d-"):format(prefix, rep) }
  l:switch("sw")
  for i = 1, n do
    l:host("h" .. i)
    l:link("sw", ("h%d 10.9.%d.%d/16"):format(i, i >> 8, i & 255))
  end
  local t0 = netns.now()
  l:up()
  local t1 = netns.now()
  l:down()
  print(("up %.3f down %.3f"):format(t1 - t0, netns.now() - t1))
end
