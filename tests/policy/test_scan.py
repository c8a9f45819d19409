"""The manifest scanner: same policies and semantics over plain YAML, CLI contract."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from policy_fixtures import deployment, obj

from policy.scan import main

ROOT = Path(__file__).resolve().parents[2]
PROD = str(ROOT / "policy" / "config" / "prod.json")
DEV = str(ROOT / "policy" / "config" / "dev.json")

NS = "phoenix-prod"
SECURE_STACK: list[dict[str, Any]] = [
    obj("v1", "Namespace", name=NS, namespace=None)
    | {"metadata": {"name": NS, "labels": {"pod-security.kubernetes.io/enforce": "restricted"}}},
    obj(
        "networking.k8s.io/v1",
        "NetworkPolicy",
        name="default-deny",
        spec={"podSelector": {}, "policyTypes": ["Ingress", "Egress"]},
    ),
    obj("v1", "ResourceQuota", name="phoenix-quota", spec={"hard": {"pods": "20"}}),
    obj("v1", "LimitRange", name="phoenix-limits", spec={"limits": [{"type": "Container"}]}),
    deployment(),
]


def write_yaml(path: Path, documents: list[dict[str, Any]]) -> Path:
    path.write_text(yaml.safe_dump_all(documents, sort_keys=False))
    return path


def scan_json(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, Any]]:
    status = main(["--format", "json", *args])
    return status, json.loads(capsys.readouterr().out)


def test_secure_manifests_exit_zero(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, report = scan_json(capsys, "--config", PROD, str(write_yaml(tmp_path / "ok.yaml", SECURE_STACK)))
    assert status == 0
    assert report["findings"] == [] and report["resources_scanned"] == 5 and report["files_scanned"] == 1


def test_findings_carry_location_policy_and_frameworks(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = deployment()
    bad["spec"]["template"]["spec"]["hostNetwork"] = True
    status, report = scan_json(capsys, "--config", PROD, str(write_yaml(tmp_path / "bad.yaml", [*SECURE_STACK[:4], bad])))
    assert status == 1
    [finding] = report["findings"]
    assert finding == {
        "file": str(tmp_path / "bad.yaml"),
        "document": 4,
        "kind": "Deployment",
        "name": "api",
        "namespace": NS,
        "policy": "pss-baseline-host-namespaces",
        "severity": "critical",
        "enforcement_level": "mandatory",
        "frameworks": finding["frameworks"],
        "message": finding["message"],
    }
    assert {"name": "Pod Security Standards", "version": "v1.37", "control": "baseline/hostNamespaces"} in finding["frameworks"]
    assert "hostNetwork=true" in finding["message"]


def test_stack_policies_see_all_documents_of_all_files_together(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "chart").mkdir()
    write_yaml(tmp_path / "chart" / "a.yaml", SECURE_STACK[:2])
    write_yaml(tmp_path / "chart" / "b.yml", SECURE_STACK[2:])
    status, report = scan_json(capsys, "--config", PROD, str(tmp_path / "chart"))
    assert (status, report["findings"], report["files_scanned"]) == (0, [], 2)
    write_yaml(tmp_path / "chart" / "a.yaml", SECURE_STACK[:1])  # drop the default-deny policy
    status, report = scan_json(capsys, "--config", PROD, str(tmp_path / "chart"))
    assert status == 1 and {f["policy"] for f in report["findings"]} == {"network-default-deny"}
    assert report["findings"][0]["kind"] == "Namespace"


def test_advisory_findings_do_not_fail(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    lax = deployment()
    del lax["spec"]["template"]["spec"]["containers"][0]["livenessProbe"]
    status, report = scan_json(capsys, "--config", DEV, str(write_yaml(tmp_path / "dev.yaml", [*SECURE_STACK[:4], lax])))
    assert status == 0
    assert [(f["policy"], f["enforcement_level"]) for f in report["findings"]] == [
        ("workload-liveness-readiness-probes", "advisory")
    ]


def test_plain_yaml_secrets_are_plaintext(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    secret = obj("v1", "Secret", name="s", stringData={"token": "abc"})
    status, report = scan_json(capsys, "--config", PROD, str(write_yaml(tmp_path / "s.yaml", [secret])))
    assert status == 1 and {f["policy"] for f in report["findings"]} == {"secrets-data-is-pulumi-secret"}


def test_text_output_groups_by_resource_with_the_fix(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = deployment()
    bad["spec"]["template"]["spec"]["hostPID"] = True
    bad["spec"]["template"]["spec"]["containers"][0]["securityContext"]["privileged"] = True
    status = main(["--config", PROD, str(write_yaml(tmp_path / "bad.yaml", [*SECURE_STACK[:4], bad]))])
    out = capsys.readouterr().out.splitlines()
    assert status == 1
    assert out[0].endswith(f"Deployment {NS}/api") and "bad.yaml" in out[0]
    assert len([line for line in out if line.startswith("  MANDATORY")]) == 2
    assert all("-- fix:" in line for line in out if line.startswith("  "))


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        ("apiVersion: v1\nkind: Pod\nmetadata: x\n  name: y\nspec: {}\n", ":4: invalid YAML"),
        ("apiVersion: v1\nkind: Pod\n---\n- just\n- a list\n", ":4: expected a Kubernetes object"),
        ("---\nmetadata: {name: a}\n", ":2: not a Kubernetes object"),
    ],
)
def test_unreadable_input_exits_two_naming_file_and_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str, fragment: str
) -> None:
    path = tmp_path / "in.yaml"
    path.write_text(content)
    assert main([str(path)]) == 2
    assert f"{path}{fragment}" in capsys.readouterr().err


def test_bad_usage_exits_two(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    assert main([str(tmp_path / "missing.yaml")]) == 2
    bad_config = tmp_path / "c.json"
    bad_config.write_text('{"nope": "mandatory"}')
    assert main(["--config", str(bad_config), str(write_yaml(tmp_path / "ok.yaml", SECURE_STACK))]) == 2
    assert "c.json" in capsys.readouterr().err


def test_runs_as_a_module_from_the_repository_root(tmp_path: Path) -> None:
    import subprocess
    import sys

    path = write_yaml(tmp_path / "ok.yaml", SECURE_STACK)
    done = subprocess.run(
        [sys.executable, "-m", "policy.scan", "--config", "policy/config/prod.json", "--format", "json", str(path)],
        check=False,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["findings"] == []


def test_lists_and_empty_documents(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = deployment()
    bad["spec"]["template"]["spec"]["hostIPC"] = True
    path = tmp_path / "helm.yaml"
    path.write_text(
        "---\n# Source: chart/templates/empty.yaml (renders nothing)\n---\n"
        + yaml.safe_dump_all([{"apiVersion": "v1", "kind": "List", "items": [*SECURE_STACK[:4], bad]}])
    )
    status, report = scan_json(capsys, "--config", PROD, str(path))
    assert status == 1 and report["resources_scanned"] == 5
    [finding] = report["findings"]
    assert (finding["policy"], finding["document"]) == ("pss-baseline-host-namespaces", 1)
