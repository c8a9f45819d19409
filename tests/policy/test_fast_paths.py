"""The scanner's and the policies' fast paths decide exactly what the plain paths decide.

policy.scan parses with libyaml's loader when PyYAML has it, and a resource's pod template is
extracted once and shared by every pod policy (benchmarks/README: scanner throughput).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest
import yaml
from policy_fixtures import deployment
from policy_testkit import TODAY, resource
from pulumi_policy.proxy import UNKNOWN_STRING_VALUE, UnknownValueError

from benchmarks.corpus import generated_manifests, psa_files
from policy import pods, scan
from policy.config import PackConfig
from policy.evaluation import evaluate
from policy.model import Resource
from policy.pods import _extract_pod_template, pod_template
from policy.registry import ALL_POLICIES

pytestmark = pytest.mark.skipif(not yaml.__with_libyaml__, reason="PyYAML without libyaml: only the plain loader exists")


@pytest.fixture
def corpus(tmp_path: Path) -> list[Path]:
    """Generated manifests (one multi-document file, one kind: List), the PSA corpus and odd YAML."""
    manifests = generated_manifests(120)
    (tmp_path / "all.yaml").write_text(yaml.safe_dump_all(manifests, sort_keys=False))
    (tmp_path / "list.yaml").write_text(yaml.safe_dump({"apiVersion": "v1", "kind": "List", "items": manifests[:5]}))
    (tmp_path / "odd.yaml").write_text(
        "# leading comment\n---\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: odd, labels: {a: 'yes'}}\n"
        "data: {when: 2026-12-03, count: 010, flag: on, ratio: 1e3, empty: ~, 'x': &a [1, 2], y: *a}\n...\n"
    )
    return [tmp_path / "all.yaml", tmp_path / "list.yaml", tmp_path / "odd.yaml", *psa_files()]


def _read(path: Path, loader: Any, monkeypatch: pytest.MonkeyPatch) -> list[tuple[Any, ...]]:
    monkeypatch.setattr(scan, "YAML_LOADER", loader)
    return [
        (d.file, d.index, d.line, d.resource.type_token, _plain(d.resource.props), d.resource.logical_name)
        for d in scan.read_documents(path)
    ]


def _plain(value: Any) -> Any:
    """The proxy's content as plain values, with their types (2.0 and 2 differ)."""
    if isinstance(value, Mapping):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, Sequence) and not isinstance(value, str):
        return [_plain(item) for item in value]
    return (type(value).__name__, value)


def test_the_scanner_uses_libyaml() -> None:
    assert scan.YAML_LOADER is getattr(yaml, "CSafeLoader")  # noqa: B009 (typed as a SafeLoader)


def test_libyaml_reads_the_same_documents_lines_and_values(corpus: list[Path], monkeypatch: pytest.MonkeyPatch) -> None:
    for path in corpus:
        assert _read(path, yaml.CSafeLoader, monkeypatch) == _read(path, yaml.SafeLoader, monkeypatch), path


@pytest.mark.parametrize(
    "text",
    [
        "apiVersion: v1\nkind: Pod\nmetadata: {name: [unclosed\n",
        "a: 1\n---\napiVersion: v1\nkind: Pod\n  bad: indent\n",
        "\tkind: Pod\n",
    ],
)
def test_libyaml_reports_errors_on_the_same_line(text: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    messages = []
    for loader in (yaml.CSafeLoader, yaml.SafeLoader):
        monkeypatch.setattr(scan, "YAML_LOADER", loader)
        with pytest.raises(scan.InputError) as raised:
            scan.read_documents(path)
        messages.append(str(raised.value).split(": invalid YAML")[0].split(": not a Kubernetes object")[0])
    assert messages[0] == messages[1]


def _fresh(resources: list[Resource]) -> Iterator[Resource]:
    return (dataclasses.replace(r) for r in resources)


def test_pod_template_is_extracted_once_per_resource() -> None:
    subject = resource(deployment())
    first = pod_template(subject)
    assert first is not None
    assert pod_template(subject) is first
    assert first == _extract_pod_template(subject)
    other = dataclasses.replace(subject)
    assert pod_template(other) is not first  # keyed by the resource object, not by equal content
    assert pod_template(resource({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}})) is None


def test_an_unknown_template_is_never_cached() -> None:
    subject = resource(deployment() | {"spec": UNKNOWN_STRING_VALUE})  # the whole spec unknown (preview)
    for _ in range(2):
        with pytest.raises(UnknownValueError):
            pod_template(subject)
    assert subject not in pods._TEMPLATES


