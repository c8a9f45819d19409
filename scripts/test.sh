#!/usr/bin/env bash
# The project's test command: sets everything up, then lint, type checks, the
# workflow lint, the third-party scanner gate and every test (unit, policy, the
# preview report, and the real engine against the local cluster).
#
#   scripts/test.sh [PYTEST-ARGS...]       e.g. scripts/test.sh -m "not engine"
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash scripts/setup.sh
echo "[test] ruff" >&2
.venv-dev/bin/ruff check .
.venv-dev/bin/ruff format --check .
echo "[test] mypy" >&2
.venv-dev/bin/mypy
echo "[test] workflows: actionlint (+ shellcheck) over .github/workflows" >&2
bash scripts/lint-workflows.sh
echo "[test] scanners: checkov, trivy, kubernetes-validate over the rendered dev/prod manifests; hadolint, trivy over the Dockerfiles" >&2
bash scripts/scan-manifests.sh
echo "[test] pytest" >&2
exec .venv-dev/bin/python -m pytest "$@"
