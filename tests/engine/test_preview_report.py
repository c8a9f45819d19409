"""The preview report command (scripts/preview-report.sh, what CI posts on a pull request) on real
previews: the real engine, provider and policy pack against the local cluster.

The module deploys stack `dev` once, with its own backend and passphrase (a PulumiRunner like the
session's, so test_engine.py's stacks are not touched), then reports on an unchanged stack, a
one-value change and an insecure change, and destroys the stack. The insecure change is a stack
config the program accepts but the pack refuses: the memory service's image from docker.io, which
the mandatory `image-allowed-registry` blocks (most insecure settings never get that far: the
program's own validation refuses them before any resource is registered).
"""

from __future__ import annotations

import secrets
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubeapi import Kube

pytestmark = pytest.mark.engine

ROOT = Path(__file__).resolve().parents[2]
STACK = "dev"
NAMESPACE = "phoenix-dev"


def pack_args() -> list[str]:
    return ["--policy-pack", "policy", "--policy-pack-config", f"policy/config/{STACK}.json"]


def wait_until_gone(api: Kube, path: str, timeout: float = 240) -> None:
    deadline = time.monotonic() + timeout
    while api.get_or_none(path) is not None:
        if time.monotonic() > deadline:
            raise AssertionError(f"{path} is still there after {timeout:.0f}s")
        time.sleep(2)


@pytest.fixture(scope="module")
def report_runner(pulumi_runner: Any, local_cluster: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A runner of the same class as the session's, on its own backend, with `dev` deployed."""
    workdir = tmp_path_factory.mktemp("preview-report")
    (workdir / "state").mkdir()
    env = {
        **pulumi_runner.env,
        "PULUMI_BACKEND_URL": f"file://{workdir / 'state'}",
        "PULUMI_CONFIG_PASSPHRASE": secrets.token_urlsafe(24),
    }
    runner = type(pulumi_runner)(env=env, workdir=workdir)
    api = Kube.from_kubeconfig(local_cluster.kubeconfig)
    # test_engine.py deploys and destroys the same namespace earlier in the session; never share it.
    wait_until_gone(api, f"/api/v1/namespaces/{NAMESPACE}")
    runner.stack(STACK, "up", "--yes", *pack_args())
    yield runner
    runner.stack(STACK, "destroy", "--yes", check=False)
    wait_until_gone(api, f"/api/v1/namespaces/{NAMESPACE}")


def report(runner: Any, tmp_path: Path, config_from: Path | None = None) -> tuple[int, str]:
    out = tmp_path / "report.md"
    env = {**runner.env, "PHOENIX_WORKSPACE": str(runner.workspace(STACK))}
    if config_from is not None:
        env["PHOENIX_STACK_CONFIG"] = str(config_from)
    env.pop("PULUMI_ENABLE_STREAMING_JSON_PREVIEW", None)  # the command sets it itself
    result = subprocess.run(
        ["bash", str(ROOT / "scripts" / "preview-report.sh"), STACK, "--out", str(out)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert out.exists(), f"no report written (exit {result.returncode}):\n{result.stdout[-3000:]}{result.stderr[-3000:]}"
    return result.returncode, out.read_text()


def changed_config(tmp_path: Path, change: Any) -> Path:
    document = yaml.safe_load((ROOT / f"Pulumi.{STACK}.yaml").read_text())
    change({service["name"]: service for service in document["config"]["phoenix:services"]})
    path = tmp_path / f"Pulumi.{STACK}.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return path


def test_unchanged_stack_reports_no_changes_and_exits_zero(report_runner: Any, tmp_path: Path) -> None:
    status, text = report(report_runner, tmp_path)
    assert status == 0, text
    assert "no changes" in text, text
    assert "✅ **no mandatory policy violation**" in text
    assert "### To " not in text
    assert "`phoenix-platform`" in text and "`policy/config/dev.json`" in text


def test_one_value_change_reports_exactly_that_change(report_runner: Any, tmp_path: Path) -> None:
    def more_replicas(services: dict[str, Any]) -> None:
        services["orchestrator"]["autoscaling"]["maxReplicas"] += 1

    services = yaml.safe_load((ROOT / f"Pulumi.{STACK}.yaml").read_text())["config"]["phoenix:services"]
    maximum = next(s for s in services if s["name"] == "orchestrator")["autoscaling"]["maxReplicas"]
    status, text = report(report_runner, tmp_path, changed_config(tmp_path, more_replicas))
    assert status == 0, text
    assert "2 to update" in text, text
    assert f"| `spec.maxReplicas` | update | `{maximum}` | `{maximum + 1}` |" in text, text
    assert "`dev-orchestrator-autoscaler` (phoenix-dev/orchestrator)" in text
    assert "`phoenix-dev-quota`" in text  # the quota grows with the replica ceiling
    for section in ("### To create", "### To replace", "### To delete", "### Policy violations"):
        assert section not in text, text


def test_insecure_change_is_blocked_with_the_mandatory_violation_and_its_fix(report_runner: Any, tmp_path: Path) -> None:
    def foreign_image(services: dict[str, Any]) -> None:
        services["memory"]["image"] = "docker.io/qdrant/qdrant@sha256:" + "5" * 64

    status, text = report(report_runner, tmp_path, changed_config(tmp_path, foreign_image))
    assert status == 1, text
    assert "❌ **blocked: 1 mandatory policy violation**" in text, text
    high = text.split("#### High", 1)[1]
    assert "| **mandatory** | `image-allowed-registry` | `dev-memory-deployment` |" in high, text
    assert "allowedRegistries" in high  # the fix
    assert "`spec.template.spec.containers[0].image`" in text  # and the diff that caused it


def test_report_needs_no_change_to_the_deployed_stack(report_runner: Any, local_cluster: Any) -> None:
    """Previews never touch the cluster: the deployment still runs the committed image."""
    api = Kube.from_kubeconfig(local_cluster.kubeconfig)
    deployment = api.get(f"/apis/apps/v1/namespaces/{NAMESPACE}/deployments/memory")
    assert deployment["spec"]["template"]["spec"]["containers"][0]["image"].startswith("ghcr.io/phoenix-orch/memory@")
