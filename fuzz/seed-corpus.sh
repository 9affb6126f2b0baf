#!/usr/bin/env bash
# Seeds the decode_packet corpus with the UDT packets found in pcap files, so that the
# fuzzer starts from real handshakes, ACKs, NAKs, ... rather than from nothing.
#
#   fuzz/seed-corpus.sh conformance/traces/reference/*.pcap
#
# Needs tshark. Writes one file per distinct UDP payload into fuzz/corpus/decode_packet/
# (git-ignored). Every control packet is kept; of the data packets only the first
# $DATA_PER_FILE per capture, cut to $DATA_BYTES bytes (the header is what matters).
set -euo pipefail

DATA_PER_FILE=${DATA_PER_FILE:-20}
DATA_BYTES=${DATA_BYTES:-64}

if [ "$#" -eq 0 ]; then
    echo "usage: $0 FILE.pcap..." >&2
    exit 2
fi
command -v tshark >/dev/null || { echo "$0: tshark is not installed" >&2; exit 1; }

out="$(cd "$(dirname "$0")" && pwd)/corpus/decode_packet"
mkdir -p "$out"
before=$(find "$out" -type f | wc -l)

for pcap in "$@"; do
    data=0
    tshark -r "$pcap" -Y udp -T fields -e udp.payload 2>/dev/null |
        tr -d ':' |
        while read -r hex; do
            [ -n "$hex" ] || continue
            # Header bit 0 set = control packet.
            if (( 16#${hex:0:1} < 8 )); then
                (( data < DATA_PER_FILE )) || continue
                data=$((data + 1))
                hex=${hex:0:$((2 * DATA_BYTES))}
            fi
            name=$(printf '%s' "$hex" | sha1sum | cut -c1-40)
            # shellcheck disable=SC2059 # the format is the \xNN escapes themselves
            printf "$(printf '%s' "$hex" | sed 's/../\\x&/g')" >"$out/$name"
        done
done

after=$(find "$out" -type f | wc -l)
echo "seed-corpus: $((after - before)) new inputs, $after in $out"
