#!/usr/bin/env bash
# Loopback benchmark: one UDT stream, SIZE bytes (default 1 GiB), no impairment,
# the project (udt-send -> udt-recv) against the reference library (our own
# udt4_peer linked with libudt, sender -> receiver), in the same run.
#
#   bash udt/bench/loopback.sh [SIZE_BYTES] [ROUNDS]
#
# For each side it prints the rate (SIZE over the sender's wall time, connect and
# close included) and the CPU seconds (user + system, sender and receiver
# together) per GiB. Neither side computes an MD5 here (udt-send/recv --no-md5;
# the reference peer has none): the figures are the transport's own.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

size=${1:-1073741824}
rounds=${2:-1}
target=${CARGO_TARGET_DIR:-target}
# Extra flags for udt-send and udt-recv, e.g. UDT_FLAGS="--threads 2".
UDT_FLAGS=${UDT_FLAGS:-}
cargo build --release -q -p udt --bins
bin=$target/release
peer=$target/release/udt4_peer
g++ -O2 -o "$peer" udt/tests/peer/udt4_peer.cpp -ludt -lpthread
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
TIMEFORMAT='%R %U %S'

# wait_for FILE PATTERN: the line of FILE matching PATTERN, once it appears.
wait_for() {
    for _ in $(seq 1 200); do
        if grep -q "$2" "$1" 2>/dev/null; then grep -m1 "$2" "$1"; return; fi
        sleep 0.05
    done
    echo "timed out waiting for '$2' in $1" >&2
    cat "$1" >&2
    exit 1
}

# report NAME: reads $work/recv.time and $work/send.time (real user sys).
report() {
    read -r _ ru rs <"$work/recv.time"
    read -r sr su ss <"$work/send.time"
    awk -v n="$1" -v b="$size" -v sr="$sr" -v cpu="$(echo "$ru $rs $su $ss" | awk '{print $1+$2+$3+$4}')" \
        'BEGIN { gib = b / 1073741824;
                 printf "%-10s %8.3f Gbit/s  %6.2f s wall  %6.2f CPU s/GiB (sender+receiver)\n",
                        n, b * 8 / sr / 1e9, sr, cpu / gib }'
}

for round in $(seq 1 "$rounds"); do
    echo "--- round $round: $size bytes over loopback"
    # The project.
    : >"$work/recv.log"
    { time "$bin/udt-recv" -q --no-md5 $UDT_FLAGS --listen 127.0.0.1:0 /dev/null 2>"$work/recv.log"; } 2>"$work/recv.time" &
    port=$(wait_for "$work/recv.log" 'listening on' | sed 's/.*://')
    { time "$bin/udt-send" -q --no-md5 $UDT_FLAGS --connect "127.0.0.1:$port" --bytes "$size" 2>"$work/send.log"; } 2>"$work/send.time"
    wait
    report project
    # The reference library.
    : >"$work/recv.log"
    { time "$peer" listen 0 stream recv --discard 2>"$work/recv.log"; } 2>"$work/recv.time" &
    port=$(wait_for "$work/recv.log" '^PORT' | awk '{print $2}')
    { time "$peer" connect 127.0.0.1 "$port" stream send --gen "$size" 2>"$work/send.log"; } 2>"$work/send.time"
    wait
    report reference
done
