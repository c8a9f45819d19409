"""The local cluster is a real, hardened control plane: the properties the
program's engine tests rely on, checked against the running API server."""

from __future__ import annotations

import base64
import os
import secrets
import subprocess
import time
from collections.abc import Iterator
from typing import Any

import pytest

from cluster.fixtures import ROOT, ApiError, LocalCluster, unique_name, wait_for

pytestmark = pytest.mark.engine

Obj = dict[str, Any]


@pytest.fixture
def namespace(local_cluster: LocalCluster) -> Iterator[str]:
    name = unique_name("cluster-test")
    local_cluster.create_namespace(name)
    yield name
    local_cluster.delete_namespace(name)


def restricted_pod(name: str, **spec: Any) -> Obj:
    """A pod that meets the `restricted` Pod Security Standard."""
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name},
        "spec": {
            "automountServiceAccountToken": False,
            "securityContext": {"runAsNonRoot": True, "runAsUser": 10001, "seccompProfile": {"type": "RuntimeDefault"}},
            "containers": [
                {
                    "name": "app",
                    "image": "registry.invalid/phoenix/app:1",
                    "securityContext": {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}},
                    "resources": {"limits": {"cpu": "100m", "memory": "64Mi"}},
                }
            ],
            **spec,
        },
    }


def running_on_kwok_node(local_cluster: LocalCluster, namespace: str, pod: str) -> Obj:
    kube = local_cluster.kube()

    def ready() -> Obj | None:
        obj: Obj = kube.get(f"/api/v1/namespaces/{namespace}/pods/{pod}")
        conditions = {c["type"]: c["status"] for c in obj.get("status", {}).get("conditions", [])}
        return obj if obj["status"].get("phase") == "Running" and conditions.get("Ready") == "True" else None

    obj = wait_for(f"pod {namespace}/{pod} Running and Ready", ready)
    node = kube.get(f"/api/v1/nodes/{obj['spec']['nodeName']}")
    assert node["metadata"]["labels"].get("type") == "kwok"
    return obj


def test_api_server_version_and_service_ip(local_cluster: LocalCluster) -> None:
    kube = local_cluster.kube()
    assert kube.get("/version")["gitVersion"] == f"v{local_cluster.kubernetes_version}"
    service = kube.get("/api/v1/namespaces/default/services/kubernetes")
    assert service["spec"]["clusterIP"] == "10.96.0.1"  # the program's network.apiServerCidrs
    assert local_cluster.server.startswith("https://127.0.0.1:")


def test_nodes_are_ready_kwok_nodes_across_zones(local_cluster: LocalCluster) -> None:
    nodes = local_cluster.kube().get("/api/v1/nodes", labelSelector="type=kwok")["items"]
    assert len(nodes) >= 2
    for node in nodes:
        labels = node["metadata"]["labels"]
        assert labels["kubernetes.io/hostname"] == node["metadata"]["name"]
        ready = [c for c in node["status"]["conditions"] if c["type"] == "Ready"]
        assert ready and ready[0]["status"] == "True"
    assert len({n["metadata"]["labels"]["topology.kubernetes.io/zone"] for n in nodes}) == len(nodes)


