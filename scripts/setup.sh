#!/usr/bin/env bash
# Sets up everything the project runs on, idempotently:
#   .venv        the program's runtime (Pulumi.yaml)          <- requirements.txt
#   policy/venv  the policy pack's runtime (PulumiPolicy.yaml) <- policy/requirements.txt
#   .venv-dev    tests, lint, type checks                      <- requirements-dev.txt
# then the toolchain (Pulumi, its Python host, the Kubernetes provider, the
# local cluster's binaries; see toolchain/install.sh).
#
#   scripts/setup.sh [--python-only]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

say() { printf '[setup] %s\n' "$*" >&2; }

# venv DIR REQUIREMENTS...: (re)installs only when the requirement files changed.
venv() {
  local dir=$1; shift
  local stamp="$dir/.requirements.sha256" digest
  digest=$(cat "$@" | sha256sum | cut -d' ' -f1)
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$digest" ]; then
    return
  fi
  say "installing $* into $dir"
  [ -x "$dir/bin/python" ] || python3 -m venv "$dir"
  local args=()
  for requirements in "$@"; do args+=(-r "$requirements"); done
  "$dir/bin/python" -m pip install --quiet --disable-pip-version-check "${args[@]}"
  echo "$digest" > "$stamp"
}

venv .venv requirements.txt
venv policy/venv policy/requirements.txt
venv .venv-dev requirements-dev.txt requirements.txt requirements-build.txt policy/requirements.txt
say "virtualenvs ready"

if [ "${1:-}" != "--python-only" ]; then
  bash toolchain/install.sh
fi
