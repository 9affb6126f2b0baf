#!/usr/bin/env bash
# Runs a netsim sweep on a Slurm cluster: N array tasks (one shard each), then a merge job
# that starts only when all of them succeeded.
#
#   cargo build --release -p netsim            # once, on a filesystem the nodes share
#   bash netsim/bench/slurm/submit.sh scenarios/cc_sweep.yaml 8 [target/release/netsim]
#
# Outputs: out/<name>.shard-I-of-N/ per shard and the merged out/<name>/, under the folder
# submit.sh is called from (or STUDY_DIR). Extra sbatch options (partition, account) go in
# SBATCH_OPTS, e.g. SBATCH_OPTS="--partition=short --account=netlab".
set -euo pipefail

[ $# -ge 2 ] || { sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; exit 2; }
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SCENARIO=$(realpath "$1")
SHARDS=$2
NETSIM=$(realpath -m "${3:-${CARGO_TARGET_DIR:-$here/../../../target}/release/netsim}")
[ -x "$NETSIM" ] || { echo "submit.sh: no netsim binary at $NETSIM (cargo build --release -p netsim)" >&2; exit 2; }
STUDY_DIR=$(realpath "${STUDY_DIR:-.}")
export SCENARIO SHARDS NETSIM STUDY_DIR
read -r -a opts <<<"${SBATCH_OPTS:-}"

array=$(sbatch --parsable "${opts[@]}" --array="0-$((SHARDS - 1))" --export=ALL \
    "$here/shards.sbatch")
array=${array%%;*} # --parsable prints ID or ID;CLUSTER
merge=$(sbatch --parsable "${opts[@]}" --dependency="afterok:$array" --export=ALL \
    "$here/merge.sbatch")
echo "shards: array job $array (tasks 0-$((SHARDS - 1))); merge: job ${merge%%;*} after it"
