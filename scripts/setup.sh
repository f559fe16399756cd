#!/usr/bin/env bash
# Installs what tl needs on a fresh machine: npm packages, the compiled code and Debian's
# Fashion-MNIST package, and Debian's Chromium for the Web UI test. The servers (Temporal, MinIO) are installed by `tl stack up`.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/apt.sh

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: npm ci"
  npm ci --no-audit --no-fund
fi
echo "setup: compiling TypeScript"
npm run --silent build

# Optional: native TensorFlow for the workers (several times faster than wasm). Without it,
# workers use the wasm backend; TL_NATIVE_BACKEND=0 skips it.
if [ "${TL_NATIVE_BACKEND:-1}" != 0 ]; then
  bash scripts/native-backend.sh || echo "setup: native TensorFlow backend unavailable; workers will use wasm"
fi

# Optional: WebGPU (Dawn) with a software Vulkan driver, so the GPU route is tested without a
# GPU; TL_WEBGPU_BACKEND=0 skips it.
if [ "${TL_WEBGPU_BACKEND:-1}" != 0 ]; then
  bash scripts/webgpu-backend.sh >/dev/null || echo "setup: webgpu backend unavailable; its tests will be skipped"
fi

if [ ! -f /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ] && [ -z "${TL_FASHION_MNIST_DIR:-}" ]; then
  echo "setup: installing Debian's dataset-fashion-mnist"
  apt_install dataset-fashion-mnist
fi

# The browser test drives the Temporal Web UI with playwright-core and Debian's Chromium.
if [ ! -x "${TL_CHROMIUM:-/usr/bin/chromium}" ]; then
  echo "setup: installing Debian's chromium"
  apt_install chromium
fi
