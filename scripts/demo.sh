#!/usr/bin/env bash
# The demo, end to end: install, bring the local stack up, start a worker, train and
# evaluate the lab CNN, print its test accuracy and where the report is.
# Options after the script name go to `tl run lab-cnn` (e.g. --epochs 10 for the full run).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
node bin/tl stack up
bash scripts/add-shipped-backbones.sh

state_dir="${TL_STATE_DIR:-$HOME/.local/state/tl}"
mkdir -p "$state_dir/logs"
log="$state_dir/logs/demo-worker.log"
start_line=$(($(wc -l <"$log" 2>/dev/null || echo 0) + 1))
node bin/tl worker --queue cpu >>"$log" 2>&1 &
worker_pid=$!
trap 'kill $worker_pid 2>/dev/null || true' EXIT
# Wait until it polls its queue (it loads TensorFlow first), so the run starts at once.
for _ in $(seq 120); do
  tail -n "+$start_line" "$log" | grep -q "worker serving task queue" && break
  kill -0 "$worker_pid" 2>/dev/null || { echo "demo: the worker exited; see $log" >&2; exit 1; }
  sleep 0.5
done
echo "demo: worker started (pid $worker_pid, log $log)"

args=("$@")
[ ${#args[@]} -eq 0 ] && args=(--epochs 3 --limit 20000)
node bin/tl run lab-cnn --wait "${args[@]}"
