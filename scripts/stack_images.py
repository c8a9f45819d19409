"""Lists the container images a stack deploys, one per line: what CI verifies the signature of
before `pulumi up` (.github/workflows/deploy.yml).

Runs the program with the stack's committed config under mocks (scripts/render_manifests.py), so
it needs neither the engine nor the cluster, and reads every container of every pod template.

    .venv-dev/bin/python scripts/stack_images.py STACK [--registry PREFIX]
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import render_manifests


def pod_specs(document: dict[str, Any]) -> Iterator[dict[str, Any]]:
    spec = document.get("spec") or {}
    if document.get("kind") == "Pod":
        yield spec
    template = spec.get("template") or (spec.get("jobTemplate") or {}).get("spec", {}).get("template")
    if isinstance(template, dict) and isinstance(template.get("spec"), dict):
        yield template["spec"]


def images(documents: list[dict[str, Any]]) -> list[str]:
    found: list[str] = []
    for document in documents:
        for pod in pod_specs(document):
            for kind in ("initContainers", "containers", "ephemeralContainers"):
                for container in pod.get(kind) or []:
                    image = container.get("image")
                    if isinstance(image, str) and image not in found:
                        found.append(image)
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("stack")
    parser.add_argument("--registry", default="", help="only images under this prefix, e.g. ghcr.io/phoenix-orch/")
    args = parser.parse_args(argv)
    for image in images(render_manifests.stack_manifests(args.stack)):
        if image.startswith(args.registry):
            print(image)
    return 0


if __name__ == "__main__":
    sys.exit(main())
