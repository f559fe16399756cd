#!/usr/bin/env bash
# Optional setup: the WebGPU backend on this machine, so the GPU route (Dawn over Vulkan,
# tfjs-backend-webgpu) is tested where there is no GPU.
#
# 1. Dawn and tfjs-backend-webgpu, unpacked into node_modules (gpu-packages.sh). Like the
#    native backend they are --no-save extras: rerun this after `npm ci`/`npm install`.
# 2. A software Vulkan driver: Mesa's lavapipe. Debian 12's own (Mesa 22.3) is refused by Dawn
#    (it lacks shaderSampledImageArrayDynamicIndexing), so the driver comes from
#    bookworm-backports' Mesa 25.0, hash-pinned and unpacked into a cache (not installed
#    system-wide), with an ICD file that names it by absolute path. Its libraries (LLVM 15,
#    the Vulkan loader, ...) are those Debian 12's mesa-vulkan-drivers pulls in.
#
# Prints the ICD file's path. Tests and the bench use it only when asked to (they set
# VK_DRIVER_FILES themselves); workers never pick a software driver on their own.
# Idempotent; offline once cached. Linux x86_64, Debian 12 only.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/apt.sh
source scripts/gpu-packages.sh

MESA_VERSION=25.0.7-2~bpo12+1
MESA_DEB=mesa-vulkan-drivers_${MESA_VERSION}_amd64.deb
MESA_SHA256=3899f1800424c60a05df5d6913076a526ca8fdbabec43672cd397563d1ca3263
MESA_URL=${TL_DEBIAN_MIRROR:-http://deb.debian.org/debian}/pool/main/m/mesa/$MESA_DEB
CACHE=${TL_WEBGPU_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/tl-webgpu}
LAVAPIPE=$CACHE/lavapipe-$MESA_VERSION
ICD=$CACHE/lavapipe_icd.json

say() { echo "webgpu-backend: $*" >&2; }
die() { say "$*"; say "the webgpu backend is not available here; other backends still work"; exit 1; }
trap 'die "failed at line $LINENO"' ERR

[[ "$(uname -s)-$(uname -m)" == Linux-x86_64 ]] || die "only Linux x86_64 is supported"

# 1. The packages.
if ! gpu_packages_staged node_modules; then
  say "unpacking the webgpu packages into node_modules"
  stage_gpu_packages node_modules "$CACHE/npm"
fi

# 2. lavapipe's runtime libraries, from Debian 12.
libs=$(ldconfig -p)
if [[ $libs != *libLLVM-15.so.1* || $libs != *libvulkan.so.1* ]]; then
  say "installing Debian's mesa-vulkan-drivers (for LLVM 15 and the Vulkan loader)"
  apt_install mesa-vulkan-drivers libvulkan1 >/dev/null
fi

# 3. lavapipe itself, from bookworm-backports.
if [[ ! -f "$LAVAPIPE/libvulkan_lvp.so" ]]; then
  mkdir -p "$CACHE"
  if ! echo "$MESA_SHA256  $CACHE/$MESA_DEB" | sha256sum -c --status 2>/dev/null; then
    say "downloading $MESA_URL"
    curl -fsSL --retry 3 -o "$CACHE/$MESA_DEB.tmp" "$MESA_URL"
    mv "$CACHE/$MESA_DEB.tmp" "$CACHE/$MESA_DEB"
    echo "$MESA_SHA256  $CACHE/$MESA_DEB" | sha256sum -c --quiet || die "SHA-256 mismatch: $CACHE/$MESA_DEB"
  fi
  rm -rf "$LAVAPIPE.tmp" && mkdir -p "$LAVAPIPE.tmp/deb"
  dpkg-deb -x "$CACHE/$MESA_DEB" "$LAVAPIPE.tmp/deb"
  cp "$LAVAPIPE.tmp/deb/usr/lib/x86_64-linux-gnu/libvulkan_lvp.so" "$LAVAPIPE.tmp/"
  rm -rf "$LAVAPIPE.tmp/deb" "$LAVAPIPE" && mv "$LAVAPIPE.tmp" "$LAVAPIPE"
fi
missing=$(ldd "$LAVAPIPE/libvulkan_lvp.so" | awk '/not found/ { print $1 }' | tr '\n' ' ')
[[ -z "$missing" ]] || die "lavapipe needs libraries that are not installed: $missing"
cat >"$ICD.tmp" <<JSON
{ "file_format_version": "1.0.0", "ICD": { "library_path": "$LAVAPIPE/libvulkan_lvp.so", "api_version": "1.4.305" } }
JSON
mv "$ICD.tmp" "$ICD"

# 4. Dawn must accept it.
VK_DRIVER_FILES=$ICD XDG_RUNTIME_DIR=${XDG_RUNTIME_DIR:-/tmp} node -e "
  const { create, globals } = require('webgpu');
  Object.assign(globalThis, globals);
  create([]).requestAdapter().then((a) => process.exit(a ? 0 : 1), () => process.exit(1));
" 2>/dev/null || die "Dawn found no adapter on lavapipe ($ICD)"
echo "$ICD"
