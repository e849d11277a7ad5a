#!/bin/sh
# verify.sh PREFIX N: checks, from outside with iproute2, that a star built by
# any alternative is the one specified: N ports of br0 up in PREFIXbr, and for
# hosts 1, N/2 and N: lo and eth0 up, the address on eth0, and h1 reaching hN.
# Run by bench/measure between build and teardown (untimed).
P=$1 N=$2
fail() { echo "verify: $*" >&2; exit 1; }
addr() { echo "10.200.$(($1 >> 8)).$(($1 & 255))"; }
ports=$(ip -n "${P}br" -o link show master br0 | grep -c ',UP')
[ "$ports" = "$N" ] || fail "${P}br: $ports of $N bridge ports up"
for i in 1 $(( (N + 1) / 2 )) "$N"; do
  h=${P}h$i
  ip -n "$h" -o link show lo | grep -q ',UP' || fail "$h: lo not up"
  ip -n "$h" -o link show eth0 | grep -q ',UP' || fail "$h: eth0 not up"
  ip -n "$h" -o -4 addr show dev eth0 | grep -q " $(addr "$i")/16 " || fail "$h: no $(addr "$i")/16"
done
[ "$N" -lt 2 ] && exit 0
for try in 1 2 3; do
  ip netns exec "${P}h1" ping -c1 -W1 -q "$(addr "$N")" >/dev/null 2>&1 && exit 0
done
fail "${P}h1 cannot ping $(addr "$N")"
