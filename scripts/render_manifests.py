"""Renders a stack's Kubernetes resources as plain manifests, for third-party scanners.

Runs the real program with the stack's committed config under Pulumi mocks (tests/harness.py, so
no engine, cluster or credentials) and writes every Kubernetes resource it registers, in
registration order, as multi-document YAML: exactly the apiVersion/kind/metadata/spec (and the
other top-level fields) the program gives the provider. Component resources and other providers'
types are left out. Values the program marks as Pulumi secrets are written as a placeholder
(never even the harness's stand-ins), as a deployed Secret's data never appears in a manifest.

    .venv-dev/bin/python scripts/render_manifests.py STACK OUTDIR [--split]

writes OUTDIR/STACK.yaml; with --split also OUTDIR/STACK/NN-<kind>-<name>.yaml, one resource per
file, for scanners that judge a file as a whole (trivy applies a check selected by one document's
kind to every document of a multi-document file).
"""

from __future__ import annotations

import argparse
import copy
import re
import sys
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
# The program imports `components` from the root; the harness lives in tests/ (as pytest sees it).
for path in (ROOT, ROOT / "tests"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

from harness import ProgramRun, run_program  # noqa: E402

KUBERNETES_PREFIX = "kubernetes:"
SECRET_PLACEHOLDER = "<pulumi secret>"
PATH_PART = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def normalise(value: Any) -> Any:
    """Values as a manifest has them: integral numbers as integers (the mocks hand numbers over as floats)."""
    if isinstance(value, dict):
        return {key: normalise(item) for key, item in value.items()}
    if isinstance(value, list):
        return [normalise(item) for item in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _masked(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _masked(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_masked(item) for item in value]
    return SECRET_PLACEHOLDER


def redact(props: dict[str, Any], secret_paths: set[str]) -> dict[str, Any]:
    """A copy of props with every value under a secret path (`a.b[0].c`) replaced by the placeholder."""
    redacted = copy.deepcopy(props)
    for path in secret_paths:
        parts: list[str | int] = [name if name else int(index) for name, index in PATH_PART.findall(path)]
        if not parts:
            continue
        parent: Any = redacted
        try:
            for part in parts[:-1]:
                parent = parent[part]
            parent[parts[-1]] = _masked(parent[parts[-1]])
        except (KeyError, IndexError, TypeError):
            continue  # the value is not in the inputs as registered
    return redacted


def manifest(props: dict[str, Any], secret_paths: set[str] | None = None) -> dict[str, Any]:
    """apiVersion, kind and metadata first, then the rest in the order the program set them."""
    props = redact(props, secret_paths or set())
    leading = ["apiVersion", "kind", "metadata"]
    ordered = {key: props[key] for key in leading if key in props}
    ordered.update({key: value for key, value in props.items() if key not in leading})
    normalised: dict[str, Any] = normalise(ordered)
    return normalised


def kubernetes_manifests(run: ProgramRun) -> list[dict[str, Any]]:
    return [
        manifest(resource.props, resource.secret_paths)
        for resource in run.resources
        if resource.custom and resource.type_.startswith(KUBERNETES_PREFIX)
    ]


def stack_manifests(stack: str) -> list[dict[str, Any]]:
    run = run_program(stack)
    if run.error is not None:
        raise SystemExit(f"render_manifests: the program failed for stack {stack!r}: {run.error}")
    documents = kubernetes_manifests(run)
    if not documents:
        raise SystemExit(f"render_manifests: stack {stack!r} registered no Kubernetes resource")
    return documents


def header(stack: str) -> str:
    return f"# Rendered from Pulumi.{stack}.yaml by scripts/render_manifests.py (program under mocks); do not edit.\n"


def render(stack: str) -> str:
    return header(stack) + yaml.safe_dump_all(stack_manifests(stack), sort_keys=False, explicit_start=True)


def split_name(index: int, document: dict[str, Any]) -> str:
    metadata = document.get("metadata") or {}
    parts = [str(document.get("kind", "object")).lower(), metadata.get("namespace"), metadata.get("name")]
    return f"{index:02d}-" + "-".join(str(part) for part in parts if part) + ".yaml"


def write(stack: str, outdir: Path, split: bool) -> Path:
    documents = stack_manifests(stack)
    outdir.mkdir(parents=True, exist_ok=True)
    target = outdir / f"{stack}.yaml"
    target.write_text(header(stack) + yaml.safe_dump_all(documents, sort_keys=False, explicit_start=True))
    if split:
        directory = outdir / stack
        directory.mkdir(exist_ok=True)
        for stale in directory.glob("*.yaml"):
            stale.unlink()
        for index, document in enumerate(documents):
            (directory / split_name(index, document)).write_text(header(stack) + yaml.safe_dump(document, sort_keys=False))
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("stack")
    parser.add_argument("outdir", type=Path)
    parser.add_argument("--split", action="store_true", help="also write one file per resource under OUTDIR/STACK/")
    args = parser.parse_args(argv)
    if not (ROOT / f"Pulumi.{args.stack}.yaml").is_file():
        print(f"render_manifests: no stack file Pulumi.{args.stack}.yaml", file=sys.stderr)
        return 2
    print(write(args.stack, args.outdir, args.split))
    return 0


if __name__ == "__main__":
    sys.exit(main())
