#!/usr/bin/env bash
# Lints the GitHub Actions workflows (.github/workflows/*.yml) with actionlint, built from its Go
# module (toolchain/install.sh lint), with ShellCheck (.venv-scanners/shellcheck) over every
# `run:` step. Fails on any finding.
#
#   scripts/lint-workflows.sh [ACTIONLINT-ARGS...]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source toolchain/env.sh

bash toolchain/install.sh lint
bash scripts/scanner-venv.sh shellcheck --require-hashes --no-deps
exec "$PHOENIX_LINT_BIN/actionlint" -no-color -pyflakes= -shellcheck "$PWD/.venv-scanners/shellcheck/bin/shellcheck" "$@"
