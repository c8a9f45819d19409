#!/usr/bin/env bash
# Runs a pulumi command on a stack in its local workspace (scripts/workspace.py),
# creating the stack on first use. Examples:
#
#   scripts/stack.sh dev preview --policy-pack policy --policy-pack-config policy/config/dev.json
#   scripts/stack.sh prod up --yes
#
# PHOENIX_STACK_SECRETS (a JSON object, key -> value; CI passes a repository secret) fills each
# secret the stack lacks from it. PHOENIX_GENERATE_SECRETS=1 fills each secret a service lists but the stack
# lacks with a random value (local and test stacks only); otherwise a missing
# secret stops with the command that sets it. Relative --policy-pack paths are
# taken from the repository root.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../toolchain/env.sh"

stack=${1:?usage: scripts/stack.sh STACK PULUMI-ARGS...}
shift
workspace=$("$PHOENIX_ROOT/.venv-dev/bin/python" "$PHOENIX_ROOT/scripts/workspace.py" "$stack" \
  ${PHOENIX_WORKSPACE:+--dir "$PHOENIX_WORKSPACE"} ${PHOENIX_STACK_CONFIG:+--config-from "$PHOENIX_STACK_CONFIG"})
cd "$workspace"

if ! pulumi stack select "$stack" --non-interactive >/dev/null 2>&1; then
  echo "[stack] creating stack '$stack' (backend: ${PULUMI_BACKEND_URL:-your Pulumi login})" >&2
  pulumi stack init "$stack" --non-interactive >&2
fi

# Secrets the stack's services and alerting receivers name, set as Pulumi secrets if missing.
missing=$("$PHOENIX_ROOT/.venv-dev/bin/python" "$PHOENIX_ROOT/scripts/missing_secrets.py" "Pulumi.$stack.yaml")
# CI: the values come from the repository's secret store as one JSON object (key -> value).
from_store() {  # from_store KEY: prints the value of KEY in $PHOENIX_STACK_SECRETS, or fails
  "$PHOENIX_ROOT/.venv-dev/bin/python" -c 'import json, os, sys; print(json.loads(os.environ["PHOENIX_STACK_SECRETS"])[sys.argv[1]], end="")' "$1" 2>/dev/null
}
for key in $missing; do
  if [ -n "${PHOENIX_STACK_SECRETS:-}" ] && from_store "$key" >/dev/null; then
    echo "[stack] setting secret phoenix:$key from PHOENIX_STACK_SECRETS (stored encrypted in the workspace)" >&2
    from_store "$key" | pulumi config set --secret "phoenix:$key" --stack "$stack" >/dev/null
  elif [ "${PHOENIX_GENERATE_SECRETS:-}" = 1 ]; then
    echo "[stack] generating a random value for secret phoenix:$key (stored encrypted in the workspace)" >&2
    # Piped, so the value is never on a command line or in a log.
    head -c 32 /dev/urandom | base64 | tr -d '\n' | pulumi config set --secret "phoenix:$key" --stack "$stack" >/dev/null
  else
    echo "[stack] stack '$stack' lacks secret phoenix:$key; set it with:" >&2
    echo "        (cd $workspace && pulumi config set --secret phoenix:$key --stack $stack)" >&2
    exit 2
  fi
done

args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --policy-pack|--policy-pack-config)
      args+=("$1" "$(cd "$PHOENIX_ROOT" && realpath -m "$2")"); shift 2 ;;
    *) args+=("$1"); shift ;;
  esac
done
exec pulumi "${args[@]}" --stack "$stack" --non-interactive
