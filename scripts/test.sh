#!/usr/bin/env bash
# The test suite: unit tests (no servers), then integration tests against the real
# Temporal dev server and MinIO that `tl stack up` installs and starts, then a headless-Chromium
# test of the Temporal Web UI (screenshot in test-output/).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
node bin/tl stack up
node --test --test-concurrency=1 dist/test/unit/ dist/test/integration/
node --test --test-concurrency=1 dist/test/browser/
