#!/usr/bin/env bash
# The fleet test: the secured stack (`tl stack up --tls`) in one network namespace, workers on two
# more "hosts" (namespaces joined to the stack's by veth pairs), a transfer run across them with one
# host's link cut mid fine-tuning, and a worker with a foreign client certificate. Needs root (it
# creates and removes namespaces and links of its own: tlf-*, 10.77.0.0/16).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/apt.sh

if [ ! -d node_modules ] || [ ! -d dist ]; then bash scripts/setup.sh; else npm run --silent build; fi
if [ ! -e /usr/lib/nginx/modules/ngx_stream_module.so ] || ! command -v openssl >/dev/null || ! command -v ip >/dev/null; then
  apt_install nginx libnginx-mod-stream openssl iproute2
fi

export TL_STATE_DIR="${TL_FLEET_STATE_DIR:-$PWD/.tl/fleet-state}"
export AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED=true
unset TL_S3_ACCESS_KEY TL_S3_SECRET_KEY
# Namespaces have ports of their own, so the stack keeps the default ports inside its namespace.
STACK_IP=10.77.0.1
export TL_STACK_TLS=1 TL_STACK_BIND_IP=$STACK_IP TL_TEMPORAL_ADDRESS=$STACK_IP:7233 TL_S3_ENDPOINT=https://$STACK_IP:9000
export TL_FLEET_STACK_NS=tlf-stack TL_FLEET_WORKER_NS="tlf-host1 tlf-host2"

default_bin="${HOME}/.local/state/tl/bin"
mkdir -p "$TL_STATE_DIR/bin"
for tool in temporal minio helm; do
  if [ ! -e "$TL_STATE_DIR/bin/$tool" ] && [ -x "$default_bin/$tool" ]; then
    ln "$default_bin/$tool" "$TL_STATE_DIR/bin/$tool" 2>/dev/null || cp "$default_bin/$tool" "$TL_STATE_DIR/bin/$tool"
  fi
done

in_stack() { ip netns exec "$TL_FLEET_STACK_NS" "$@"; }

teardown() {
  in_stack node bin/tl stack down >/dev/null 2>&1 || true
  for ns in $TL_FLEET_WORKER_NS $TL_FLEET_STACK_NS; do ip netns pids "$ns" 2>/dev/null | xargs -r kill -9 2>/dev/null || true; ip netns del "$ns" 2>/dev/null || true; done
}
trap teardown EXIT
teardown

# Stack namespace: its address on loopback, one veth pair per worker host (10.77.<n>.0/24).
ip netns add "$TL_FLEET_STACK_NS"
in_stack ip link set lo up
in_stack ip addr add $STACK_IP/32 dev lo
n=0
for ns in $TL_FLEET_WORKER_NS; do
  n=$((n + 1))
  ip netns add "$ns"
  ip netns exec "$ns" ip link set lo up
  ip link add "tlf-s$n" netns "$TL_FLEET_STACK_NS" type veth peer name "tlf-h$n" netns "$ns"
  in_stack ip addr add "10.77.$n.1/24" dev "tlf-s$n"
  in_stack ip link set "tlf-s$n" up
  ip netns exec "$ns" ip addr add "10.77.$n.2/24" dev "tlf-h$n"
  ip netns exec "$ns" ip link set "tlf-h$n" up
  ip netns exec "$ns" ip route add $STACK_IP/32 via "10.77.$n.1"
done

# The worker chart, rendered by helm built from its Go module (cached in the state dir's bin/).
TL_HELM=$(bash scripts/helm.sh) node --test --test-concurrency=1 dist/test/unit/helm-chart.test.js

started=$(date +%s)
in_stack node bin/tl stack up --tls
set -a; . "$TL_STATE_DIR/tls/tl.env"; set +a
# Every PUT of the run asks for server-side encryption (the secured stack's MinIO has a KMS key).
export TL_S3_SSE=AES256
in_stack node --test --test-concurrency=1 dist/test/fleet/
echo "fleet test: $(( $(date +%s) - started )) s (stack up + tests)"
