"""Prints the secret config keys a stack file's config needs but does not set, space-separated.

    python scripts/missing_secrets.py Pulumi.STACK.yaml

Used by scripts/stack.sh; the keys come from the program's own config edge, so the two agree.
"""

from __future__ import annotations

import sys
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from components.stack_config import PROJECT_NAMESPACE, secret_keys_needed


def main() -> int:
    config = yaml.safe_load(Path(sys.argv[1]).read_text())["config"]
    prefix = f"{PROJECT_NAMESPACE}:"
    fields = {key.removeprefix(prefix): value for key, value in config.items() if key.startswith(prefix)}
    print(" ".join(sorted(key for key in secret_keys_needed(fields) if key not in fields)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