def test_rbac_forbids_an_unprivileged_service_account(local_cluster: LocalCluster, namespace: str) -> None:
    kube = local_cluster.kube()
    kube.create(f"/api/v1/namespaces/{namespace}/serviceaccounts", {"metadata": {"name": "nobody"}})
    # A real token from the TokenRequest API, signed with the cluster's service account key.
    request = {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": {"expirationSeconds": 600}}
    token = kube.create(f"/api/v1/namespaces/{namespace}/serviceaccounts/nobody/token", request)["status"]["token"]
    as_nobody = kube.with_token(token)

    review = as_nobody.create("/apis/authentication.k8s.io/v1/selfsubjectreviews", {"kind": "SelfSubjectReview"})
    assert review["status"]["userInfo"]["username"] == f"system:serviceaccount:{namespace}:nobody"
    with pytest.raises(ApiError) as forbidden:
        as_nobody.get(f"/api/v1/namespaces/{namespace}/secrets")
    assert forbidden.value.status == 403, forbidden.value
    assert kube.get(f"/api/v1/namespaces/{namespace}/secrets")["kind"] == "SecretList"


def test_pod_security_restricted_namespace(local_cluster: LocalCluster) -> None:
    name = unique_name("cluster-test-psa")
    local_cluster.create_namespace(name, {"pod-security.kubernetes.io/enforce": "restricted"})
    try:
        kube = local_cluster.kube()
        privileged = restricted_pod("privileged")
        privileged["spec"]["containers"][0]["securityContext"] = {"privileged": True}
        with pytest.raises(ApiError) as refused:
            kube.create(f"/api/v1/namespaces/{name}/pods", privileged)
        assert refused.value.status == 403
        assert "violates PodSecurity" in refused.value.message
        assert "privileged" in refused.value.message

        kube.create(f"/api/v1/namespaces/{name}/pods", restricted_pod("restricted"))
        running_on_kwok_node(local_cluster, name, "restricted")
    finally:
        local_cluster.delete_namespace(name)


def test_secrets_are_encrypted_at_rest(local_cluster: LocalCluster, namespace: str) -> None:
    kube = local_cluster.kube()
    plaintext = f"phoenix-plaintext-{secrets.token_hex(8)}"
    kube.create(
        f"/api/v1/namespaces/{namespace}/secrets",
        {"metadata": {"name": "db"}, "stringData": {"password": plaintext}},
    )
    raw = local_cluster.etcd_get(f"/registry/secrets/{namespace}/db")
    assert raw is not None, "the Secret is not in etcd under its registry key"
    assert raw.startswith(b"k8s:enc:"), raw[:40]
    assert plaintext.encode() not in raw
    assert base64.b64encode(plaintext.encode()) not in raw
    # ...and the API server still decrypts it.
    stored = kube.get(f"/api/v1/namespaces/{namespace}/secrets/db")
    assert base64.b64decode(stored["data"]["password"]).decode() == plaintext
    # Other resources are stored as they are: etcd is readable, only Secrets are encrypted.
    account = local_cluster.etcd_get(f"/registry/serviceaccounts/{namespace}/default")
    assert account is not None and not account.startswith(b"k8s:enc:")


def test_wait_for_first_consumer_claim_binds_once_a_pod_uses_it(local_cluster: LocalCluster, namespace: str) -> None:
    kube = local_cluster.kube()
    storage_class = unique_name("cluster-test-gp3")
    kube.create(
        "/apis/storage.k8s.io/v1/storageclasses",
        {
            "metadata": {"name": storage_class},
            "provisioner": "ebs.csi.aws.com",
            "parameters": {"type": "gp3", "encrypted": "true"},
            "reclaimPolicy": "Delete",
            "volumeBindingMode": "WaitForFirstConsumer",
        },
    )
    try:
        claims = f"/api/v1/namespaces/{namespace}/persistentvolumeclaims"
        kube.create(
            claims,
            {
                "metadata": {"name": "data"},
                "spec": {
                    "accessModes": ["ReadWriteOnce"],
                    "storageClassName": storage_class,
                    "resources": {"requests": {"storage": "5Gi"}},
                },
            },
        )
        time.sleep(1.5)  # nothing may provision it before a pod needs it
        assert kube.get(f"{claims}/data")["status"]["phase"] == "Pending"

        pod = restricted_pod("uses-data", volumes=[{"name": "data", "persistentVolumeClaim": {"claimName": "data"}}])
        pod["spec"]["containers"][0]["volumeMounts"] = [{"name": "data", "mountPath": "/data"}]
        kube.create(f"/api/v1/namespaces/{namespace}/pods", pod)

        claim = wait_for("claim Bound", lambda: (c := kube.get(f"{claims}/data"))["status"].get("phase") == "Bound" and c)
        node = running_on_kwok_node(local_cluster, namespace, "uses-data")["spec"]["nodeName"]
        assert claim["metadata"]["annotations"]["volume.kubernetes.io/selected-node"] == node
        volume = kube.get(f"/api/v1/persistentvolumes/{claim['spec']['volumeName']}")
        spec = volume["spec"]
        assert spec["csi"]["driver"] == "ebs.csi.aws.com"
        assert spec["capacity"]["storage"] == "5Gi"
        assert spec["persistentVolumeReclaimPolicy"] == "Delete"
        assert spec["claimRef"]["uid"] == claim["metadata"]["uid"]
        assert volume["metadata"]["annotations"]["pv.kubernetes.io/provisioned-by"] == "ebs.csi.aws.com"
        expressions = spec["nodeAffinity"]["required"]["nodeSelectorTerms"][0]["matchExpressions"]
        assert expressions == [{"key": "kubernetes.io/hostname", "operator": "In", "values": [node]}]

        # Reclaim policy Delete: the volume goes with its claim.
        kube.request("DELETE", f"/api/v1/namespaces/{namespace}/pods/uses-data", {"gracePeriodSeconds": 0})
        kube.delete(f"{claims}/data")
        volume_path = f"/api/v1/persistentvolumes/{volume['metadata']['name']}"
        wait_for("the volume deleted with its claim", lambda: kube.get_or_none(volume_path) is None)
    finally:
        kube.delete(f"/apis/storage.k8s.io/v1/storageclasses/{storage_class}")


def test_deployment_becomes_available(local_cluster: LocalCluster, namespace: str) -> None:
    kube = local_cluster.kube()
    template = restricted_pod("web")
    template["metadata"] = {"labels": {"app": "web"}}
    kube.create(
        f"/apis/apps/v1/namespaces/{namespace}/deployments",
        {
            "metadata": {"name": "web"},
            "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}}, "template": template},
        },
    )

    def available() -> bool:
        status = kube.get(f"/apis/apps/v1/namespaces/{namespace}/deployments/web").get("status", {})
        conditions = {c["type"]: c["status"] for c in status.get("conditions", [])}
        return conditions.get("Available") == "True" and status.get("availableReplicas") == 2

    wait_for("Deployment web Available with 2 replicas", available)


def test_start_again_is_a_no_op_and_env_points_at_the_cluster(local_cluster: LocalCluster) -> None:
    script = ROOT / "toolchain" / "cluster" / "cluster.sh"
    env = {**os.environ, "PHOENIX_CLUSTER_DIR": str(local_cluster.dir)}
    again = subprocess.run(["bash", str(script), "start"], capture_output=True, text=True, env=env, check=False)
    assert again.returncode == 0, again.stderr
    assert "already running" in again.stderr
    status = subprocess.run(["bash", str(script), "status"], capture_output=True, text=True, env=env, check=False)
    assert status.returncode == 0, status.stdout + status.stderr
    exports = subprocess.run(["bash", str(script), "env"], capture_output=True, text=True, env=env, check=True).stdout
    assert f"export KUBECONFIG={local_cluster.kubeconfig}" in exports
    assert f"export PHOENIX_ETCD_ENDPOINT={local_cluster.etcd_endpoint}" in exports


def test_start_applies_the_monitoring_stand_in_crds(local_cluster: LocalCluster) -> None:
    manifests = ROOT / "toolchain" / "cluster" / "prometheus-operator-stand-in-crds.yaml"
    if not manifests.is_file():
        pytest.skip("no stand-in CRDs in this checkout")
    kube = local_cluster.kube()
    crd = kube.get("/apis/apiextensions.k8s.io/v1/customresourcedefinitions/podmonitors.monitoring.coreos.com")
    assert {c["type"]: c["status"] for c in crd["status"]["conditions"]}.get("Established") == "True"
