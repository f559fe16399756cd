#!/usr/bin/env bash
# The fault suite: kills workers, stops and restarts Temporal and MinIO, feeds bad input. It runs
# on a stack of its own (other ports, another state directory), never on the default one, and
# stops that stack when done. TL_FAULTS_SETUP=1 runs scripts/setup.sh first (CI on a clean machine);
# otherwise setup runs only when node_modules or dist/ are missing.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "${TL_FAULTS_SETUP:-0}" = 1 ] || [ ! -d node_modules ] || [ ! -d dist ]; then
  bash scripts/setup.sh
else
  npm run --silent build
fi

export TL_STATE_DIR="${TL_FAULTS_STATE_DIR:-$PWD/.tl/faults-state}"
# TL_FAULTS_PORT_BASE moves the three ports together (e.g. 37 → 37233, 38233, 39000), so two
# checkouts can run their fault suites side by side.
base="${TL_FAULTS_PORT_BASE:-27}"
export TL_TEMPORAL_ADDRESS=127.0.0.1:${base}233
export TL_TEMPORAL_UI_PORT=$(( base + 1 ))233
export TL_S3_ENDPOINT=http://127.0.0.1:$(( base + 2 ))000
export AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED=true
# The stack's own generated credentials, not whatever the caller's environment holds.
unset TL_S3_ACCESS_KEY TL_S3_SECRET_KEY

# The servers are built from Go modules; reuse the default install's binaries when it has them
# (`tl stack up` checks their versions with `go version -m` and rebuilds on a mismatch).
default_bin="${HOME}/.local/state/tl/bin"
mkdir -p "$TL_STATE_DIR/bin"
for tool in temporal minio; do
  if [ ! -e "$TL_STATE_DIR/bin/$tool" ] && [ -x "$default_bin/$tool" ]; then
    ln "$default_bin/$tool" "$TL_STATE_DIR/bin/$tool" 2>/dev/null || cp "$default_bin/$tool" "$TL_STATE_DIR/bin/$tool"
  fi
done

trap 'node bin/tl stack down' EXIT
node bin/tl stack up
started=$(date +%s)
node --test --test-concurrency=1 dist/test/faults/
echo "fault suite: $(( $(date +%s) - started )) s"
