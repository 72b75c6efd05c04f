#!/usr/bin/env bash
# The paper's negatives × batch-size experiment, converged (issue 15), on the GPU machine:
# `cutrec-bench grid` on Beauty.txt (copied to .device/ by the caller) with the fused CUDA engine,
# CCE- share row, seen items removed in evaluation, each cell trained to early stopping on
# validation NDCG@10 (patience 10, at most 200 epochs), PARALLEL cells at once (one process each;
# the GPU machine has 16 cores and one H200). grid.json is written as cells finish; no cell or
# epoch starts after TIME_LIMIT seconds, and a second call resumes into the same results folder
# (cells cut by the limit continue from the state they saved in its cells/ folder, or start over
# on a fresh machine, where only grid.json comes along). grid.json, grid.md, the SVGs and the
# log go to $OUT; a table of test NDCG@10 (K rows × batch columns) and the budget view come last.
# Use (device tool): source .device/setup.sh && bash scripts/grid.sh
#   NEGATIVES=16,64,256 BATCH_SIZES=64,128 bash scripts/grid.sh   # a subset (same folder: resumes)
# EXTRA adds flags (e.g. EXTRA="--max-steps 50" for a smoke run; a changed recipe needs another GRID_DIR).
# A fresh machine has no results folder: put the first call's grid.json at .device/grid/grid.json
# (carried with .device) and the second call starts from it.
# shellcheck disable=SC2086
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
out="${OUT:-gpu-out}"
dir="${GRID_DIR:-bench-results/grid-beauty}"
limit="${TIME_LIMIT:-420}"
mkdir -p "$out" "$dir"
if [ ! -f "$dir/grid.json" ] && [ -f .device/grid/grid.json ]; then
  cp -r .device/grid/. "$dir/"   # grid.json, and cells/ if it was carried too
  echo "resuming from .device/grid/grid.json"
fi
t0=$SECONDS
# `cutrec train`'s recipe (2 blocks, 2 heads, hidden 64, dropout 0.5, lr 2e-3, max len 50).
timeout $((limit + 60)) node apps/bench/dist/cli.js grid --data "${DATA:-.device/Beauty.txt}" --format sasrec \
  --negatives "${NEGATIVES:-16,64,256,1024,4096}" --batch-sizes "${BATCH_SIZES:-64,128,256,512,1024}" --max-lens 50 \
  --loss cce- --share row --engine fused --precision "${PRECISION:-fp32}" --remove-seen \
  --epochs "${EPOCHS:-200}" --patience "${PATIENCE:-10}" --blocks 2 --heads 2 --hidden 64 --dropout 0.5 --lr 0.002 \
  --budget-mib 65536 --parallel "${PARALLEL:-9}" --time-limit "$limit" --resume --out "$dir" ${EXTRA:-} >"$dir/grid.log" 2>&1
rc=$?
echo "== cutrec-bench grid: exit $rc after $((SECONDS - t0)) s =="
[ "$rc" = 0 ] || tail -n 5 "$dir/grid.log"
cp "$dir/grid.json" "$dir/grid.md" "$dir"/*.svg "$dir/grid.log" "$out/" 2>/dev/null
node -e '
  const d = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
  const Ks = [...new Set(d.rows.map((r) => r.negatives))].sort((a, b) => a - b);
  const Bs = [...new Set(d.rows.map((r) => r.batchSize))].sort((a, b) => a - b);
  const cell = (K, B) => {
    const r = d.rows.find((x) => x.negatives === K && x.batchSize === B)?.result;
    if (!r) return "-";
    if (r.error) return "error";
    const t = `${r.ndcg10?.toFixed(4)}@${r.bestEpoch}/${r.epochs}`;
    return r.complete ? t : `${t}(cut)`;
  };
  const left = d.rows.filter((r) => !r.result || r.result.error || !r.result.complete).length;
  console.log(`test NDCG@10 at the best validation epoch @ best/epochs run; ${d.rows.length - left} cells done, ${left} left; ${d.wallSeconds.toFixed(0)} s over ${d.calls} call(s)`);
  console.log(["K \\ B", ...Bs].join("\t"));
  for (const K of Ks) console.log([K, ...Bs.map((B) => cell(K, B))].join("\t"));
' "$dir/grid.json" 2>/dev/null || echo "no grid.json in $dir"
sed -n '/^## Memory budget/,$p' "$dir/grid.md" 2>/dev/null | grep '^|'
