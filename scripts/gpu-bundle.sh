#!/usr/bin/env bash
# Builds dist-bundle/tl-gpu-worker-<version>-linux-x64.tar.xz: a GPU worker for a Linux x64
# machine with no Node.js and no network. It holds this machine's node binary, the compiled
# app, production node_modules, and WebGPU through Dawn (the `webgpu` package) with tfjs's
# WebGPU backend (pinned and checksummed in gpu-packages.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

LIMIT_MIB=64
XZ_LEVEL=${TL_BUNDLE_XZ_LEVEL:-9}
source scripts/apt.sh
source scripts/gpu-packages.sh

[ "$(uname -s)-$(uname -m)" = Linux-x86_64 ] || { echo "gpu-bundle: builds on Linux x86_64 only (it ships this machine's node)" >&2; exit 2; }
VERSION=$(node -p "require('./package.json').version")
NAME=tl-gpu-worker-$VERSION-linux-x64
OUT_DIR=$ROOT/dist-bundle
CACHE=$OUT_DIR/cache
STAGE=$(mktemp -d "${TMPDIR:-/tmp}/tl-gpu-bundle.XXXXXX")
trap 'rm -rf "$STAGE"' EXIT
APP=$STAGE/$NAME
mkdir -p "$OUT_DIR" "$CACHE" "$APP"
t0=$SECONDS

echo "== compiling"
npm run --silent build

echo "== app"
cp -L "$(node -p process.execPath)" "$APP/node"
mkdir -p "$APP/bin" "$APP/dist"
cp bin/tl "$APP/bin/tl"
cp package.json package-lock.json "$APP/"
for dir in contracts temporal lib activities workers workflows cli infra; do cp -r "dist/$dir" "$APP/dist/$dir"; done

echo "== production node_modules (npm ci --omit=dev)"
(cd "$APP" && npm ci --omit=dev --ignore-scripts --no-audit --no-fund --loglevel=error)
rm "$APP/package-lock.json"

echo "== GPU packages"
stage_gpu_packages "$APP/node_modules" "$CACHE"

echo "== Vulkan loader and GL dispatch libraries"
# Dawn dlopens libvulkan.so.1, and NVIDIA's Vulkan driver needs glvnd's dispatch libraries: GPU
# machines without a desktop often lack both. Debian's builds go in ./lib, which the launcher
# puts on LD_LIBRARY_PATH (apt verifies them against the signed archive index).
VULKAN_DEBS=(libvulkan1 libegl1 libglvnd0 libopengl0 libgl1 libglx0 libgles2)
mkdir -p "$CACHE/debs" "$STAGE/debs" "$APP/lib"
download_debs() { (cd "$CACHE/debs" && apt-get download -qq "${VULKAN_DEBS[@]}" >/dev/null 2>&1); }
if ! download_debs; then
  as_root apt-get update -qq && download_debs || { echo "gpu-bundle: apt-get download ${VULKAN_DEBS[*]} failed" >&2; exit 1; }
fi
for pkg in "${VULKAN_DEBS[@]}"; do
  deb=$(ls -t "$CACHE/debs/${pkg}_"*_amd64.deb | head -1)
  dpkg-deb -x "$deb" "$STAGE/debs"
  echo "$(basename "$deb")" >>"$APP/lib/DEBIAN-PACKAGES"
