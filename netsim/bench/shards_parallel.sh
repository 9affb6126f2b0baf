#!/usr/bin/env bash
# Sharded sweep with GNU parallel, checked against the same grid run in one piece.
#
#   bash netsim/bench/shards_parallel.sh [--shards N] [--jobs J] [--keep DIR]
#                                        [--corrupt FILE] [SCENARIO] [-- RUN_OPTION...]
#
# Builds netsim once (release), then in a scratch folder:
#   1. runs SCENARIO (default netsim/bench/shard_grid.yaml, 32 runs) as N shards (default 3),
#      `netsim run SCENARIO --shard I/N`, I = 1..N, J at a time with `parallel` (default: one
#      per core), each shard single-threaded, into shards/out/<name>.shard-I-of-N/;
#   2. joins them with `netsim merge ... --out merged`;
#   3. runs the same grid unsharded (`netsim run SCENARIO`, into local/out/<name>/);
#   4. compares merged/ with local/out/<name>/ byte for byte: the same files on both sides
#      (every run folder's metrics.json, timeseries.csv, queues.csv, pcaps, summaries, plots;
#      the top-level grid.json manifest and report) and equal contents. It prints each file
#      that differs or exists on one side only and exits 1 on any.
# RUN_OPTIONs (after `--`) go to every `netsim run`, e.g. `-- --duration 2s --no-plots`.
#
# Both sides record the same command line in each run's summary (the binary and scenario
# by absolute path, default output folders, no --out): netsim drops `--shard` and `--jobs`
# from it, so the reports match too, not only the data.
#
# --corrupt FILE flips one digit of the first file named FILE (e.g. metrics.json,
# timeseries.csv, server.pcap, grid.json) in shard 1 before the merge: the run must then
# fail, naming the file. --keep DIR keeps the scratch folder's contents in DIR.
#
# In CI (.ci/run) on the 32-run grid: 10-20 s on 2 cores once netsim is built.
set -euo pipefail

usage() { sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; }

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
shards=3
jobs=$(nproc 2>/dev/null || echo 2)
keep=""
corrupt=""
scenario=$root/netsim/bench/shard_grid.yaml
run_opts=()
while [ $# -gt 0 ]; do
    case $1 in
        --shards) shards=$2; shift 2 ;;
        --jobs) jobs=$2; shift 2 ;;
        --keep) keep=$2; shift 2 ;;
        --corrupt) corrupt=$2; shift 2 ;;
        -h | --help) usage; exit 0 ;;
        --) shift; run_opts=("$@"); break ;;
        -*) echo "shards_parallel: unknown option $1 (try --help)" >&2; exit 2 ;;
        *) scenario=$1; shift ;;
    esac
done
case $shards in '' | *[!0-9]* | 0) echo "shards_parallel: --shards needs a number >= 1" >&2; exit 2 ;; esac
scenario=$(cd "$(dirname "$scenario")" && pwd)/$(basename "$scenario")
command -v parallel >/dev/null || {
    echo "shards_parallel: GNU parallel is missing (Debian: apt-get install parallel)" >&2
    exit 2
}

