"""Stack policies: namespace isolation (default deny, quota, limit range) and encrypted claims."""

from __future__ import annotations

from typing import Any

import pytest
from policy_fixtures import deployment, obj
from policy_testkit import run_stack

from policy.model import StackPolicy
from policy.registry import ALL_POLICIES

NS = "phoenix-prod"
NAMESPACE = obj("v1", "Namespace", name=NS, namespace=None)
DENY_ALL = obj(
    "networking.k8s.io/v1", "NetworkPolicy", name="default-deny", spec={"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
)
DENY_INGRESS_ONLY = obj("networking.k8s.io/v1", "NetworkPolicy", name="deny-in", spec={"podSelector": {}})
DENY_EGRESS = obj("networking.k8s.io/v1", "NetworkPolicy", name="deny-out", spec={"podSelector": {}, "policyTypes": ["Egress"]})
ALLOW_SOME = obj(
    "networking.k8s.io/v1",
    "NetworkPolicy",
    name="allow",
    spec={"podSelector": {"matchLabels": {"app": "api"}}, "policyTypes": ["Ingress", "Egress"]},
)
ALLOW_ALL_INGRESS = obj(
    "networking.k8s.io/v1",
    "NetworkPolicy",
    name="open",
    spec={"podSelector": {}, "policyTypes": ["Ingress", "Egress"], "ingress": [{}]},
)
QUOTA = obj("v1", "ResourceQuota", name="q", spec={"hard": {"pods": "10"}})
LIMITS = obj("v1", "LimitRange", name="l", spec={"limits": [{"type": "Container", "default": {"cpu": "100m"}}]})
ENCRYPTED = obj(
    "storage.k8s.io/v1",
    "StorageClass",
    name="enc",
    namespace=None,
    provisioner="ebs.csi.aws.com",
    parameters={"encrypted": "true"},
)
PLAIN = obj(
    "storage.k8s.io/v1", "StorageClass", name="plain", namespace=None, provisioner="ebs.csi.aws.com", parameters={"type": "gp3"}
)


def claim(class_name: str | None) -> dict[str, Any]:
    spec: dict[str, Any] = {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}
    if class_name is not None:
        spec["storageClassName"] = class_name
    return obj("v1", "PersistentVolumeClaim", name="data", spec=spec)


def stateful_set(class_name: str) -> dict[str, Any]:
    manifest = deployment()
    manifest["kind"] = "StatefulSet"
    manifest["spec"]["volumeClaimTemplates"] = [{"metadata": {"name": "data"}, "spec": {"storageClassName": class_name}}]
    return manifest


def replicated(replicas: int) -> dict[str, Any]:
    manifest = deployment()
    manifest["spec"]["replicas"] = replicas
    return manifest


def budget(**spec: Any) -> dict[str, Any]:
    return obj("policy/v1", "PodDisruptionBudget", name="api", spec={"selector": {"matchLabels": {"app": "api"}}, **spec})


SCALER = obj(
    "autoscaling/v2",
    "HorizontalPodAutoscaler",
    name="api",
    spec={"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "api"}, "minReplicas": 3, "maxReplicas": 6},
)

CASES: list[tuple[str, list[dict[str, Any]], dict[str, Any] | None, bool]] = [
    ("network-default-deny", [NAMESPACE, deployment(), DENY_ALL], None, False),
    ("network-default-deny", [deployment(), DENY_INGRESS_ONLY, DENY_EGRESS], None, False),
    ("network-default-deny", [NAMESPACE, QUOTA], None, False),  # no workloads, nothing to isolate
    ("network-default-deny", [NAMESPACE, deployment()], None, True),
    ("network-default-deny", [NAMESPACE, deployment(), DENY_INGRESS_ONLY], None, True),
    ("network-default-deny", [NAMESPACE, deployment(), ALLOW_SOME], None, True),
    ("network-default-deny", [NAMESPACE, deployment(), ALLOW_ALL_INGRESS, DENY_EGRESS], None, True),
    ("network-default-deny", [deployment(namespace="other"), DENY_ALL], None, True),
    ("network-namespace-resource-quota", [deployment(), QUOTA], None, False),
    ("network-namespace-resource-quota", [deployment(), LIMITS], None, True),
    ("network-namespace-limit-range", [deployment(), LIMITS], None, False),
    ("network-namespace-limit-range", [deployment(), QUOTA], None, True),
    ("availability-pdb-below-replicas", [replicated(3), budget(minAvailable=2)], None, False),
    ("availability-pdb-below-replicas", [replicated(1), SCALER, budget(minAvailable=2)], None, False),
    ("availability-pdb-below-replicas", [replicated(2), budget(maxUnavailable=1)], None, False),
    ("availability-pdb-below-replicas", [replicated(2), budget(minAvailable=2)], None, True),
    ("availability-pdb-below-replicas", [deployment(), budget(minAvailable=1)], None, True),
    ("storage-claim-encrypted-class", [ENCRYPTED, claim("enc")], None, False),
    ("storage-claim-encrypted-class", [claim("gp3-encrypted")], {"externalEncryptedStorageClasses": ["gp3-encrypted"]}, False),
    ("storage-claim-encrypted-class", [ENCRYPTED, claim(None)], None, True),
    ("storage-claim-encrypted-class", [PLAIN, claim("plain")], None, True),
    ("storage-claim-encrypted-class", [claim("elsewhere")], None, True),
    ("storage-claim-encrypted-class", [ENCRYPTED, stateful_set("enc")], None, False),
    ("storage-claim-encrypted-class", [PLAIN, stateful_set("plain")], None, True),
]


def test_every_stack_policy_has_a_compliant_and_a_violating_case() -> None:
    for policy in ALL_POLICIES:
        if isinstance(policy, StackPolicy):
            assert {violates for name, _, _, violates in CASES if name == policy.name} == {True, False}, policy.name


@pytest.mark.parametrize(("policy", "manifests", "config", "violates"), CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_stack_policy(policy: str, manifests: list[dict[str, Any]], config: dict[str, Any] | None, violates: bool) -> None:
    assert bool(run_stack(policy, manifests, config)) is violates


def test_findings_point_at_the_namespace_when_the_stack_creates_it() -> None:
    [(resource, message)] = run_stack("network-namespace-limit-range", [deployment(), NAMESPACE, QUOTA])
    assert resource is not None and resource.kind == "Namespace"
    assert NS in message
