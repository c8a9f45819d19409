"""Every policy carries the metadata the issue asks for, and manifests map to Pulumi type tokens."""

from __future__ import annotations

import pytest

from policy.model import PSS, PSS_VERSION, Policy
from policy.registry import ALL_POLICIES
from policy.scan import type_token


@pytest.mark.parametrize("policy", ALL_POLICIES, ids=[p.name for p in ALL_POLICIES])
def test_policy_metadata_is_complete(policy: Policy) -> None:
    assert policy.name and policy.description and policy.remediation and policy.frameworks
    for framework in policy.frameworks:
        assert framework.name and framework.version and framework.control
        if framework.name == PSS:
            level, _, control = framework.control.partition("/")
            assert framework.version == PSS_VERSION and level in ("baseline", "restricted") and control


def test_every_pss_control_has_exactly_one_policy() -> None:
    controls = [f.control for p in ALL_POLICIES for f in p.frameworks if f.name == PSS]
    assert len(controls) == len(set(controls)) == 19


@pytest.mark.parametrize(
    ("api_version", "kind", "token"),
    [
        ("v1", "Pod", "kubernetes:core/v1:Pod"),
        ("apps/v1", "Deployment", "kubernetes:apps/v1:Deployment"),
        ("batch/v1", "CronJob", "kubernetes:batch/v1:CronJob"),
        ("rbac.authorization.k8s.io/v1", "ClusterRoleBinding", "kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding"),
        ("networking.k8s.io/v1", "NetworkPolicy", "kubernetes:networking.k8s.io/v1:NetworkPolicy"),
        ("storage.k8s.io/v1", "StorageClass", "kubernetes:storage.k8s.io/v1:StorageClass"),
        ("policy/v1", "PodDisruptionBudget", "kubernetes:policy/v1:PodDisruptionBudget"),
        ("autoscaling/v2", "HorizontalPodAutoscaler", "kubernetes:autoscaling/v2:HorizontalPodAutoscaler"),
    ],
)
def test_manifests_map_to_the_pulumi_type_tokens(api_version: str, kind: str, token: str) -> None:
    assert type_token(api_version, kind) == token
