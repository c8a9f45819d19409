"""Prepares a local Pulumi workspace for a stack, so local runs never rewrite the committed stack files.

A workspace is a directory that links to the project's files and holds its own
Pulumi.<stack>.yaml: the committed config (or another file's, for tests) plus
what Pulumi writes locally — the passphrase salt and encrypted secrets — kept
from the previous run.

    python scripts/workspace.py STACK [--dir DIR] [--config-from FILE]   # prints the workspace path
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
PROJECT_FILES = ["Pulumi.yaml", "__main__.py", "components", "services", ".venv"]


def local_state(document: dict[str, Any]) -> dict[str, Any]:
    """What Pulumi itself wrote into a stack file: the salt, and secrets (as ciphertext)."""
    kept: dict[str, Any] = {}
    if "encryptionsalt" in document:
        kept["encryptionsalt"] = document["encryptionsalt"]
    secrets = {
        key: value for key, value in (document.get("config") or {}).items() if isinstance(value, dict) and "secure" in value
    }
    if secrets:
        kept["config"] = secrets
    return kept


def _strings_in(value: Any) -> set[str]:
    if isinstance(value, str):
        return {value}
    if isinstance(value, dict):
        return set().union(*(_strings_in(v) for v in value.values()))
    if isinstance(value, list):
        return set().union(*(_strings_in(v) for v in value))
    return set()


def prepare(stack: str, directory: Path, config_from: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for name in PROJECT_FILES:
        link = directory / name
        if not link.is_symlink():
            link.symlink_to(ROOT / name)
    stack_file = directory / f"Pulumi.{stack}.yaml"
    previous = yaml.safe_load(stack_file.read_text()) if stack_file.exists() else {}
    committed = yaml.safe_load(config_from.read_text()) or {}
    kept = local_state(previous or {})
    # Secrets are named by config values (services[].secrets, ...Secret: keys); one no value names any more is dropped.
    referenced = _strings_in(committed.get("config") or {})
    kept["config"] = {key: value for key, value in kept.get("config", {}).items() if key.split(":", 1)[-1] in referenced}
    document = {**committed, **{k: v for k, v in kept.items() if k != "config"}}
    document["config"] = {**(committed.get("config") or {}), **kept.get("config", {})}
    stack_file.write_text(yaml.safe_dump(document, sort_keys=False))
    return directory


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("stack")
    parser.add_argument("--dir", type=Path, help="workspace directory (default: .pulumi-state/workspaces/STACK)")
    parser.add_argument("--config-from", type=Path, help="stack file to take the config from (default: Pulumi.STACK.yaml)")
    args = parser.parse_args()
    config_from = args.config_from or ROOT / f"Pulumi.{args.stack}.yaml"
    if not config_from.is_file():
        print(f"workspace: no stack file {config_from}", file=sys.stderr)
        return 2
    directory = args.dir or ROOT / ".pulumi-state" / "workspaces" / args.stack
    print(prepare(args.stack, directory.resolve(), config_from))
    return 0


if __name__ == "__main__":
    sys.exit(main())
