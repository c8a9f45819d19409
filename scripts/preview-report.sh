#!/usr/bin/env bash
# The pull-request preview report for a stack, exactly as CI posts it: runs the preview with the
# policy pack and policy/config/STACK.json and writes Markdown (resources to create, update,
# replace and delete with their changed properties; policy violations by severity with their
# fix; preview errors). Exits 1 on a mandatory violation or a failed preview.
#
#   scripts/preview-report.sh STACK [--out FILE] [--events-out FILE] [-- PULUMI-PREVIEW-ARGS...]
#
# Same environment as scripts/stack.sh (backend, passphrase, PHOENIX_WORKSPACE, ...).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
exec "$root/.venv-dev/bin/python" "$root/scripts/preview_report.py" "$@"
