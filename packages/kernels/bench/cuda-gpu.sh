#!/usr/bin/env bash
# One device run (from the repo root, after `source .device/setup.sh`): CUDA tests of tensor and
# kernels, then the benchmark. Logs and JSON go to $OUT (or ./cuda-out). Short table last.
out=${OUT:-cuda-out}; mkdir -p "$out"
nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv,noheader | tee "$out/gpu.txt"
(cd packages/tensor && CUTREC_REQUIRE_CUDA=1 timeout 60 vitest run test/cuda.test.ts 2>&1) > "$out/tensor-test.log"
echo "tensor: $(grep -E 'Tests ' "$out/tensor-test.log" | tail -1)"
(cd packages/kernels && CUTREC_REQUIRE_CUDA=1 timeout 100 vitest run test/cuda.test.ts 2>&1) > "$out/kernels-test.log"
echo "kernels: $(grep -E 'Tests ' "$out/kernels-test.log" | tail -1)"
grep -E "✗|×|FAIL|AssertionError|Error:" "$out/kernels-test.log" "$out/tensor-test.log" | sed 's/\x1b\[[0-9;]*m//g' | head -40
(cd packages/kernels && timeout ${BENCH_TIMEOUT:-200} node bench/cuda-bench.mjs --out "$out/cuda-bench.json" ${BENCH_ARGS:-} 2>&1) | tee "$out/bench.log" | tail -30