done
cp -a "$STAGE"/debs/usr/lib/x86_64-linux-gnu/*.so* "$APP/lib/"
[ -e "$APP/lib/libvulkan.so.1" ] || { echo "gpu-bundle: no libvulkan.so.1 in ${VULKAN_DEBS[*]}" >&2; exit 1; }

echo "== pruning"
NM=$APP/node_modules
# Other platforms' native binaries.
rm -rf "$NM"/webgpu/dist/{win32-*,darwin-*,linux-arm64} "$NM"/webgpu/build
for rel in "$NM"/@temporalio/core-bridge/releases/*; do
  [ "$(basename "$rel")" = x86_64-unknown-linux-gnu ] || rm -rf "$rel"
done
# The bridge's Rust sources: the prebuilt library is what loads.
rm -rf "$NM"/@temporalio/core-bridge/{sdk-core,src,bridge-macros,Cargo.*,scripts}
rm -rf "$NM"/@img/*-linuxmusl-* "$NM"/@img/*-darwin-* "$NM"/@img/*-win32-* "$NM"/@img/*-arm*
# swc compiles workflow code for the bundler; GPU workers run no workflows (workers/worker.ts),
# and it is loaded only when bundling. webpack itself is required when @temporalio/worker loads.
rm -rf "$NM"/@swc "$NM"/typescript
# tfjs packages: Node resolves each one's "main" (dist/*.node.js or dist/index.js); the browser
# and mini-program builds are never loaded.
for pkg in "$NM"/@tensorflow/*; do
  main=$(node -p "require('$pkg/package.json').main || 'index.js'")
  find "$pkg/dist" -maxdepth 1 -type f \( -name '*.es2017.js' -o -name '*.min.js' -o -name '*.fesm.js' -o -name 'tf-*.js' \) \
    ! -path "$pkg/$main" -delete 2>/dev/null || true
  rm -rf "$pkg/dist/miniprogram" "$pkg/src"
done
# Source maps, type declarations, TypeScript sources, docs.
find "$NM" "$APP/dist" -type f \( -name '*.map' -o -name '*.d.ts' -o -name '*.d.mts' -o -name '*.d.cts' -o -name '*.ts' -o -iname 'README*' -o -iname 'CHANGELOG*' -o -iname 'HISTORY*' -o -name '*.md' \) -delete

echo "== checks"
# Each module the GPU worker loads must resolve from the pruned tree with the bundled node.
(cd "$APP" && ./node -e "
  for (const m of ['sharp', '@temporalio/worker', '@tensorflow/tfjs', '@tensorflow/tfjs-backend-wasm', '@tensorflow/tfjs-backend-webgpu', './dist/workers/worker.js']) require(m);
  require('sharp')({ create: { width: 2, height: 2, channels: 3, background: '#000' } }).png().toBuffer().then(() => console.log('modules load; sharp works'));
")
node -e "require('$NM/webgpu/package.json')" && [ -f "$NM/webgpu/dist/linux-x64/dawn.node" ]

cat > "$APP/tl-gpu" <<'LAUNCHER'
#!/bin/sh
# Starts a tl worker on the GPU task queue with the node binary shipped beside this file.
# Configure it with TL_* variables (TL_TEMPORAL_ADDRESS, TL_S3_ENDPOINT, TL_S3_ACCESS_KEY, ...).
# No dirname: the launcher must work even where coreutils are not on PATH.
case $0 in */*) here=${0%/*} ;; *) here=. ;; esac
here=$(cd "$here" && pwd)
# The bundled Vulkan loader and GL dispatch libraries (./lib) are found first.
[ -d "$here/lib" ] && export LD_LIBRARY_PATH="$here/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
# Point Vulkan at NVIDIA's driver when it is installed where distributions put it.
if [ -z "${VK_DRIVER_FILES:-}" ]; then
  for icd in /usr/share/vulkan/icd.d/nvidia_icd.json /etc/vulkan/icd.d/nvidia_icd.json; do
    if [ -f "$icd" ]; then export VK_DRIVER_FILES="$icd"; break; fi
  done
fi
exec "$here/node" "$here/bin/tl" worker --queue gpu "$@"
LAUNCHER
chmod +x "$APP/tl-gpu"

echo "== compressing (xz -$XZ_LEVEL)"
ARCHIVE=$OUT_DIR/$NAME.tar.xz
tar -C "$STAGE" --owner=0 --group=0 -cf - "$NAME" | xz -T0 "-$XZ_LEVEL" > "$ARCHIVE.tmp"
mv "$ARCHIVE.tmp" "$ARCHIVE"

echo "== sizes (uncompressed)"
du -sh "$APP/node" "$APP/dist"
(cd "$NM" && du -sh $(ls -d * @*/* | grep -v '^@[^/]*$') | sort -h | tail -15)
du -sh "$APP"
bytes=$(stat -c %s "$ARCHIVE")
mib=$(awk "BEGIN { printf \"%.1f\", $bytes / 1048576 }")
echo "bundle: $ARCHIVE ($mib MiB compressed, limit $LIMIT_MIB MiB) in $((SECONDS - t0)) s"
if [ "$bytes" -ge $((LIMIT_MIB * 1048576)) ]; then
  echo "gpu-bundle: the bundle is $mib MiB, at or over the $LIMIT_MIB MiB limit" >&2
  exit 1
fi
