"""The third-party scanner gate (scripts/scan_manifests.py) and the CI helper scripts.

The gate itself runs in scripts/test.sh before pytest; these tests check that its pieces decide
right: the exceptions file, each scanner's output read into findings, and each scanner really
catching a planted problem (so a passing gate is not a scanner that looked at nothing).
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))

import image_builds  # noqa: E402
import refresh_base_images  # noqa: E402
import render_manifests  # noqa: E402
import scan_manifests  # noqa: E402
import stack_images  # noqa: E402
from scan_manifests import Exemption, Finding, GateError  # noqa: E402

SCANNERS = ROOT / ".venv-scanners"


def needs_scanner(name: str) -> None:
    if not (SCANNERS / name / "bin").is_dir():
        if os.environ.get("CI"):
            pytest.fail(f".venv-scanners/{name} is missing: scripts/test.sh runs scripts/scan-manifests.sh first")
        pytest.skip(f".venv-scanners/{name} is missing (run scripts/scan-manifests.sh)")


# --- exceptions ----------------------------------------------------------------------------------


def test_committed_exceptions_are_complete_and_reasoned() -> None:
    exemptions = scan_manifests.load_exceptions(scan_manifests.EXCEPTIONS_FILE)
    assert exemptions
    for exemption in exemptions:
        assert len(exemption.reason) > 60, exemption
        assert exemption.resource != "*", "an exception names its resource"


def test_exception_matches_scanner_check_and_resource_pattern() -> None:
    exemption = Exemption("checkov", "CKV_K8S_38", "Deployment/phoenix-*/orchestrator", "reason")
    assert exemption.matches(Finding("checkov", "CKV_K8S_38", "Deployment/phoenix-prod/orchestrator", ""))
    assert not exemption.matches(Finding("checkov", "CKV_K8S_38", "Deployment/phoenix-prod/memory", ""))
    assert not exemption.matches(Finding("checkov", "CKV_K8S_39", "Deployment/phoenix-prod/orchestrator", ""))
    assert not exemption.matches(Finding("trivy", "CKV_K8S_38", "Deployment/phoenix-prod/orchestrator", ""))


def test_unexcepted_findings_fail_and_unused_exceptions_fail() -> None:
    used = Exemption("trivy", "KSV-0001", "Deployment/*/a", "reason")
    unused = Exemption("trivy", "KSV-0002", "Deployment/*/a", "reason")
    verdict = scan_manifests.judge(
        [Finding("trivy", "KSV-0001", "Deployment/ns/a", ""), Finding("trivy", "KSV-0003", "Deployment/ns/a", "")],
        [used, unused],
    )
    assert [f.check for f in verdict.failed] == ["KSV-0003"]
    assert [e for _, e in verdict.excepted] == [used]
    assert verdict.unused == [unused]
    assert not verdict.ok
    assert scan_manifests.judge([], []).ok


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"scanner": "checkov", "check": "X", "resource": "R"}, "missing reason"),
        ({"scanner": "nope", "check": "X", "resource": "R", "reason": "r"}, "is not one of"),
        ({"scanner": "checkov", "check": "X", "resource": "R", "reason": "r", "until": "x"}, "unknown key"),
    ],
)
def test_malformed_exceptions_are_refused(tmp_path: Path, entry: dict[str, str], message: str) -> None:
    path = tmp_path / "exceptions.yaml"
    path.write_text(yaml.safe_dump({"exceptions": [entry]}))
    with pytest.raises(GateError, match=message):
        scan_manifests.load_exceptions(path)


# --- reading scanner output ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> scan_manifests.Rendered:
    return scan_manifests.render(["dev"], tmp_path_factory.mktemp("scan"))


def test_rendering_maps_each_file_to_its_resource(rendered: scan_manifests.Rendered) -> None:
    resources = {resource for _, resource, _ in rendered.files.values()}
    assert {"Namespace/phoenix-dev", "Deployment/phoenix-dev/orchestrator", "LimitRange/phoenix-dev/phoenix-limits"} <= resources
    for path in rendered.files:
        assert len(list(yaml.safe_load_all(path.read_text()))) == 1


def test_checkov_report_is_read_into_findings(rendered: scan_manifests.Rendered) -> None:
    path = next(p for p, (_, r, _) in rendered.files.items() if r == "Deployment/phoenix-dev/orchestrator")
    report = {
        "check_type": "kubernetes",
        "summary": {"passed": 10, "failed": 1, "parsing_errors": 0},
        "results": {"failed_checks": [{"check_id": "CKV_K8S_38", "check_name": "tokens", "file_abs_path": str(path)}]},
    }
    run = scan_manifests.parse_checkov(report, rendered, "3.3.30")
    assert run.passed == 10
    assert run.findings == [Finding("checkov", "CKV_K8S_38", "Deployment/phoenix-dev/orchestrator", "tokens", "dev")]


def test_kubernetes_validate_lines_are_read_into_findings(rendered: scan_manifests.Rendered) -> None:
    path = next(p for p, (_, r, _) in rendered.files.items() if r == "Deployment/phoenix-dev/orchestrator")
    output = "\n".join(
        [
            f"INFO {path} passed for resource deployment/orchestrator against version 1.37",
            f"ERROR {path} did not validate for resource deployment/orchestrator against version 1.37: spec.replicas: 1.5 is not"
            " of type 'integer', 'null'",
            f"WARN {path} Couldn't find schema for kind PodMonitor with api version monitoring.coreos.com/v1",
        ]
    )
    run = scan_manifests.parse_kubernetes_validate(output, rendered, "1.37.0")
    assert run.passed == 1
    assert [(f.check, f.resource) for f in run.findings] == [
        ("strict-schema", "Deployment/phoenix-dev/orchestrator"),
        ("no-schema", "Deployment/phoenix-dev/orchestrator"),
    ]


def test_trivy_trusts_the_registries_the_pack_allows(tmp_path: Path) -> None:
    data = scan_manifests.trivy_registry_data(tmp_path)
    trusted = yaml.safe_load((data / "ksv0125.json").read_text())["ksv0125"]["trusted_registries"]
    assert trusted == ["ghcr.io"]


# --- each scanner catches a planted problem --------------------------------------------------------

INSECURE = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {"name": "insecure", "namespace": "phoenix-dev"},
    "spec": {
        "selector": {"matchLabels": {"app": "insecure"}},
        "template": {
            "metadata": {"labels": {"app": "insecure"}},
            "spec": {"containers": [{"name": "app", "image": "nginx:latest", "securityContext": {"privileged": True}}]},
        },
    },
}


def planted(tmp_path: Path, document: dict[str, Any]) -> scan_manifests.Rendered:
    path = tmp_path / "manifests" / "dev" / "00-deployment-insecure.yaml"
    path.parent.mkdir(parents=True)
    path.write_text(yaml.safe_dump(document))
    return scan_manifests.Rendered(
        tmp_path / "manifests", {path.resolve(): ("dev", "Deployment/phoenix-dev/insecure", "Deployment")}
    )


def test_checkov_catches_a_privileged_container(tmp_path: Path) -> None:
    needs_scanner("checkov")
    run = scan_manifests.run_checkov(planted(tmp_path, INSECURE), scan_manifests.offline_prefix())
    checks = {f.check for f in run.findings}
    assert "CKV_K8S_16" in checks, checks  # privileged
    assert "CKV_K8S_14" in checks, checks  # image tag latest


def test_trivy_catches_a_privileged_container_offline(tmp_path: Path) -> None:
    needs_scanner("trivy")
    run = scan_manifests.run_trivy(planted(tmp_path, INSECURE), tmp_path, scan_manifests.offline_prefix())
    checks = {f.check for f in run.findings if f.resource == "Deployment/phoenix-dev/insecure"}
    assert "KSV-0017" in checks, checks  # privileged


def test_kubernetes_validate_catches_an_unknown_field_strictly(tmp_path: Path) -> None:
    needs_scanner("kubernetes-validate")
    document = yaml.safe_load(yaml.safe_dump(INSECURE))
    document["spec"]["template"]["spec"]["containers"][0]["imagePullPolicyy"] = "Always"
    run = scan_manifests.run_kubernetes_validate(planted(tmp_path, document), scan_manifests.offline_prefix())
    assert [f.check for f in run.findings] == ["strict-schema"], run.findings


def test_hadolint_catches_an_unpinned_root_dockerfile(tmp_path: Path) -> None:
    needs_scanner("hadolint")
    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text("FROM quay.io/example/base:latest\nRUN apt-get update && apt-get install curl\n")
    run = scan_manifests.run_hadolint(scan_manifests.offline_prefix(), [dockerfile])
    checks = {f.check for f in run.findings}
    assert {"DL3007", "DL3008", "DL3026"} <= checks, checks  # latest, unpinned apt, untrusted registry


def test_the_project_dockerfiles_pass_hadolint() -> None:
    needs_scanner("hadolint")
    run = scan_manifests.run_hadolint(scan_manifests.offline_prefix())
    assert run.passed >= 1 and run.findings == []


# --- CI helpers ------------------------------------------------------------------------------------


def test_rendered_manifests_are_plain_kubernetes_with_integers_and_no_secret_values(tmp_path: Path) -> None:
    target = render_manifests.write("prod", tmp_path, split=False)
    documents = [d for d in yaml.safe_load_all(target.read_text()) if d]
    assert all(not d["kind"].startswith("phoenix") and "apiVersion" in d for d in documents)
    deployment = next(d for d in documents if d["kind"] == "Deployment")
    assert isinstance(deployment["spec"]["template"]["spec"]["securityContext"]["runAsUser"], int)
    secrets = [d for d in documents if d["kind"] == "Secret"]
    assert secrets and all(set((d.get("stringData") or {}).values()) <= {render_manifests.SECRET_PLACEHOLDER} for d in secrets)
    assert "test-master-key" not in target.read_text()


def test_stack_images_lists_every_workload_image() -> None:
    images = stack_images.images(render_manifests.stack_manifests("prod"))
    assert len(images) == 3 and all("@sha256:" in image for image in images)


def test_image_builds_lists_the_services_built_here() -> None:
    [build] = image_builds.builds(sorted(ROOT.glob("Pulumi.*.yaml")))
    assert build["service"] == "orchestrator"
    assert (ROOT / build["dockerfile"]).is_file()


def test_base_image_refresh_repins_tagged_base_images_only() -> None:
    old = "a" * 64
    text = (
        f"FROM python:3.11-slim@sha256:{old} AS build\n"
        "FROM build AS test\n"
        f"FROM gcr.io/distroless/python3-debian12:latest@sha256:{old}\n"
        f"FROM gcr.io/distroless/static@sha256:{old}\n"
    )
    new, changes = refresh_base_images.refresh(text, lambda reference: "sha256:" + "b" * 64)
    assert new.splitlines() == [
        f"FROM python:3.11-slim@sha256:{'b' * 64} AS build",
        "FROM build AS test",
        f"FROM gcr.io/distroless/python3-debian12:latest@sha256:{'b' * 64}",
        f"FROM gcr.io/distroless/static@sha256:{old}",
    ]
    assert len(changes) == 2
    assert refresh_base_images.refresh(new, lambda reference: "sha256:" + "b" * 64)[1] == []


def test_the_sample_dockerfile_base_images_can_all_be_refreshed() -> None:
    text = (ROOT / "services" / "orchestrator" / "Dockerfile").read_text()
    seen: list[str] = []

    def resolve(reference: str) -> str:
        seen.append(reference)
        return "sha256:" + "c" * 64

    refresh_base_images.refresh(text, resolve)
    assert len(seen) == text.count("\nFROM "), seen


def test_offline_prefix_really_has_no_network() -> None:
    prefix = scan_manifests.offline_prefix()
    if not prefix:
        pytest.skip("no network namespaces here")
    import subprocess

    probe = subprocess.run(
        [*prefix, sys.executable, "-c", "import socket; socket.create_connection(('127.0.0.1', 9), 1)"], check=False
    )
    assert probe.returncode != 0
    assert shutil.which(prefix[0])