t0=$SECONDS
(cd "$root" && cargo build --release -q -p netsim)
target=${CARGO_TARGET_DIR:-target}
case $target in /*) ;; *) target=$root/$target ;; esac
netsim=$target/release/netsim
[ -x "$netsim" ] || { echo "shards_parallel: no binary at $netsim" >&2; exit 2; }
echo "== built $netsim in $((SECONDS - t0)) s"

work=$(mktemp -d "${TMPDIR:-/tmp}/shards_parallel.XXXXXX")
cleanup() {
    if [ -n "$keep" ]; then
        mkdir -p "$keep" && cp -a "$work"/. "$keep"/ && echo "kept the outputs in $keep"
    fi
    rm -rf "$work"
}
trap cleanup EXIT
mkdir -p "$work/shards" "$work/local"

# 1. The shards, J at a time; --halt stops the rest when one fails. `-q` quotes each
#    argument for the shell parallel starts, so paths with spaces survive.
t1=$SECONDS
echo "== $shards shards of $(basename "$scenario") with parallel -j $jobs"
(cd "$work/shards" &&
    parallel --will-cite -q -j "$jobs" --halt now,fail=1 --tag --line-buffer \
        "$netsim" run "$scenario" --quiet "${run_opts[@]}" --shard '{}'/"$shards" --jobs 1 \
        ::: $(seq 1 "$shards"))
shard_dirs=()
for i in $(seq 1 "$shards"); do
    d=("$work"/shards/out/*.shard-"$i"-of-"$shards")
    [ -d "${d[0]}" ] || { echo "shards_parallel: shard $i wrote no folder" >&2; exit 1; }
    shard_dirs+=("${d[0]}")
done
echo "-- shards: $((SECONDS - t1)) s"

if [ -n "$corrupt" ]; then
    victim=$(find "${shard_dirs[0]}" -type f -name "$corrupt" | LC_ALL=C sort | sed -n 1p)
    [ -n "$victim" ] || { echo "shards_parallel: no $corrupt in ${shard_dirs[0]}" >&2; exit 2; }
    # The first digit at or after the middle of the file becomes the next digit.
    size=$(stat -c %s "$victim")
    hit=$(tail -c +$((size / 2 + 1)) "$victim" | LC_ALL=C grep -m1 -abo '[0-9]' | sed -n 1p) || true
    [ -n "$hit" ] || { echo "shards_parallel: no digit to flip in $victim" >&2; exit 2; }
    offset=$((size / 2 + ${hit%%:*}))
    digit=${hit##*:}
    printf '%s' "$(((digit + 1) % 10))" | dd of="$victim" bs=1 seek="$offset" conv=notrunc status=none
    echo "== corrupted ${victim#"$work"/} at byte $offset ($digit -> $(((digit + 1) % 10)))"
fi

# 2. Merge.
t2=$SECONDS
merge_opts=()
for o in "${run_opts[@]}"; do [ "$o" != --no-plots ] || merge_opts=(--no-plots); done
"$netsim" merge "${shard_dirs[@]}" --out "$work/merged" "${merge_opts[@]}"
echo "-- merge: $((SECONDS - t2)) s"

# 3. The same grid in one piece (same options; --jobs only changes the threads).
t3=$SECONDS
echo "== unsharded"
(cd "$work/local" && "$netsim" run "$scenario" --quiet "${run_opts[@]}")
local_dirs=("$work"/local/out/*)
if [ ${#local_dirs[@]} -ne 1 ] || [ ! -d "${local_dirs[0]}" ]; then
    echo "shards_parallel: expected one folder in $work/local/out" >&2
    exit 1
fi
reference=${local_dirs[0]}
echo "-- unsharded: $((SECONDS - t3)) s"

# 4. Compare every file.
list() { find "$1" -type f -printf '%P\n' | LC_ALL=C sort; }
list "$work/merged" >"$work/merged.files"
list "$reference" >"$work/local.files"
bad=0
while read -r f; do
    echo "DIFFERS: only in the merged shards: $f"
    bad=$((bad + 1))
done < <(LC_ALL=C comm -23 "$work/merged.files" "$work/local.files")
while read -r f; do
    echo "DIFFERS: only in the unsharded run: $f"
    bad=$((bad + 1))
done < <(LC_ALL=C comm -13 "$work/merged.files" "$work/local.files")
same=0
while read -r f; do
    if cmp -s "$work/merged/$f" "$reference/$f"; then
        same=$((same + 1))
    else
        echo "DIFFERS: $f: first at $(cmp "$work/merged/$f" "$reference/$f" 2>&1 | sed -n 's/.* differ: //p')"
        bad=$((bad + 1))
    fi
done < <(LC_ALL=C comm -12 "$work/merged.files" "$work/local.files")

runs=$(grep -c '"label"' "$reference/grid.json" || true)
count() { grep -c "$1" "$work/local.files" || true; }
echo "compared $same files: grid.json, $runs run folders ($(count '/metrics\.json$') metrics.json," \
    "$(count '/timeseries\.csv$') timeseries.csv, $(count '\.pcap$') pcaps), reports and plots"
if [ "$bad" -gt 0 ] || [ "$runs" -eq 0 ] || [ "$(count '/metrics\.json$')" -ne "$runs" ]; then
    echo "FAILED: $bad files differ between $shards merged shards and the unsharded run" >&2
    exit 1
fi
echo "OK: $shards shards merged = the unsharded run, byte for byte ($((SECONDS - t1)) s after the build)"
