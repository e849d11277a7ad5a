-- Writes the iproute2 alternatives of the star benchmark: the same topology as
-- bench/star_raw.c (namespace PREFIXbr with bridge br0; hosts PREFIXh1..N, each
-- with eth0, a veth whose other end v<i> is a port of br0, the address
-- 10.200.(i>>8).(i&255)/16, every link and lo up). Every generated script
-- speaks bench/measure's protocol: build, print "built", read a line, tear
-- down.
local M = {}

function M.addr(i)
  return ("10.200.%d.%d"):format(i >> 8, i & 255)
end

local function write(path, text)
  local f = assert(io.open(path, "w"))
  f:write(text)
  f:close()
  return path
end

-- One `ip` command per operation, as tutorials and most lab scripts do it.
function M.shell(dir, n, prefix)
  local o = { "#!/bin/sh", "set -e" }
  local br = prefix .. "br"
  o[#o + 1] = ("ip netns add %s"):format(br)
  o[#o + 1] = ("ip -n %s link set lo up"):format(br)
  o[#o + 1] = ("ip -n %s link add br0 type bridge"):format(br)
  o[#o + 1] = ("ip -n %s link set br0 up"):format(br)
  for i = 1, n do
    local h = prefix .. "h" .. i
    o[#o + 1] = ("ip netns add %s"):format(h)
    o[#o + 1] = ("ip -n %s link add v%d type veth peer name eth0 netns %s"):format(br, i, h)
    o[#o + 1] = ("ip -n %s link set v%d master br0 up"):format(br, i)
    o[#o + 1] = ("ip -n %s link set lo up"):format(h)
    o[#o + 1] = ("ip -n %s addr add %s/16 dev eth0"):format(h, M.addr(i))
    o[#o + 1] = ("ip -n %s link set eth0 up"):format(h)
  end
  o[#o + 1] = "echo built"
  o[#o + 1] = "read go"
  for i = 1, n do o[#o + 1] = ("ip netns del %sh%d"):format(prefix, i) end
  o[#o + 1] = ("ip netns del %s"):format(br)
  return write(("%s/shell-%d.sh"):format(dir, n), table.concat(o, "\n") .. "\n")
end

-- `ip -batch`: one process makes (and later deletes) every namespace, then one
-- `ip -n NS -batch FILE` process per namespace does everything inside it.
function M.batch(dir, n, prefix)
  local base = ("%s/batch-%d"):format(dir, n)
  local add, del, brb = {}, {}, {}
  local br = prefix .. "br"
  add[1] = "netns add " .. br
  brb[#brb + 1] = "link set lo up"
  brb[#brb + 1] = "link add br0 type bridge"
  brb[#brb + 1] = "link set br0 up"
  local o = { "#!/bin/sh", "set -e", ("ip -batch %s.add"):format(base),
              ("ip -n %s -batch %s.br"):format(br, base) }
  for i = 1, n do
    local h = prefix .. "h" .. i
    add[#add + 1] = "netns add " .. h
    del[#del + 1] = "netns del " .. h
    brb[#brb + 1] = ("link add v%d type veth peer name eth0 netns %s"):format(i, h)
    brb[#brb + 1] = ("link set v%d master br0 up"):format(i)
    write(("%s.h%d"):format(base, i), ("link set lo up\naddr add %s/16 dev eth0\nlink set eth0 up\n")
      :format(M.addr(i)))
    o[#o + 1] = ("ip -n %s -batch %s.h%d"):format(h, base, i)
  end
  del[#del + 1] = "netns del " .. br
  write(base .. ".add", table.concat(add, "\n") .. "\n")
  write(base .. ".br", table.concat(brb, "\n") .. "\n")
  write(base .. ".del", table.concat(del, "\n") .. "\n")
  o[#o + 1] = "echo built"
  o[#o + 1] = "read go"
  o[#o + 1] = ("ip -batch %s.del"):format(base)
  return write(base .. ".sh", table.concat(o, "\n") .. "\n")
end

-- The all-pairs ping alternatives over hosts 1..n (every ordered pair once).
-- `sample` keeps every k-th pair for the per-pair ping (k = ceil(pairs/sample)).
function M.ping_pair(dir, n, prefix, sample)
  local o, pairs, k = { "#!/bin/sh", "n=0" }, n * (n - 1), 1
  if sample and sample < pairs then k = math.ceil(pairs / sample) end
  local idx, used = 0, 0
  for a = 1, n do
    for b = 1, n do
      if a ~= b then
        idx = idx + 1
        if (idx - 1) % k == 0 then
          used = used + 1
          o[#o + 1] = ("ip netns exec %sh%d ping -c1 -W1 -q %s >/dev/null 2>&1 && n=$((n+1))")
            :format(prefix, a, M.addr(b))
        end
      end
    end
  end
  o[#o + 1] = "echo replies=$n"
  return write(("%s/ping-pair-%d.sh"):format(dir, n), table.concat(o, "\n") .. "\n"), used
end

local function targets(n, a)
  local t = {}
  for b = 1, n do if b ~= a then t[#t + 1] = M.addr(b) end end
  return table.concat(t, " ")
end

-- fping once per source, one source after the other (-r 0: one echo per target).
function M.fping_seq(dir, n, prefix)
  local o = { "#!/bin/sh", "n=0" }
  for a = 1, n do
    o[#o + 1] = ("k=$(ip netns exec %sh%d fping -a -r 0 %s 2>/dev/null | wc -l); n=$((n+k))")
      :format(prefix, a, targets(n, a))
  end
  o[#o + 1] = "echo replies=$n"
  return write(("%s/fping-seq-%d.sh"):format(dir, n), table.concat(o, "\n") .. "\n")
end

-- fping once per source, all sources started at once.
function M.fping_all(dir, n, prefix)
  local out = ("%s/fping-all-%d.out"):format(dir, n)
  local o = { "#!/bin/sh", ("rm -f %s.*"):format(out) }
  for a = 1, n do
    o[#o + 1] = ("ip netns exec %sh%d fping -a -r 0 %s >%s.%d 2>/dev/null &")
      :format(prefix, a, targets(n, a), out, a)
  end
  o[#o + 1] = "wait"
  o[#o + 1] = ("echo replies=$(cat %s.* | wc -l)"):format(out)
  o[#o + 1] = ("rm -f %s.*"):format(out)
  return write(("%s/fping-all-%d.sh"):format(dir, n), table.concat(o, "\n") .. "\n")
end

return M
