"""The pack as the Pulumi engine drives it: through the SDK's analyzer servicer, with protobuf
requests, policy config from the shipped files, unknowns and secrets."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pulumi_policy.policy as sdk_policy
import pytest
from google.protobuf import struct_pb2
from policy_fixtures import container, deployment, obj, pod_spec, with_security
from policy_testkit import SECRET_WRAPPER_KEY, SECRET_WRAPPER_SIG
from pulumi.runtime import proto
from pulumi_policy import EnforcementLevel
from pulumi_policy.proxy import UNKNOWN_STRING_VALUE

from policy.pack import PACK_NAME, crossguard_policies, preserve_secretness
from policy.registry import ALL_POLICIES

ROOT = Path(__file__).resolve().parents[2]
LEVELS = {"advisory": proto.ADVISORY, "mandatory": proto.MANDATORY, "disabled": proto.DISABLED, "remediate": proto.REMEDIATE}


def struct(value: dict[str, Any]) -> struct_pb2.Struct:
    message = struct_pb2.Struct()
    message.update(value)
    return message


@pytest.fixture
def servicer(monkeypatch: pytest.MonkeyPatch) -> Any:
    # Undo the secretness hook after the test: it patches the SDK module.
    monkeypatch.setattr(sdk_policy, "deserialize_properties", sdk_policy.deserialize_properties)
    preserve_secretness()
    return sdk_policy._PolicyAnalyzerServicer(PACK_NAME, "0.1.0", crossguard_policies(), EnforcementLevel.MANDATORY)


def configure(servicer: Any, path: Path) -> None:
    """Send a config file the way the engine does (all + per-policy, numbers as protobuf doubles)."""
    data = json.loads(path.read_text())
    default = data.get("all", "mandatory")
    request = proto.ConfigureAnalyzerRequest()
    for policy in ALL_POLICIES:
        block = data.get(policy.name, {})
        block = {"enforcementLevel": block} if isinstance(block, str) else dict(block)
        level = block.pop("enforcementLevel", default)
        request.policyConfig[policy.name].CopyFrom(proto.PolicyConfig(enforcementLevel=LEVELS[level], properties=struct(block)))
    servicer.Configure(request, None)


def analyze(servicer: Any, manifest: dict[str, Any], token: str = "kubernetes:apps/v1:Deployment") -> dict[str, Any]:
    request = proto.AnalyzeRequest(
        type=token, name="subject", urn=f"urn:pulumi:prod::phoenix::{token}::subject", properties=struct(manifest)
    )
    response = servicer.Analyze(request, None)
    return {d.policyName: d for d in response.diagnostics}


def test_importing_the_pack_starts_no_server() -> None:
    code = "import policy.pack, policy.registry; print(len(policy.registry.ALL_POLICIES))"
    done = subprocess.run([sys.executable, "-c", code], check=False, cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == str(len(ALL_POLICIES))


def test_analyzer_info_carries_metadata_for_every_policy(servicer: Any) -> None:
    info = servicer.GetAnalyzerInfo(None, None)
    assert info.name == PACK_NAME and len(info.policies) == len(ALL_POLICIES)
    for policy_info in info.policies:
        assert policy_info.description and policy_info.remediation_steps and policy_info.framework.name
        assert policy_info.severity != proto.POLICY_SEVERITY_UNSPECIFIED
        assert "exemptions" in policy_info.configSchema.properties
    by_name = {p.name: p for p in info.policies}
    privileged = by_name["pss-baseline-privileged"].framework
    assert (privileged.name, privileged.version, privileged.reference) == (
        "Pod Security Standards",
        "v1.37",
        "baseline/privileged",
    )
    assert by_name["network-default-deny"].policy_type == proto.PolicyType.POLICY_TYPE_STACK


def test_compliant_deployment_passes_under_prod_config(servicer: Any) -> None:
    configure(servicer, ROOT / "policy" / "config" / "prod.json")
    assert analyze(servicer, deployment()) == {}


def test_violation_is_mandatory_in_prod_and_advisory_in_dev(servicer: Any) -> None:
    insecure = deployment(pod_spec(containers=[container(readinessProbe=None)]))
    configure(servicer, ROOT / "policy" / "config" / "prod.json")
    assert analyze(servicer, insecure)["workload-liveness-readiness-probes"].enforcementLevel == proto.MANDATORY
    configure(servicer, ROOT / "policy" / "config" / "dev.json")
    assert analyze(servicer, insecure)["workload-liveness-readiness-probes"].enforcementLevel == proto.ADVISORY


def test_numbers_from_the_engine_are_compared_correctly(servicer: Any) -> None:
    # Config and properties arrive as protobuf doubles (2 -> 2.0).
    configure(servicer, ROOT / "policy" / "config" / "prod.json")
    hpa = obj(
        "autoscaling/v2",
        "HorizontalPodAutoscaler",
        name="api",
        spec={"minReplicas": 1, "maxReplicas": 4, "behavior": {"scaleDown": {"stabilizationWindowSeconds": 300}}},
    )
    found = analyze(servicer, hpa, "kubernetes:autoscaling/v2:HorizontalPodAutoscaler")
    assert set(found) == {"availability-hpa-min-replicas"}
    hpa["spec"]["minReplicas"] = 2
    assert analyze(servicer, hpa, "kubernetes:autoscaling/v2:HorizontalPodAutoscaler") == {}


def test_unknown_value_is_reported_not_passed(servicer: Any) -> None:
    configure(servicer, ROOT / "policy" / "config" / "prod.json")
    spec = pod_spec(containers=[with_security(container(image=UNKNOWN_STRING_VALUE))])
    found = analyze(servicer, deployment(spec))
    assert set(found) == {"image-pinned-by-digest", "image-allowed-registry"}
    assert all("can't be known during preview" in d.message for d in found.values())


def test_pulumi_secret_data_passes_and_plaintext_fails(servicer: Any) -> None:
    configure(servicer, ROOT / "policy" / "config" / "prod.json")
    secret = obj("v1", "Secret", name="api-secrets", stringData={SECRET_WRAPPER_KEY: SECRET_WRAPPER_SIG, "value": {"key": "v"}})
    assert analyze(servicer, secret, "kubernetes:core/v1:Secret") == {}
    plaintext = obj("v1", "Secret", name="api-secrets", stringData={"key": "v"})
    assert set(analyze(servicer, plaintext, "kubernetes:core/v1:Secret")) == {"secrets-data-is-pulumi-secret"}


def test_stack_policy_reports_against_the_resource_urn(servicer: Any) -> None:
    configure(servicer, ROOT / "policy" / "config" / "prod.json")
    request = proto.AnalyzeStackRequest()
    for name, manifest, token in [
        ("ns", obj("v1", "Namespace", name="phoenix-prod", namespace=None), "kubernetes:core/v1:Namespace"),
        ("api", deployment(), "kubernetes:apps/v1:Deployment"),
    ]:
        request.resources.append(proto.AnalyzerResource(type=token, name=name, urn=f"urn:{name}", properties=struct(manifest)))
    response = servicer.AnalyzeStack(request, None)
    found = {d.policyName: d for d in response.diagnostics}
    assert set(found) == {"network-default-deny", "network-namespace-resource-quota", "network-namespace-limit-range"}
    assert {d.urn for d in found.values()} == {"urn:ns"}


PACK_VENV_PYTHON = ROOT / "policy" / "venv" / "bin" / "python"
INTERPRETERS = [sys.executable] + ([str(PACK_VENV_PYTHON)] if PACK_VENV_PYTHON.exists() else [])


@pytest.mark.parametrize("python", INTERPRETERS, ids=["dev-venv", "pack-venv"][: len(INTERPRETERS)])
def test_pack_entry_point_serves_the_engine_from_its_own_directory(python: str) -> None:
    # Run policy/__main__.py the way the engine does (cwd policy/, the file as the program): it must
    # import `policy.*`, print its port and answer GetAnalyzerInfo over gRPC.
    import grpc
    from google.protobuf import empty_pb2
    from pulumi.runtime.proto import analyzer_pb2_grpc

    server = subprocess.Popen(
        [python, "-u", "__main__.py"], cwd=ROOT / "policy", stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        assert server.stdout is not None
        port = server.stdout.readline().strip()
        assert port.isdigit(), server.stderr.read() if server.stderr else port
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            info = analyzer_pb2_grpc.AnalyzerStub(channel).GetAnalyzerInfo(empty_pb2.Empty(), timeout=30)
        assert info.name == PACK_NAME and len(info.policies) == len(ALL_POLICIES)
    finally:
        server.kill()
        server.wait(timeout=30)


def test_namespace_defaults_to_the_providers_namespace(servicer: Any) -> None:
    configure(servicer, ROOT / "policy" / "config" / "prod.json")
    unscoped = deployment()
    del unscoped["metadata"]["namespace"]
    request = proto.AnalyzeRequest(type="kubernetes:apps/v1:Deployment", name="api", urn="urn:api", properties=struct(unscoped))
    assert "workload-forbidden-namespace" in {d.policyName for d in servicer.Analyze(request, None).diagnostics}
    request.provider.CopyFrom(
        proto.AnalyzerProviderResource(
            type="pulumi:providers:kubernetes", name="apps", urn="urn:provider", properties=struct({"namespace": "phoenix-prod"})
        )
    )
    assert "workload-forbidden-namespace" not in {d.policyName for d in servicer.Analyze(request, None).diagnostics}
