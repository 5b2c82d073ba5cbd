#!/usr/bin/env bash
# The GPU measurement for docs/performance.md and benchmarks/perf/RESULTS.md, in one go.
# Run from the repository root on a machine with one CUDA GPU and torch installed; results go to
# $OUT (default: the current directory). About 5 minutes on one H100, most of it compiling.
set -uo pipefail
OUT=${OUT:-.}
# packages the GPU image lacks (torch-fidelity) may come along as wheels in .whl/
if ls .whl/*.whl >/dev/null 2>&1; then python3 -m pip install -q --no-index --no-deps .whl/*.whl >"$OUT/gpu-install.log" 2>&1; fi
python3 -m pip install -q --no-deps --no-build-isolation -e . >>"$OUT/gpu-install.log" 2>&1 || { cat "$OUT/gpu-install.log"; exit 1; }
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv | tee "$OUT/gpu-machine.txt"
python3 -c "import torch; print('torch', torch.__version__)" | tee -a "$OUT/gpu-machine.txt"
# the GPU-only tests: no host sync per step (fp32 / bf16 / fp16), fast paths on CUDA
timeout "${TEST_TIMEOUT:-240}" python3 -m pytest -q -p no:cacheprovider tests/test_fastpaths.py 2>&1 | tail -5 | tee "$OUT/gpu-tests.txt"
bench() {  # name, then bench_trainer options
  local name=$1; shift
  timeout "${BENCH_TIMEOUT:-300}" python3 benchmarks/perf/bench_trainer.py --device cuda --sizes 64,32 --warmup 10 --steps 50 --rounds 5 \
    --json "$@" >"$OUT/gpu-$name.json" 2>"$OUT/gpu-$name.err" && echo "$name done" || { echo "$name FAILED"; tail -3 "$OUT/gpu-$name.err"; }
  python3 - "$OUT/gpu-$name.json" <<'PY' 2>/dev/null || true
import json, sys
r = json.load(open(sys.argv[1]))
for size, s in r["sizes"].items():
    arms = ", ".join(f"{k} {v['s_per_step'] * 1e3:.2f} ms" for k, v in s["arms"].items())
    print(f"  {size}x{size}: {arms}; fp32 overhead {100 * s['ganzoo_fp32_overhead']:+.1f}%, fast {s['ganzoo_fast_speedup']:.2f}x")
PY
}
bench bf16 --precision bf16 --with-plain-fast
bench fp16 --precision fp16
bench bf16-compile --precision bf16 --compile
