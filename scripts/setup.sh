#!/usr/bin/env bash
# Sets up everything the project runs on, idempotently:
#   .venv        the program's runtime (Pulumi.yaml)          <- requirements.txt
#   policy/venv  the policy pack's runtime (PulumiPolicy.yaml) <- policy/requirements.txt
#   .venv-dev    tests, lint, type checks                      <- requirements-dev.txt
# then promtool and amtool (Debian's prometheus and prometheus-alertmanager,
# for the alert rule and routing tests), then the toolchain (Pulumi, its Python
# host, the Kubernetes provider, the local cluster's binaries; see
# toolchain/install.sh).
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

# monitoring_tools: promtool, amtool and the Alertmanager binary from Debian's packages, when
# missing. Their services are never started: policy-rc.d denies it for the install.
monitoring_tools() {
  if command -v promtool >/dev/null && command -v amtool >/dev/null && command -v prometheus-alertmanager >/dev/null; then
    return
  fi
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
    say "promtool/amtool missing and not root on Debian: install packages prometheus and prometheus-alertmanager"
    return
  fi
  say "installing promtool and amtool (Debian packages prometheus, prometheus-alertmanager)"
  local guard=/usr/sbin/policy-rc.d
  if [ ! -e "$guard" ]; then
    printf '#!/bin/sh\n# phoenix setup: no service starts during this install\nexit 101\n' > "$guard"
    chmod 0755 "$guard"
    trap "rm -f '$guard'" EXIT
  fi
  export DEBIAN_FRONTEND=noninteractive
  local log
  log=$(mktemp)
  if ! { apt-get update -qq && apt-get install -y -qq --no-install-recommends prometheus prometheus-alertmanager; } >"$log" 2>&1; then
    cat "$log" >&2
    rm -f "$log"
    return 1
  fi
  rm -f "$log"
  say "promtool $(promtool --version 2>&1 | head -1 | cut -d' ' -f3), amtool $(amtool --version 2>&1 | head -1 | cut -d' ' -f3)"
}
monitoring_tools

if [ "${1:-}" != "--python-only" ]; then
  bash toolchain/install.sh
fi
