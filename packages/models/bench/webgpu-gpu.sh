#!/usr/bin/env bash
# One device run of the fused engine on WebGPU (from the repo root, after `source .device/setup.sh`;
# built packages): the WGSL layer-op tests and the engine contract on the GPU's Vulkan adapter, the
# WGSL op timings, the fused WebGPU step at the issue's configurations, and PyTorch eager beside it
# when the anchor is there. Logs and JSON go to $OUT (or ./webgpu-out). Short table last.
out=${OUT:-webgpu-out}; mkdir -p "$out"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null | tee "$out/gpu.txt"
strip() { sed 's/\x1b\[[0-9;]*m//g'; }
(cd packages/kernels && CI=true timeout 240 vitest run test/wgsl-linear.test.ts test/wgsl-attention.test.ts \
  test/wgsl-layernorm.test.ts test/wgsl-cce-steps.test.ts 2>&1) | strip > "$out/kernels-wgsl.log"
echo "kernels wgsl: $(grep -E 'Tests ' "$out/kernels-wgsl.log" | tail -1)"
(cd packages/models && CI=true timeout 240 vitest run test/fused-webgpu.test.ts 2>&1) | strip > "$out/fused-webgpu.log"
echo "fused webgpu contract: $(grep -E 'Tests ' "$out/fused-webgpu.log" | tail -1)"
grep -E "×|FAIL|AssertionError|Error:" "$out/kernels-wgsl.log" "$out/fused-webgpu.log" | head -20
(cd packages/kernels && timeout 200 node bench/wgsl-ops-bench.mjs --shapes beauty-d64,ml20m --out "$out/wgsl-ops.json" 2>&1) \
  | grep -v Warning | tee "$out/wgsl-ops.log" | tail -22
for share in block row; do
  (cd packages/models && timeout 300 node bench/webgpu-step.mjs --configs beauty-d64,ml20m --share "$share" \
    --out "$out/webgpu-step-$share.json" 2>&1) | grep -v Warning | tee "$out/webgpu-step-$share.log" | grep -E 'ms/step|Error'
done
# PyTorch eager at the same configurations (DESIGN: copy the anchor into an ignored folder of the tree).
for anchor in "${ANCHOR:-}" shared/anchors/sasrec_step_torch.py ../shared/anchors/sasrec_step_torch.py; do
  [ -n "$anchor" ] && [ -f "$anchor" ] && break
done
if [ -n "$anchor" ] && [ -f "$anchor" ]; then timeout 300 python3 "$anchor" beauty-d64,ml20m 2>&1 | tee "$out/torch.log" | tail -6; fi
