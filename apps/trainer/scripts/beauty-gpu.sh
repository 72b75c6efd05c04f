#!/usr/bin/env bash
# Trains SASRec on ../shared/data/Beauty.txt on the GPU (WebGPU through Vulkan) with each loss and
# prints, per run: mean epoch time, peak GPU memory, and test NDCG@10 / HR@10 of the best checkpoint.
# Run from the repository root after `npm ci && npm run build`:
#   bash apps/trainer/scripts/beauty-gpu.sh            # all runs below
#   bash apps/trainer/scripts/beauty-gpu.sh cce        # only the runs whose name contains "cce"
set -euo pipefail
DATA=${DATA:-../shared/data/Beauty.txt}
EPOCHS=${EPOCHS:-30}
FILTER=${1:-}
npx cutrec info

run() {
  local name=$1; shift
  [[ -n "$FILTER" && "$name" != *"$FILTER"* ]] && return 0
  echo "== $name: cutrec train --data $DATA --format sasrec $* --backend webgpu --epochs $EPOCHS --json --out runs/beauty-$name"
  npx cutrec train --data "$DATA" --format sasrec "$@" --backend webgpu --epochs "$EPOCHS" --json --out "runs/beauty-$name" \
    > "runs/beauty-$name.events.jsonl"
  node -e '
    const fs = require("fs");
    const lines = fs.readFileSync(process.argv[1] + "/metrics.jsonl", "utf8").trim().split("\n").map(JSON.parse);
    const ep = lines.filter((l) => l.type === "epoch"), t = lines.find((l) => l.type === "test");
    const mean = ep.reduce((a, l) => a + l.epochTimeSec, 0) / ep.length;
    const peak = Math.max(...ep.map((l) => l.peakGpuBytes ?? 0));
    console.log(`${process.argv[2]}: ${ep.length} epochs, ${mean.toFixed(1)} s/epoch, peak GPU ${(peak / 2 ** 20).toFixed(0)} MiB, ` +
      `test NDCG@10 ${t.test["ndcg@10"].toFixed(4)} HR@10 ${t.test["hr@10"].toFixed(4)} (best epoch ${t.bestEpoch + 1}; ` +
      `popularity ${t.popularity["ndcg@10"].toFixed(4)} / ${t.popularity["hr@10"].toFixed(4)})`);
  ' "runs/beauty-$name" "$name"
}

run cce --loss cce- --negatives 256
run cce-block --loss cce- --negatives 256 --share block --block-rows 64
run ce --loss ce
run bce --loss bce --negatives 1
