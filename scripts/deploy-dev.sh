#!/usr/bin/env bash
# The main job: set up, start the local cluster when there is no other, and
# deploy the dev stack with the policy pack (dev enforcement).
#
#   scripts/deploy-dev.sh [PULUMI-UP-ARGS...]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash scripts/setup.sh
source toolchain/env.sh

if [ "${PHOENIX_USE_LOCAL_CLUSTER:-}" = 1 ] || { [ -z "${KUBECONFIG:-}" ] && [ ! -f "$HOME/.kube/config" ]; }; then
  echo "[deploy] no kubeconfig of yours: starting the local cluster" >&2
  bash toolchain/cluster/cluster.sh start
  eval "$(bash toolchain/cluster/cluster.sh env)"
else
  echo "[deploy] deploying to your cluster: ${KUBECONFIG:-$HOME/.kube/config}" >&2
fi

export PHOENIX_GENERATE_SECRETS=1
exec scripts/stack.sh dev up --yes --policy-pack policy --policy-pack-config policy/config/dev.json "$@"
