#!/usr/bin/env bash
# The demo, end to end: install, bring the local stack up, start a worker, train and
# evaluate the lab CNN, print its test accuracy and where the report is.
# Options after the script name go to `tl run lab-cnn` (e.g. --epochs 10 for the full run).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
node bin/tl stack up

state_dir="${TL_STATE_DIR:-$HOME/.local/state/tl}"
mkdir -p "$state_dir/logs"
node bin/tl worker --queue cpu >>"$state_dir/logs/demo-worker.log" 2>&1 &
worker_pid=$!
trap 'kill $worker_pid 2>/dev/null || true' EXIT
echo "demo: worker started (pid $worker_pid, log $state_dir/logs/demo-worker.log)"

args=("$@")
[ ${#args[@]} -eq 0 ] && args=(--epochs 3 --limit 20000)
node bin/tl run lab-cnn --wait "${args[@]}"
