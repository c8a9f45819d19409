#!/usr/bin/env bash
# Benchmarks (not part of the test command): the program at 1-200 services, the scanner against
# Checkov and Trivy, the policy pack under `pulumi preview`, and per-policy evaluation cost; one
# table of figure | this project | peer | ratio. See README.md "## Benchmarks".
#
#   scripts/bench.sh                 everything (about 10 minutes on two cores)
#   scripts/bench.sh --quick         small sizes, one repeat: does it all work?
#   scripts/bench.sh --only scanner  a subset: program, scanner, preview, policies
#   scripts/bench.sh --profile       pyinstrument profiles of the scanner and the program instead
#   scripts/bench.sh --setup         only install what the benchmarks need
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

say() { printf '[bench] %s\n' "$*" >&2; }

# install DIR STAMP-NAME PIP-ARGS...: pip install once per content of the requirement files.
install() {
  local dir=$1 name=$2; shift 2
  local stamp="$dir/.$name.sha256" digest
  digest=$(cat benchmarks/requirements*.txt benchmarks/requirements-peers.lock | sha256sum | cut -d' ' -f1)
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$digest" ]; then
    return
  fi
  [ -x "$dir/bin/python" ] || python3 -m venv "$dir"
  say "installing $* into $dir"
  "$dir/bin/python" -m pip install --quiet --disable-pip-version-check "$@"
  echo "$digest" > "$stamp"
}

[ -x .venv-dev/bin/python ] || bash scripts/setup.sh --python-only
install .venv-dev bench-requirements -r benchmarks/requirements.txt
# Checkov and Trivy: the scanner gate's virtualenvs (scripts/scan-manifests.sh) when there, else our own.
if [ ! -x .venv-scanners/checkov/bin/checkov ] || [ ! -x .venv-scanners/trivy/bin/trivy ]; then
  install .venv-bench bench-peers -r benchmarks/requirements-peers.txt -c benchmarks/requirements-peers.lock
fi

case "${1:-}" in
  --setup) exit 0 ;;
  --profile) shift; exec .venv-dev/bin/python -m benchmarks.profile "$@" ;;
  *) exec .venv-dev/bin/python -m benchmarks.run "$@" ;;
esac
