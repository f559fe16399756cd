#!/usr/bin/env bash
# Builds helm from its Go module once and caches it under the state dir (bin/helm); prints its path.
# The chart test (test/unit/helm-chart.test.ts) renders infra/helm/tl-workers with it.
set -euo pipefail
HELM_VERSION=v3.22.0
bin_dir="${TL_STATE_DIR:-$HOME/.local/state/tl}/bin"
helm="$bin_dir/helm"
mkdir -p "$bin_dir"
if [ ! -x "$helm" ] || ! go version -m "$helm" 2>/dev/null | grep -q "mod	helm.sh/helm/v3	$HELM_VERSION"; then
  echo "helm: building helm.sh/helm/v3/cmd/helm@$HELM_VERSION (a few minutes the first time)" >&2
  GOBIN="$bin_dir" go install "helm.sh/helm/v3/cmd/helm@$HELM_VERSION" >&2
fi
echo "$helm"
