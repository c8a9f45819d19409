"""Re-pins each Dockerfile's base images to the digest their tag points at today, so the weekly
rebuild (.github/workflows/weekly-images.yml) picks up the base images' security patches while
every build stays pinned by digest.

    python scripts/refresh_base_images.py Dockerfile...      # prints what changed; rewrites in place

A `FROM name:tag@sha256:...` line keeps its tag and gets the tag's current digest (of the
multi-platform index), resolved with `docker buildx imagetools inspect`. Lines without a tag, or
`FROM` a build stage, are left alone.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

FROM_LINE = re.compile(
    r"^(?P<head>\s*FROM\s+(?:--platform=\S+\s+)?)(?P<name>[^\s@:]+(?::\d+)?(?:/[^\s@:]+)*):(?P<tag>[\w][\w.-]*)"
    r"(?:@(?P<digest>sha256:[0-9a-f]{64}))?(?P<tail>(?:\s+AS\s+\S+)?\s*)$",
    re.IGNORECASE | re.MULTILINE,
)
DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")

Resolver = Callable[[str], str]


def docker_resolver(reference: str) -> str:
    result = subprocess.run(
        ["docker", "buildx", "imagetools", "inspect", reference, "--format", "{{json .Manifest.Digest}}"],
        capture_output=True,
        text=True,
        check=True,
    )
    digest = result.stdout.strip().strip('"')
    if not DIGEST.match(digest):
        raise ValueError(f"{reference}: unexpected digest {digest!r}")
    return digest


def refresh(text: str, resolve: Resolver) -> tuple[str, list[str]]:
    """The Dockerfile with every tagged base image pinned to its tag's current digest, and what moved."""
    changes: list[str] = []

    def repin(match: re.Match[str]) -> str:
        reference = f"{match['name']}:{match['tag']}"
        digest = resolve(reference)
        if digest != match["digest"]:
            changes.append(f"{reference}: {match['digest'] or 'unpinned'} -> {digest}")
        return f"{match['head']}{reference}@{digest}{match['tail']}"

    return FROM_LINE.sub(repin, text), changes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dockerfiles", nargs="+", type=Path)
    args = parser.parse_args(argv)
    for dockerfile in args.dockerfiles:
        text, changes = refresh(dockerfile.read_text(), docker_resolver)
        if changes:
            dockerfile.write_text(text)
        for change in changes or ["base images already current"]:
            print(f"{dockerfile}: {change}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
