"""The `local_cluster` pytest fixture: the local Kubernetes cluster of
toolchain/cluster/cluster.sh, started once per test session when it is not
already running (and then stopped at the end), reused as it is when it is.

Use it from any test directory:

    from cluster.fixtures import LocalCluster, local_cluster  # noqa: F401  (the fixture)

    @pytest.mark.engine
    def test_deploy(local_cluster: LocalCluster) -> None:
        env = {**os.environ, **local_cluster.env()}     # KUBECONFIG etc. for `pulumi up`
        kube = local_cluster.kube()                     # a small API client (toolchain/cluster/kubeapi.py)
        raw = local_cluster.etcd_get("/registry/secrets/NS/NAME")   # bytes as etcd stores them

Without the cluster binaries (toolchain/install.sh cluster) tests using it are
skipped, except under CI (`CI` set), where that is an error. Set
PHOENIX_CLUSTER_KEEP=1 to leave a cluster the session started running.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import pytest

ROOT = Path(__file__).resolve().parents[2]
CLUSTER_SH = ROOT / "toolchain" / "cluster" / "cluster.sh"
sys.path.append(str(ROOT / "toolchain" / "cluster"))

from etcd_get import etcd_get  # noqa: E402
from kubeapi import ApiError, Kube  # noqa: E402

__all__ = ["ApiError", "Kube", "LocalCluster", "local_cluster", "unique_name", "wait_for"]

T = TypeVar("T")


def wait_for(what: str, probe: Callable[[], T | None], timeout: float = 30, interval: float = 0.25) -> T:
    """Polls `probe` until it returns something truthy, which it returns; fails the test after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    last: T | None = None
    while time.monotonic() < deadline:
        last = probe()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what} (last: {last!r})")


def unique_name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


@dataclass(frozen=True)
class LocalCluster:
    dir: Path
    kubeconfig: Path
    server: str
    etcd_endpoint: str
    kubernetes_version: str
    started_here: bool

    def kube(self) -> Kube:
        """An admin client (system:masters)."""
        return Kube.from_kubeconfig(self.kubeconfig)

    def env(self) -> dict[str, str]:
        """Variables that point tools (pulumi, kubectl, client-go) at this cluster."""
        return {
            "KUBECONFIG": str(self.kubeconfig),
            "PHOENIX_CLUSTER_DIR": str(self.dir),
            "PHOENIX_ETCD_ENDPOINT": self.etcd_endpoint,
        }

    def etcd_get(self, key: str) -> bytes | None:
        """The raw bytes etcd holds under `key` (e.g. /registry/secrets/NS/NAME), None if absent."""
        return etcd_get(self.etcd_endpoint, key)

    def create_namespace(self, name: str, labels: dict[str, str] | None = None) -> None:
        """Creates a namespace and waits for its `default` ServiceAccount, without which pods are refused."""
        kube = self.kube()
        kube.create("/api/v1/namespaces", {"metadata": {"name": name, "labels": labels or {}}})
        wait_for(
            f"ServiceAccount {name}/default",
            lambda: kube.get_or_none(f"/api/v1/namespaces/{name}/serviceaccounts/default"),
        )

    def delete_namespace(self, name: str) -> None:
        """Deletes a namespace without waiting for it to go."""
        self.kube().delete(f"/api/v1/namespaces/{name}")


def _cluster_sh(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", str(CLUSTER_SH), *args], capture_output=True, text=True, check=False)


def _kubernetes_version() -> str:
    for line in (ROOT / "toolchain" / "versions.env").read_text().splitlines():
        if line.startswith("KUBERNETES_VERSION="):
            return line.split("=", 1)[1].strip()
    raise AssertionError("KUBERNETES_VERSION missing from toolchain/versions.env")


@pytest.fixture(scope="session")
def local_cluster() -> Iterator[LocalCluster]:
    probe = _cluster_sh("env", "--json")
    if probe.returncode != 0:
        pytest.fail(f"cluster.sh env --json failed:\n{probe.stderr}")
    status = json.loads(probe.stdout)
    if not status["binaries_installed"]:
        reason = f"local cluster binaries not installed in {status['bin']}: run toolchain/install.sh cluster"
        if os.environ.get("CI"):
            pytest.fail(reason + " (CI must install the toolchain before the tests)")
        pytest.skip(reason)
    nothing_running = not any(status["components"].values())
    # Also when it runs: start is then a quick check that re-applies the cluster's manifests.
    started = time.monotonic()
    result = _cluster_sh("start")
    if result.returncode != 0:
        pytest.fail(f"toolchain/cluster/cluster.sh start failed:\n{result.stderr}")
    if nothing_running:
        sys.stderr.write(f"\n[local_cluster] started in {time.monotonic() - started:.1f}s\n")
    status = json.loads(_cluster_sh("env", "--json").stdout)
    cluster = LocalCluster(
        dir=Path(status["dir"]),
        kubeconfig=Path(status["kubeconfig"]),
        server=status["server"],
        etcd_endpoint=status["etcd_endpoint"],
        kubernetes_version=_kubernetes_version(),
        started_here=nothing_running,
    )
    yield cluster
    if cluster.started_here and not os.environ.get("PHOENIX_CLUSTER_KEEP"):
        _cluster_sh("stop")
