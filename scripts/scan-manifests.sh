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

bash scripts/scanner-venv.sh checkov
bash scripts/scanner-venv.sh kubernetes-validate
bash scripts/scanner-venv.sh trivy --require-hashes --no-deps
bash scripts/scanner-venv.sh hadolint --require-hashes --no-deps

exec .venv-dev/bin/python scripts/scan_manifests.py "$@"