class _Forgetful(dict[Resource, Any]):
    """A template cache that keeps nothing: every policy extracts the template itself."""

    def __setitem__(self, key: Resource, value: Any) -> None:
        pass


def test_shared_templates_change_no_finding(corpus: list[Path], monkeypatch: pytest.MonkeyPatch) -> None:
    resources = [d.resource for path in corpus for d in scan.read_documents(path)]

    def findings() -> list[tuple[str, str, str]]:
        evaluation = evaluate(list(_fresh(resources)), ALL_POLICIES, PackConfig(), TODAY)
        return sorted((f.policy.name, f.resource.logical_name if f.resource else "", f.message) for f in evaluation.findings)

    shared = findings()
    monkeypatch.setattr(pods, "_TEMPLATES", _Forgetful())
    assert findings() == shared
    assert shared  # the corpus has problems to find


# The pack: the SDK converts a request's properties once, not once per policy.


def _requests() -> list[Any]:
    from google.protobuf import struct_pb2
    from pulumi.runtime import proto

    manifests = [
        *generated_manifests(40),
        deployment() | {"spec": UNKNOWN_STRING_VALUE},
        {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}, "stringData": {"password": "hunter2"}},
    ]
    requests = []
    for index, manifest in enumerate(manifests):
        properties = struct_pb2.Struct()
        properties.update(manifest)
        token = scan.type_token(manifest["apiVersion"], manifest["kind"])
        request = proto.AnalyzeRequest(
            type=token, name=f"r{index}", urn=f"urn:pulumi:prod::p::{token}::r{index}", properties=properties
        )
        if index % 2:  # the engine names the resource's provider, whose properties the SDK converts too
            provider = struct_pb2.Struct()
            provider.update({"namespace": f"ns-{index}", "version": "4.25.0"})
            request.provider.CopyFrom(
                proto.AnalyzerProviderResource(type="pulumi:providers:kubernetes", name="k8s", urn="urn:k8s", properties=provider)
            )
        requests.append(request)
    return requests


def _analyze_all(servicer: Any, requests: list[Any], threads: int = 1) -> list[dict[str, Any]]:
    from concurrent.futures import ThreadPoolExecutor

    from google.protobuf import json_format

    def one(request: Any) -> dict[str, Any]:
        return json_format.MessageToDict(servicer.Analyze(request, None))

    with ThreadPoolExecutor(threads) as pool:
        return list(pool.map(one, requests))


def test_the_pack_converts_each_request_once_and_reports_the_same(monkeypatch: pytest.MonkeyPatch) -> None:
    import pulumi_policy.policy as sdk_policy
    from google.protobuf import json_format, struct_pb2
    from pulumi.runtime import proto
    from pulumi_policy import EnforcementLevel

    from policy.pack import PACK_NAME, convert_properties_once, crossguard_policies, preserve_secretness

    for name in ("json_format", "deserialize_properties", "unknown_checking_proxy"):
        monkeypatch.setattr(sdk_policy, name, getattr(sdk_policy, name))  # undone after the test
    preserve_secretness()
    servicer = sdk_policy._PolicyAnalyzerServicer(PACK_NAME, "0.1.0", crossguard_policies(), EnforcementLevel.MANDATORY)
    requests = _requests()
    as_is = _analyze_all(servicer, requests)
    assert any(response.get("diagnostics") for response in as_is)
    stack = proto.AnalyzeStackRequest(
        resources=[proto.AnalyzerResource(type=r.type, name=r.name, urn=r.urn, properties=r.properties) for r in requests]
    )
    stack_as_is = json_format.MessageToDict(servicer.AnalyzeStack(stack, None))

    conversions: list[Any] = []
    to_dict = sdk_policy.json_format.MessageToDict

    def counting(message: Any) -> Any:
        conversions.append(message)
        return to_dict(message)

    monkeypatch.setattr(sdk_policy.json_format, "MessageToDict", counting)
    convert_properties_once()
    assert _analyze_all(servicer, requests) == as_is
    properties = [m for m in conversions if isinstance(m, struct_pb2.Struct)]  # not the test's own response conversions
    assert len(properties) == len(requests) + len(requests) // 2  # once per request (and provider), not once per policy
    assert _analyze_all(servicer, requests, threads=4) == as_is  # gRPC serves requests on 4 threads
    assert json_format.MessageToDict(servicer.AnalyzeStack(stack, None)) == stack_as_is
