#!/usr/bin/env bash
# The test suite: lint (ESLint and madge), unit tests (no servers), workflow tests (stand-in activities), then integration tests against the real
# Temporal dev server and MinIO that `tl stack up` installs and starts (among them the offline
# GPU-worker bundle, built here and fine-tuning on webgpu over a software Vulkan driver), then a
# headless-Chromium test of the Temporal Web UI (screenshot in test-output/).
# TL_GPU_BUNDLE=<file> tests that bundle instead of building one; TL_GPU_BUNDLE=0 skips it.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
npm run --silent lint
node bin/tl stack up
# The workflows against stand-in activities, on a dev server of their own (the binary stack up installed).
node --test --test-concurrency=1 dist/test/workflows/
bash scripts/add-shipped-backbones.sh
if [ -z "${TL_GPU_BUNDLE:-}" ]; then
  bash scripts/gpu-bundle.sh
  TL_GPU_BUNDLE=dist-bundle/tl-gpu-worker-$(node -p "require('./package.json').version")-linux-x64.tar.xz
fi
[ "$TL_GPU_BUNDLE" = 0 ] && unset TL_GPU_BUNDLE || export TL_GPU_BUNDLE
node --test --test-concurrency=1 dist/test/unit/ dist/test/integration/
node --test --test-concurrency=1 dist/test/browser/
