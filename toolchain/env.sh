# Sourced (not run) by every script that calls Pulumi or the local cluster:
#   source toolchain/env.sh
# Sets where the toolchain lives and how Pulumi runs locally. Cheap: it builds
# nothing (toolchain/install.sh does that) and keeps any value already set, so
# a user's own backend, passphrase or cluster wins.

PHOENIX_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export PHOENIX_ROOT
# shellcheck source=versions.env
source "$PHOENIX_ROOT/toolchain/versions.env"

export PHOENIX_TOOLCHAIN_CACHE="${PHOENIX_TOOLCHAIN_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/phoenix-toolchain}"
export PHOENIX_PULUMI_BIN="$PHOENIX_TOOLCHAIN_CACHE/pulumi-$PULUMI_VERSION/bin"
export PHOENIX_CLUSTER_BIN="$PHOENIX_TOOLCHAIN_CACHE/cluster-k8s$KUBERNETES_VERSION-etcd$ETCD_VERSION-kwok$KWOK_VERSION/bin"
export PHOENIX_LINT_BIN="$PHOENIX_TOOLCHAIN_CACHE/lint-actionlint$ACTIONLINT_VERSION/bin"

# A Pulumi already on PATH (an ordinary install) is used as it is, with its own
# plugin handling; otherwise the one built from Go modules is.
if [ -z "${PHOENIX_PULUMI_SOURCE:-}" ]; then
  if [ -z "${PHOENIX_BUILD_PULUMI:-}" ] && command -v pulumi >/dev/null 2>&1 \
     && [ "$(command -v pulumi)" != "$PHOENIX_PULUMI_BIN/pulumi" ] \
     && pulumi version >/dev/null 2>&1; then
    export PHOENIX_PULUMI_SOURCE=path
  else
    export PHOENIX_PULUMI_SOURCE=built
  fi
fi
if [ "$PHOENIX_PULUMI_SOURCE" = built ]; then
  export PATH="$PHOENIX_PULUMI_BIN:$PATH"
  # Plugins live beside the built CLI, so the engine finds the provider built
  # here and never tries to download one.
  export PULUMI_HOME="${PULUMI_HOME:-$PHOENIX_TOOLCHAIN_CACHE/pulumi-home}"
  export PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true
fi
export PATH="$PHOENIX_CLUSTER_BIN:$PATH"

export PULUMI_SKIP_UPDATE_CHECK=true
export PULUMI_AUTOMATION_API_SKIP_VERSION_CHECK=true
# Local file state by default: no Pulumi Cloud account needed.
export PHOENIX_STATE_DIR="${PHOENIX_STATE_DIR:-$PHOENIX_ROOT/.pulumi-state}"
if [ -z "${PULUMI_BACKEND_URL:-}" ] && [ ! -f "$HOME/.pulumi/credentials.json" ]; then
  mkdir -p "$PHOENIX_STATE_DIR"
  export PULUMI_BACKEND_URL="file://$PHOENIX_STATE_DIR"
fi
# Local and test stacks use the passphrase secrets provider; the passphrase is
# generated once per checkout into a 0600 file outside git, never echoed.
if [ -z "${PULUMI_CONFIG_PASSPHRASE:-}" ] && [ -z "${PULUMI_CONFIG_PASSPHRASE_FILE:-}" ]; then
  passphrase_file="$PHOENIX_ROOT/.pulumi-state/passphrase"
  if [ ! -s "$passphrase_file" ]; then
    mkdir -p "$(dirname "$passphrase_file")"
    (umask 077 && head -c 32 /dev/urandom | base64 > "$passphrase_file")
  fi
  export PULUMI_CONFIG_PASSPHRASE_FILE="$passphrase_file"
fi
