#!/usr/bin/env bash
# Creates .venv-scanners/NAME from scanners/requirements/NAME.txt, reinstalling only when that file
# changed. Each third-party scanner gets its own virtualenv; none is a dependency of the program.
#
#   scripts/scanner-venv.sh NAME [PIP-INSTALL-ARGS...]     e.g. scripts/scanner-venv.sh trivy --require-hashes
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

name=${1:?usage: scripts/scanner-venv.sh NAME [PIP-INSTALL-ARGS...]}
shift
dir=".venv-scanners/$name" requirements="scanners/requirements/$name.txt"
stamp="$dir/.requirements.sha256"
digest=$(sha256sum "$requirements" | cut -d' ' -f1)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$digest" ]; then
  exit 0
fi
printf '[scan] installing %s into %s\n' "$requirements" "$dir" >&2
rm -rf "$dir"
python3 -m venv "$dir"
"$dir/bin/python" -m pip install --quiet --disable-pip-version-check "$@" -r "$requirements"
echo "$digest" > "$stamp"
