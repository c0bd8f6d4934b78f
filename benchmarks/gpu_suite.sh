#!/usr/bin/env bash
# One prepared run for a GPU machine, numbers into benchmarks/results/gpu/:
# 1. benchmarks/bench_gpu.py: I3D fp32 clips/s at 16 and 64 frames, batch 1-64; engine overhead; batched versus
#    one-video-per-call queries/s; whether TF32 or bf16 keeps the finite-difference signal (bench_gpu.md);
# 2. the paper's Kinetics-400 / I3D protocol (examples/paper_k400_i3d.toml: 64 frames x 10 test-time clips,
#    eps 0.03, untargeted) cut down (ME-Sampler and V-BAD on the first 4 classes of the shared clips, budget
#    1,000), then its report (report.md, results.csv, the tables as CSV); --no-paper skips it;
# 3. with --bench-minutes M: the real-model benchmark campaign examples/k400_i3d_cpu.toml continued from the
#    committed store for at most M minutes (20 windows per batch; killed attacks are simply not stored), into
#    OUT/bench; merge it home with: mesampler campaign merge OUT/bench --into benchmarks/results/k400_i3d_cpu
# Steps 1-2 are meant to fit in 8 minutes on one GPU (an estimate until measured there).
#   bash benchmarks/gpu_suite.sh [--no-paper] [--bench-minutes M]   # on the GPU machine (cuda)
#   bash benchmarks/gpu_suite.sh --tiny [--out D]                     # seconds on a CPU: the test-bed, same steps
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
tiny=0
paper=1
minutes=0
out="$here/benchmarks/results/gpu"
while [ $# -gt 0 ]; do
  case "$1" in
    --tiny) tiny=1; shift ;;
    --no-paper) paper=0; shift ;;
    --bench-minutes) minutes="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    *) echo "gpu_suite.sh: unknown argument $1 (use --tiny, --no-paper, --bench-minutes M, --out DIR)" >&2; exit 2 ;;
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
if [ "$tiny" = 1 ]; then
  "$py" "$here/benchmarks/bench_gpu.py" --tiny --out "$out"
else
  "$py" "$here/benchmarks/bench_gpu.py" --device cuda --out "$out"
fi
if [ "$paper" = 1 ]; then
  ms campaign run "$config" --out "$work" --dry-run "${args[@]}"
  start=$(date +%s)
  ms campaign run "$config" --out "$work" --no-progress "${args[@]}"
  echo "campaign wall time: $(( $(date +%s) - start )) s" | tee "$out/wall_time.txt"
  ms report "$work" --out "$out" --gallery 4
fi
if [ "$minutes" != 0 ]; then
  bench="$out/bench"
  rm -rf "$bench"
  mkdir -p "$bench"
  if [ "$tiny" = 1 ]; then
    bconfig="$here/examples/campaign_testbed.toml"
    bargs=(--methods me-sampler --motion testbed --max-classes 2 --max-queries 30 --device cpu)
  else
    bconfig="$here/examples/k400_i3d_cpu.toml"
    bargs=(--device cuda --batch-videos 20)
    cp "$here/benchmarks/results/k400_i3d_cpu/results.sqlite" "$bench/" 2>/dev/null || true
  fi
  status=0
  timeout "$(( minutes * 60 ))" "$py" -c 'import sys; from mesampler.cli.main import main; sys.exit(main(sys.argv[1:]))' \
    campaign run "$bconfig" --out "$bench" --resume --no-progress "${bargs[@]}" || status=$?
  [ "$status" = 0 ] || [ "$status" = 124 ] || exit "$status"
  echo "benchmark campaign: $([ "$status" = 124 ] && echo "stopped after $minutes min" || echo finished); merge with: mesampler campaign merge $bench --into benchmarks/results/k400_i3d_cpu"
fi
echo "gpu_suite: numbers in $out"
