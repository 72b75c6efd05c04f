#!/usr/bin/env bash
# The fused engine on the GPU machine, in one call: the CUDA tests of tensor, kernels and models
# (CUTREC_REQUIRE_CUDA=1: a missing GPU fails them), then `cutrec-bench train --engine fused` at
# the three step configurations beside PyTorch eager (../shared/anchors/sasrec_step_torch.py,
# copied to .device/ by the caller), logs under $OUT (or ./gpu-out), a short table last.
# Use (device tool): source .device/setup.sh && bash scripts/gpu-fused.sh [tests|bench|all]
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
out="${OUT:-gpu-out}"
mkdir -p "$out"
what="${1:-all}"
export CUTREC_REQUIRE_CUDA=1
summary=()
run() { # name timeout command...
  local name=$1 t=$2
  shift 2
  local t0=$SECONDS
  timeout "$t" "$@" >"$out/$name.log" 2>"$out/$name.err"
  local rc=$?
  local tail
  tail=$(cat "$out/$name.log" "$out/$name.err" | grep -E "Tests +[0-9]|Test Files" | tr -s ' ' | tr '\n' ' ')
  summary+=("$(printf '%-22s rc=%-3s %4ss  %s' "$name" "$rc" "$((SECONDS - t0))" "$tail")")
}
configs="${CONFIGS:-beauty-d64 ml20m beauty}"
if [ "$what" = tests ] || [ "$what" = all ]; then
  # The three packages' GPU tests at once (one GPU has room for all three).
  run tensor "${TEST_TIMEOUT:-300}" bash -c 'cd packages/tensor && vitest run test/cuda' &
  run kernels "${TEST_TIMEOUT:-300}" bash -c 'cd packages/kernels && vitest run test/cuda' &
  run models "${TEST_TIMEOUT:-300}" bash -c 'cd packages/models && vitest run test/cuda' &
  wait
  for n in tensor kernels models; do
    summary+=("$(printf '%-22s %s' "$n" "$(cat "$out/$n.log" "$out/$n.err" | grep -E "Tests +[0-9]" | tr -s ' ')")")
  done
fi
if [ "$what" = bench ] || [ "$what" = all ]; then
  for cfg in $configs; do
    for share in ${SHARES:-block row}; do
      run "bench-$cfg-$share" "${BENCH_TIMEOUT:-240}" node apps/bench/dist/cli.js train --engine fused --config "$cfg" \
        --losses cce- --share "$share" --precision fp32,bf16 --steps 20 --json ${PROFILE:+--profile}
    done
  done
  [ -f .device/sasrec_step_torch.py ] && run torch 300 python3 .device/sasrec_step_torch.py "$(echo $configs | tr ' ' ',')"
fi
echo "== failures (first lines) =="
grep -hE "FAIL|✗|×|Error:|AssertionError" "$out"/*.log "$out"/*.err 2>/dev/null | head -40
echo "== fused step times =="
for f in "$out"/bench-*.log; do
  [ -f "$f" ] || continue
  node -e '
    const fs = require("fs"); const t = fs.readFileSync(process.argv[1], "utf8"); const i = t.indexOf("{");
    if (i < 0) { console.log(process.argv[1], "no JSON"); process.exit(0); }
    const r = JSON.parse(t.slice(i));
    for (const x of r.fused) {
      console.log([r.config.name, x.precision, x.loss, x.stepMs?.toFixed(3), x.pipelinedMs?.toFixed(3), ((x.peakBytes ?? 0) / 2 ** 20).toFixed(0) + " MiB", x.lossValue?.toFixed(4), x.graphNodes, x.skipped ?? ""].join("  "));
      if (x.profile) console.log("   profile ms/step: " + x.profile.slice(0, 9).map((p) => `${p.op} ${p.ms.toFixed(3)} (${p.calls})`).join(", "));
    }
  ' "$f"
done
[ -f "$out/torch.log" ] && cat "$out/torch.log"
echo "== summary =="
printf '%s\n' "${summary[@]}"
