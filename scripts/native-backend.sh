#!/usr/bin/env bash
# Optional setup: the native TensorFlow backend (@tensorflow/tfjs-node) without storage.googleapis.com.
#
# tfjs-node's install script downloads libtensorflow from Google's bucket, which we cannot
# reach. Instead: install the package with its script suppressed, take the TensorFlow C library
# (libtensorflow_cc.so.2 + libtensorflow_framework.so.2) and C headers from the official,
# hash-pinned tensorflow-cpu wheel on PyPI, stage them in tfjs-node's deps/, and build the addon
# with node-gyp. 2.12.1 is the oldest wheel with a standalone C library (2.9-2.11 keep the C API
# inside the Python extension, which needs libpython); tfjs-node 4.22 was built for 2.9.1 and
# works with it (same C API).
#
# Not part of `npm install`, and --no-save: a later `npm install`/`npm ci` prunes tfjs-node, so
# rerun this after one. Idempotent; once the wheel is cached it runs offline. Linux x86_64 only.
# If this fails, nothing else changes: the worker falls back to wasm (see lib/tf/backend.ts).
set -euo pipefail
cd "$(dirname "$0")/.."

TFJS_NODE_VERSION=4.22.0
TF_VERSION=2.12.1
WHEEL=tensorflow_cpu-$TF_VERSION-cp310-cp310-manylinux_2_17_x86_64.manylinux2014_x86_64.whl
WHEEL_SHA256=d05b8268da5bd87cf43d46da177e3b3ca39f2db0437e56c5e18351db4cde8679
CACHE=${TL_NATIVE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/tl-native}
PKG=node_modules/@tensorflow/tfjs-node
DEPS=$PKG/deps
PYTHON=${PYTHON:-python3}

say() { echo "native-backend: $*" >&2; }
die() { say "$*"; say "the native backend is not available; wasm/cpu still work"; exit 1; }
trap 'die "failed at line $LINENO"' ERR

[[ "$(uname -s)-$(uname -m)" == Linux-x86_64 ]] || die "only Linux x86_64 is supported"

# 1. The package, with its install script (the libtensorflow download) suppressed.
if [[ "$(node -p "require('./$PKG/package.json').version" 2>/dev/null)" != "$TFJS_NODE_VERSION" ]]; then
  say "installing @tensorflow/tfjs-node@$TFJS_NODE_VERSION (--no-save, scripts suppressed)"
  npm install --no-save --ignore-scripts --no-audit --no-fund "@tensorflow/tfjs-node@$TFJS_NODE_VERSION"
fi

# 2. The wheel (~230 MB), checked against its SHA-256 and cached.
if ! echo "$WHEEL_SHA256  $CACHE/$WHEEL" | sha256sum -c --status 2>/dev/null; then
  say "downloading $WHEEL from PyPI"
  mkdir -p "$CACHE"
  "$PYTHON" -m pip download --quiet --no-deps --only-binary=:all: --python-version 3.10 \
    --platform manylinux2014_x86_64 -d "$CACHE" "tensorflow-cpu==$TF_VERSION"
  echo "$WHEEL_SHA256  $CACHE/$WHEEL" | sha256sum -c --quiet || die "SHA-256 mismatch: $CACHE/$WHEEL"
fi

# 3. Stage the libraries and C headers where tfjs-node's binding.gyp looks (deps/{lib,include}).
if [[ "$(cat "$DEPS/.wheel-sha256" 2>/dev/null)" != "$WHEEL_SHA256" ]]; then
  say "staging TensorFlow $TF_VERSION in $DEPS"
  rm -rf "$DEPS" "$DEPS.tmp" "$PKG/lib" "$PKG"/build-tmp-*
  "$PYTHON" - "$CACHE/$WHEEL" "$DEPS.tmp" <<'PY'
import os, re, shutil, sys, zipfile
whl, out = sys.argv[1:]
header = re.compile(r'tensorflow/include/(tensorflow/(c|tsl/c)/.*\.h|tensorflow/(core|tsl)/platform/ctstring(_internal)?\.h)$')
libs = ('tensorflow/libtensorflow_cc.so.2', 'tensorflow/libtensorflow_framework.so.2')
with zipfile.ZipFile(whl) as z:
    for name in z.namelist():
        m = header.match(name)
        dest = os.path.join(out, 'include', m[1]) if m else os.path.join(out, 'lib', name[11:]) if name in libs else None
        if dest:
            os.makedirs(os.path.dirname(dest), exist_ok=True)
            with z.open(name) as src, open(dest, 'wb') as dst:
                shutil.copyfileobj(src, dst)
PY
  # The addon links -ltensorflow; the C library's soname is libtensorflow_cc.so.2.
  # libtensorflow.so.2.9.1 is the file tfjs-node's own install script checks for.
  ln -s libtensorflow_cc.so.2 "$DEPS.tmp/lib/libtensorflow.so.2"
  ln -s libtensorflow.so.2 "$DEPS.tmp/lib/libtensorflow.so"
  ln -s libtensorflow.so.2 "$DEPS.tmp/lib/libtensorflow.so.2.9.1"
  ln -s libtensorflow_framework.so.2 "$DEPS.tmp/lib/libtensorflow_framework.so"
  echo "$WHEEL_SHA256" > "$DEPS.tmp/.wheel-sha256"
  mv "$DEPS.tmp" "$DEPS"
fi

# 4. Build the addon from source (what the package's install script does after its download).
if ! compgen -G "$PKG/lib/napi-v*/tfjs_binding.node" >/dev/null; then
  export npm_config_nodedir=${npm_config_nodedir:-/usr}
  [[ -f $npm_config_nodedir/include/node/node_api.h ]] ||
    die "no Node headers in $npm_config_nodedir/include/node (apt-get install libnode-dev, or set npm_config_nodedir)"
  for tool in g++ make; do command -v $tool >/dev/null || die "$tool is needed to build the addon"; done
  say "building the addon (node-gyp, nodedir=$npm_config_nodedir)"
  pregyp=$(node -p "require.resolve('@mapbox/node-pre-gyp/bin/node-pre-gyp', {paths: ['$PWD/$PKG']})")
  (cd "$PKG" && node "$pregyp" install --build-from-source --silent) ||
    { rm -rf "$PKG/lib"; die "addon build failed"; }
fi

# 5. Self-check: load it, and see that TensorFlow computes.
TF_CPP_MIN_LOG_LEVEL=2 node -e "
  const tf = require('@tensorflow/tfjs-node');
  const y = tf.matMul(tf.tensor2d([[1, 2], [3, 4]]), tf.tensor2d([[5, 6], [7, 8]])).arraySync();
  if (tf.getBackend() !== 'tensorflow' || JSON.stringify(y) !== '[[19,22],[43,50]]') process.exit(1);
  console.log('native-backend: ok: backend', tf.getBackend(), '| libtensorflow', tf.backend().binding.TF_Version, '| tfjs', tf.version.tfjs);
" || die "self-check failed"
