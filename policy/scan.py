"""Scan plain Kubernetes YAML with the pack's policies, with the same semantics as under Pulumi.

    python -m policy.scan [--config FILE] [--format text|json] PATH...

PATHs are YAML files (multi-document is fine) or directories searched for *.yaml/*.yml, such as
``helm template`` output. Stack policies see every document scanned together. Exit status: 0 with
no mandatory finding, 1 with any, 2 for bad usage or unreadable input.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pulumi_policy.proxy import UnknownValueError

from policy.config import ConfigError, PackConfig, load_pack_config
from policy.evaluation import Evaluation, Finding, evaluate
from policy.model import Policy, Resource
from policy.registry import ALL_POLICIES
from policy.wire import runtime_props

YAML_SUFFIXES = (".yaml", ".yml")
# libyaml's parser when PyYAML was built with it (an order of magnitude faster than the pure-Python
# one); the same documents, node marks and errors.
# (CSafeLoader is not a SafeLoader subclass, but has its interface.)
YAML_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class InputError(Exception):
    """Input the scanner cannot read; the message names the file and line."""


@dataclass(frozen=True)
class Document:
    resource: Resource
    file: str
    index: int
    line: int


def type_token(api_version: str, kind: str) -> str:
    """The Pulumi type token for a manifest, e.g. apps/v1 Deployment -> kubernetes:apps/v1:Deployment."""
    group_version = api_version if "/" in api_version else f"core/{api_version}"
    return f"kubernetes:{group_version}:{kind}"


def _objects(data: Any, where: str) -> Iterator[Mapping[str, Any]]:
    if not isinstance(data, Mapping):
        raise InputError(f"{where}: expected a Kubernetes object, got {type(data).__name__}")
    api_version, kind = data.get("apiVersion"), data.get("kind")
    if not isinstance(api_version, str) or not isinstance(kind, str):
        raise InputError(f"{where}: not a Kubernetes object (apiVersion and kind are required)")
    if kind.endswith("List") and isinstance(data.get("items"), list):
        for item in data["items"]:
            yield from _objects(item, where)
        return
    yield data


def read_documents(path: Path) -> list[Document]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise InputError(f"{path}:1: cannot read: {error}") from None
    documents: list[Document] = []
    loader = YAML_LOADER(text)
    try:
        index = 0
        while loader.check_node():
            node = loader.get_node()
            line = node.start_mark.line + 1 if node is not None else 1
            data = loader.construct_document(node) if node is not None else None  # type: ignore[no-untyped-call]
            if data is not None:
                for obj in _objects(data, f"{path}:{line}"):
                    token = type_token(str(obj["apiVersion"]), str(obj["kind"]))
                    resource = Resource(token, runtime_props(json.loads(json.dumps(obj, default=str))), f"{path}#{index}")
                    documents.append(Document(resource, str(path), index, line))
            index += 1
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None) or getattr(error, "context_mark", None)
        line = mark.line + 1 if mark is not None else 1
        raise InputError(f"{path}:{line}: invalid YAML: {getattr(error, 'problem', None) or error}") from None
    finally:
        loader.dispose()  # type: ignore[no-untyped-call]
    return documents


def collect_files(paths: Sequence[str]) -> list[Path]:
    files: list[Path] = []
    for name in paths:
        path = Path(name)
        if path.is_dir():
            files.extend(sorted(p for p in path.rglob("*") if p.is_file() and p.suffix in YAML_SUFFIXES))
        elif path.is_file():
            files.append(path)
        else:
            raise InputError(f"{name}:1: no such file or directory")
    return files


def _frameworks(policy: Policy) -> list[dict[str, str]]:
    return [{"name": f.name, "version": f.version, "control": f.control} for f in policy.frameworks]


def _safe_namespace(resource: Resource) -> str | None:
    try:
        return resource.namespace
    except UnknownValueError:  # cannot come from YAML, but the resource type allows it
        return None


def finding_record(finding: Finding, located: Mapping[int, Document]) -> dict[str, Any]:
    document = located.get(id(finding.resource)) if finding.resource is not None else None
    resource = finding.resource
    return {
        "file": document.file if document else None,
        "document": document.index if document else None,
        "kind": resource.kind if resource else None,
        "name": resource.name if resource else None,
        "namespace": _safe_namespace(resource) if resource else None,
        "policy": finding.policy.name,
        "severity": finding.policy.severity.value,
        "enforcement_level": finding.enforcement_level.value,
        "frameworks": _frameworks(finding.policy),
        "message": finding.message,
    }


def render_json(evaluation: Evaluation, documents: Sequence[Document], files: int) -> str:
    located = {id(d.resource): d for d in documents}
    return json.dumps(
        {
            "findings": [finding_record(f, located) for f in evaluation.findings],
            "resources_scanned": len(documents),
            "files_scanned": files,
            "mandatory_findings": len(evaluation.mandatory),
        },
        indent=2,
    )


def render_text(evaluation: Evaluation, documents: Sequence[Document], files: int) -> str:
    located = {id(d.resource): d for d in documents}
    groups: dict[str, list[Finding]] = {}
    for finding in evaluation.findings:
        resource = finding.resource
        if resource is None:
            title = "(all documents)"
        else:
            document = located.get(id(resource))
            where = f"{document.file}:{document.line} (document {document.index})" if document else resource.logical_name
            namespace = _safe_namespace(resource)
            title = f"{where}  {resource.kind} {namespace + '/' if namespace else ''}{resource.name}"
        groups.setdefault(title, []).append(finding)
    lines: list[str] = []
    for title, findings in groups.items():
        lines.append(title)
        for f in findings:
            lines.append(
                f"  {f.enforcement_level.value.upper():9} {f.policy.severity.value:8} {f.policy.name}: "
                f"{f.message} -- fix: {f.policy.remediation}"
            )
    mandatory = len(evaluation.mandatory)
    lines.append(
        f"{len(evaluation.findings)} finding(s), {mandatory} mandatory, in {len(documents)} resource(s) from {files} file(s)"
    )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m policy.scan", description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", type=Path, help="policy config file (Pulumi policy-config JSON)")
    parser.add_argument("--format", choices=("text", "json"), default="text")
    parser.add_argument("paths", nargs="+", metavar="PATH")
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:
        return 2 if exit_.code else 0
    try:
        config = load_pack_config(args.config, ALL_POLICIES) if args.config else PackConfig()
        files = collect_files(args.paths)
        documents = [document for path in files for document in read_documents(path)]
    except (ConfigError, InputError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    evaluation = evaluate([d.resource for d in documents], ALL_POLICIES, config)
    render = render_json if args.format == "json" else render_text
    print(render(evaluation, documents, len(files)))
    return 1 if evaluation.mandatory else 0


if __name__ == "__main__":
    sys.exit(main())
