#!/usr/bin/env bash
# netsim against ns-3, side by side, on the two workloads of issue 14:
#
#   1. 100 Mbit/s, 50 ms one way, a 95 Mbit/s constant-rate sender for 60 s
#   2. 1 Gbit/s, 53 ms one way, a 950 Mbit/s constant-rate sender for 10 s
#
# both with 1% packet loss on the data direction and a drop-tail queue of one
# bandwidth-delay product. ns-3 (Debian's libns3-dev, 3.37) runs ns3_udp_cbr.cc: a UDP
# OnOff sender and a packet sink over one point-to-point link. netsim runs
# cbr_100m.yaml / cbr_1g.yaml: the same link and a UDT flow with the `fixed` congestion
# control (UDT4's CUDPBlast) and 100,000-packet buffers, so it also simulates the
# protocol's ACKs, NAKs and retransmissions, which the ns-3 program does not have.
#
#   bash netsim/bench/ns3_compare.sh            # one round
#   ROUNDS=3 bash netsim/bench/ns3_compare.sh   # the median of three rounds
#
# Prints, per workload: wall time, CPU time (user + system) and peak resident memory
# (GNU time's %e, %U + %S and %M) of each, and the speed ratios (ns-3 / netsim) in wall
# and in CPU time; on a shared machine the CPU ratio is the steadier of the two. netsim writes its report without
# plots (--no-plots) into a temporary folder; neither side writes captures.
# Needs g++, libns3-dev and /usr/bin/time; not part of CI.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
rounds="${ROUNDS:-1}"
target="${CARGO_TARGET_DIR:-$root/target}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

command -v g++ >/dev/null || { echo "$0: g++ is not installed" >&2; exit 1; }
[ -x /usr/bin/time ] || { echo "$0: /usr/bin/time is not installed" >&2; exit 1; }
[ -e /usr/include/ns3/core-module.h ] || { echo "$0: libns3-dev is not installed" >&2; exit 1; }

# Debian's ns3 pkg-config files name libraries that do not exist; link by hand.
ns3="$target/ns3-bench/ns3_udp_cbr"
if [ ! -x "$ns3" ] || [ "$here/ns3_udp_cbr.cc" -nt "$ns3" ]; then
    echo "building $ns3 ..." >&2
    mkdir -p "$(dirname "$ns3")"
    g++ -O2 -std=c++17 -I/usr/include -o "$ns3" "$here/ns3_udp_cbr.cc" \
        -lns3-core -lns3-network -lns3-internet -lns3-point-to-point \
        -lns3-applications -lns3-traffic-control
fi
echo "building netsim (release) ..." >&2
(cd "$root" && cargo build --release -q -p netsim)
netsim="$target/release/netsim"

# Runs a command, prints "WALL_S CPU_S PEAK_KB".
measure() {
    /usr/bin/time -f "%e %U %S %M" -o "$work/time" "$@" >"$work/out" 2>&1 ||
        { cat "$work/out" >&2; exit 1; }
    tail -1 "$work/time" | awk '{ print $1, $2 + $3, $4 }'
}

# The median of the numbers on stdin.
median() { sort -g | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }

printf '%-38s %9s %9s %7s %9s %9s %7s %10s %9s\n' workload "netsim s" "ns-3 s" ratio \
    "netsim" "ns-3" "CPU" "netsim MB" "ns-3 MB"
printf '%-38s %9s %9s %7s %9s %9s %7s %10s %9s\n' "" wall wall wall "CPU s" "CPU s" ratio peak peak
run_workload() {
    local label=$1 scenario=$2
    shift 2
    : >"$work/n"
    : >"$work/s"
    for _ in $(seq "$rounds"); do
        measure "$netsim" run --no-plots --quiet --out "$work/run" "$here/$scenario" >>"$work/n"
        measure "$ns3" "$@" >>"$work/s"
    done
    local nw nc nm sw sc sm
    nw=$(cut -d' ' -f1 "$work/n" | median)
    nc=$(cut -d' ' -f2 "$work/n" | median)
    nm=$(cut -d' ' -f3 "$work/n" | median)
    sw=$(cut -d' ' -f1 "$work/s" | median)
    sc=$(cut -d' ' -f2 "$work/s" | median)
    sm=$(cut -d' ' -f3 "$work/s" | median)
    awk -v l="$label" -v nw="$nw" -v sw="$sw" -v nc="$nc" -v sc="$sc" -v nm="$nm" -v sm="$sm" '
        function r(a, b) { return a / (b > 0 ? b : 0.005) }
        BEGIN { printf "%-38s %9.2f %9.2f %6.1fx %9.2f %9.2f %6.1fx %10.1f %9.1f\n",
            l, nw, sw, r(sw, nw), nc, sc, r(sc, nc), nm / 1024, sm / 1024 }'
}
run_workload "100 Mbit/s 50 ms, 95 Mbit/s for 60 s" cbr_100m.yaml \
    --rate=100Mbps --delay=50ms --send=95Mbps --seconds=60 --loss=0.01 --queue=8334
run_workload "1 Gbit/s 53 ms, 950 Mbit/s for 10 s" cbr_1g.yaml \
    --rate=1Gbps --delay=53ms --send=950Mbps --seconds=10 --loss=0.01 --queue=8834
echo "(median of $rounds round(s); wall = elapsed s, CPU = user + system s, MB = peak resident set)"
