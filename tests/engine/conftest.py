"""Fixtures for tests that run the real Pulumi engine, provider and policy pack against the local cluster."""

from __future__ import annotations

import os
import secrets
import shutil
from collections.abc import Iterator

import pytest
from cluster.fixtures import LocalCluster, local_cluster
from runner import PulumiRunner, toolchain_ready

__all__ = ["PulumiRunner", "local_cluster", "pulumi_runner"]


@pytest.fixture(scope="session")
def pulumi_runner(local_cluster: LocalCluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[PulumiRunner]:
    if not toolchain_ready():
        if os.environ.get("CI"):
            pytest.fail("the Pulumi toolchain is not installed; scripts/test.sh installs it first")
        pytest.skip("the Pulumi toolchain is not installed (run toolchain/install.sh)")
    leftovers = [ns for ns in ("phoenix-dev", "phoenix-prod") if local_cluster.kube().get_or_none(f"/api/v1/namespaces/{ns}")]
    if leftovers:
        pytest.fail(
            f"the local cluster already runs {', '.join(leftovers)} from another stack (scripts/deploy-dev.sh?); "
            "destroy it (scripts/stack.sh dev destroy --yes) or restart the cluster afresh "
            "(toolchain/cluster/cluster.sh stop --wipe)"
        )
    workdir = tmp_path_factory.mktemp("engine")
    (workdir / "state").mkdir()
    env = {
        **os.environ,
        "PULUMI_BACKEND_URL": f"file://{workdir / 'state'}",
        "PULUMI_CONFIG_PASSPHRASE": secrets.token_urlsafe(24),
        "PHOENIX_GENERATE_SECRETS": "1",
        **local_cluster.env(),
    }
    env.pop("PULUMI_CONFIG_PASSPHRASE_FILE", None)
    yield PulumiRunner(env=env, workdir=workdir)
    shutil.rmtree(workdir / "workspaces", ignore_errors=True)
