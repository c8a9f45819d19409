#!/usr/bin/env bash
# The project's test command: sets everything up, then lint, type checks and
# every test (unit, policy, and the real engine against the local cluster).
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
echo "[test] pytest" >&2
exec .venv-dev/bin/python -m pytest "$@"
