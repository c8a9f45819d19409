"""The images this repository builds, as the GitHub Actions matrix .github/workflows/images.yml
runs over: one entry per service with `build:` in any stack file, with its context, Dockerfile
and immutable tag (the stacks must agree on the tag of a service they both build).

    python scripts/image_builds.py    # prints {"include": [...]}
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent


def builds(stack_files: list[Path]) -> list[dict[str, str]]:
    found: dict[str, dict[str, str]] = {}
    for stack_file in stack_files:
        config: dict[str, Any] = (yaml.safe_load(stack_file.read_text()) or {}).get("config") or {}
        for service in config.get("phoenix:services") or []:
            build = service.get("build")
            if not build:
                continue
            context = str(build["context"])
            entry = {
                "service": str(service["name"]),
                "context": context,
                "dockerfile": f"{context}/{build.get('dockerfile') or 'Dockerfile'}",
                "tag": str(build["tag"]),
            }
            previous = found.setdefault(entry["service"], entry)
            if previous != entry:
                raise SystemExit(
                    f"{stack_file.name}: service {entry['service']!r} is built differently in another stack: {previous}"
                )
    return sorted(found.values(), key=lambda entry: entry["service"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.parse_args(argv)
    print(json.dumps({"include": builds(sorted(ROOT.glob("Pulumi.*.yaml")))}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
