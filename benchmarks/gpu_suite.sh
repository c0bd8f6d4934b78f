#!/usr/bin/env bash
# One prepared run for a GPU machine: the paper's Kinetics-400 / I3D protocol (examples/paper_k400_i3d.toml:
# 64 frames x 10 test-time clips, eps 0.03, untargeted) cut to about 10 minutes (ME-Sampler and V-BAD on the
# first 4 classes of the shared clips, budget 1,000: ~8,000 queries of 10 I3D clips each; an estimate, not yet
# measured on a GPU), then its report; numbers go to
# benchmarks/results/gpu/ (report.md, results.csv, the tables as CSV, environment.json).
#   bash benchmarks/gpu_suite.sh                 # on the GPU machine (cuda)
#   bash benchmarks/gpu_suite.sh --tiny          # seconds on a CPU: the test-bed model, same steps
#   bash benchmarks/gpu_suite.sh --tiny --out D  # write under D instead
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
tiny=0
out="$here/benchmarks/results/gpu"
while [ $# -gt 0 ]; do
  case "$1" in
    --tiny) tiny=1; shift ;;
    --out) out="$2"; shift 2 ;;
    *) echo "gpu_suite.sh: unknown argument $1 (use --tiny, --out DIR)" >&2; exit 2 ;;
  esac
done
py="${PYTHON:-python}"
ms() { "$py" -c 'import sys; from mesampler.cli.main import main; sys.exit(main(sys.argv[1:]))' "$@"; }
mkdir -p "$out"
work="$out/campaign"
rm -rf "$work"
if [ "$tiny" = 1 ]; then
  config="$here/examples/campaign_testbed.toml"
  args=(--methods me-sampler,one-noise --motion testbed --max-classes 3 --max-queries 30 --device cpu)
else
  config="$here/examples/paper_k400_i3d.toml"
  args=(--methods me-sampler,v-bad --settings untargeted --max-classes 4 --max-queries 1000 --device cuda)
fi
"$py" - "$out/environment.json" <<'PY'
import json, sys
from mesampler.reports import environment
json.dump(environment(), open(sys.argv[1], "w"), indent=2)
PY
ms campaign run "$config" --out "$work" --dry-run "${args[@]}"
start=$(date +%s)
ms campaign run "$config" --out "$work" --no-progress "${args[@]}"
echo "campaign wall time: $(( $(date +%s) - start )) s" | tee "$out/wall_time.txt"
ms report "$work" --out "$out" --gallery 4
echo "gpu_suite: numbers in $out (report.md, results.csv, verdicts.csv)"
