# Sourced by gpu-bundle.sh and webgpu-backend.sh: WebGPU for Node, as Dawn (the `webgpu`
# package) and tfjs's WebGPU backend. They are large and GPU-only, so they are not project
# dependencies: they are fetched at pinned versions and checked against the registry's
# checksums (npm view <name>@<version> dist.integrity).
GPU_PACKAGES=(
  "webgpu@0.6.2 sha512-3L4GfmqJLvYUIEWJngEQY+2HQiUlAFkg8+P8NDDj3Xx5hHHIFO/r8JW+ynfqBj7kHN4mbnwO74uB+lrRtLhp4Q=="
  "@tensorflow/tfjs-backend-webgpu@4.22.0 sha512-lvIc7Af4Tl2BCdYp43iQmSCRq3asaKT0q2xaErphXiUZ+jqeB0bQa0ZvQys1Xatvto0U4/c90DVsHPfvkn5ftg=="
)

# gpu_packages_staged NODE_MODULES: whether each package is there at its pinned version.
gpu_packages_staged() {
  local nm=$1 entry spec
  for entry in "${GPU_PACKAGES[@]}"; do
    spec=${entry% *}
    [ "$(node -p "require(require('path').resolve('$nm', '${spec%@*}', 'package.json')).version" 2>/dev/null)" = "${spec##*@}" ] || return 1
  done
}

# stage_gpu_packages NODE_MODULES CACHE_DIR: unpacks each package into NODE_MODULES/<name>,
# downloading its tarball into CACHE_DIR once. Unpacking, not `npm install`, so other
# --no-save packages (tfjs-node) are not pruned.
stage_gpu_packages() {
  local nm=$1 cache=$2 entry spec want pkg tgz got
  mkdir -p "$cache"
  for entry in "${GPU_PACKAGES[@]}"; do
    spec=${entry% *}
    want=${entry#* }
    pkg=${spec%@*}
    tgz=$cache/$(echo "${pkg#@}" | tr / -)-${spec##*@}.tgz
    [ -f "$tgz" ] || (cd "$cache" && npm pack --silent "$spec" >/dev/null)
    got="sha512-$(openssl dgst -sha512 -binary "$tgz" | base64 -w0)"
    if [ "$got" != "$want" ]; then
      echo "gpu-packages: $tgz has checksum $got, expected $want; delete it and retry" >&2
      return 1
    fi
    rm -rf "${nm:?}/$pkg"
    mkdir -p "$nm/$pkg"
    tar -xzf "$tgz" -C "$nm/$pkg" --strip-components=1
  done
}
