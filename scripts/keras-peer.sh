#!/usr/bin/env bash
# The bench's Keras peer: tensorflow-cpu at the version scripts/native-backend.sh links into
# tfjs-node (that script takes its cp310 wheel for the C library only; here Python runs it, so
# the wheel matches this python, e.g. cp311), in a venv of its own under ~/.cache/tl-bench.
# Prints the venv's python on success; exits non-zero (and the bench skips Keras) otherwise.
set -euo pipefail
TF_VERSION=2.12.1 # keep in step with native-backend.sh
PYTHON=${TL_BENCH_PYTHON:-/usr/bin/python3}
VENV=${TL_BENCH_KERAS_VENV:-$HOME/.cache/tl-bench/keras-venv}
say() { echo "keras-peer: $*" >&2; }
if ! "$VENV/bin/python" -c "import tensorflow as tf, sys; sys.exit(tf.__version__ != '$TF_VERSION')" 2>/dev/null; then
  say "installing tensorflow-cpu $TF_VERSION into $VENV"
  "$PYTHON" -m venv "$VENV" >&2 || { say "python3 -m venv failed (apt-get install python3-venv)"; exit 1; }
  "$VENV/bin/pip" install -q --disable-pip-version-check --only-binary=:all: "tensorflow-cpu==$TF_VERSION" >&2
fi
echo "$VENV/bin/python"
