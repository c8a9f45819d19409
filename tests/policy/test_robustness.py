"""Policies never crash on oddly shaped input: any field replaced by a value of the wrong type
yields messages or nothing, never an exception (only unknowns raise, by design)."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import pytest
from policy_fixtures import deployment, obj, pod_spec
from policy_testkit import TODAY

from policy.config import effective_properties
from policy.evaluation import resource_violations, stack_violations
from policy.model import Resource, ResourcePolicy
from policy.registry import ALL_POLICIES
from policy.scan import type_token
from policy.wire import runtime_props

ODD_VALUES: list[Any] = ["x", 7, True, None, [], {}, ["x"], [7], {"x": 1}]

SUBJECTS = [
    deployment(pod_spec(volumes=[{"name": "v", "emptyDir": {}}])),
    obj(
        "rbac.authorization.k8s.io/v1",
        "ClusterRole",
        name="r",
        namespace=None,
        rules=[{"apiGroups": [""], "resources": ["secrets"], "verbs": ["get"]}],
    ),
    obj(
        "rbac.authorization.k8s.io/v1",
        "RoleBinding",
        name="b",
        roleRef={"kind": "ClusterRole", "name": "view"},
        subjects=[{"kind": "User", "name": "u"}],
    ),
    obj("networking.k8s.io/v1", "Ingress", name="i", spec={"rules": [{"host": "h"}], "tls": [{"hosts": ["h"]}]}),
    obj("v1", "Service", name="s", spec={"type": "ClusterIP", "externalIPs": []}),
    obj(
        "storage.k8s.io/v1",
        "StorageClass",
        name="c",
        namespace=None,
        provisioner="ebs.csi.aws.com",
        parameters={"encrypted": "true"},
    ),
    obj(
        "autoscaling/v2",
        "HorizontalPodAutoscaler",
        name="h",
        spec={"minReplicas": 2, "behavior": {"scaleDown": {"stabilizationWindowSeconds": 1}}},
    ),
    obj("policy/v1", "PodDisruptionBudget", name="p", spec={"maxUnavailable": 1}),
    obj("v1", "ConfigMap", name="m", data={"a": "b"}),
    obj("v1", "Secret", name="s", data={"a": "b"}),
    obj("v1", "Namespace", name="n", namespace=None),
    obj("v1", "PersistentVolumeClaim", name="c", spec={"storageClassName": "c"}),
]


def mutations(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[tuple[Any, ...], Any]]:
    """Every (path, odd value) replacement of every node below the top level."""
    if path:
        for odd in ODD_VALUES:
            yield path, odd
    if isinstance(value, dict):
        for key, item in value.items():
            yield from mutations(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from mutations(item, (*path, index))


def replaced(manifest: dict[str, Any], path: tuple[Any, ...], odd: Any) -> dict[str, Any]:
    changed = copy.deepcopy(manifest)
    target: Any = changed
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = odd
    return changed


@pytest.mark.parametrize("subject", SUBJECTS, ids=[s["kind"] for s in SUBJECTS])
def test_odd_shapes_never_crash(subject: dict[str, Any]) -> None:
    token = type_token(subject["apiVersion"], subject["kind"])
    for path, odd in mutations(subject):
        if path[0] in ("apiVersion", "kind"):
            continue
        resource = Resource(token, runtime_props(replaced(subject, path, odd)), "odd")
        for policy in ALL_POLICIES:
            properties = effective_properties(policy, None)
            if isinstance(policy, ResourcePolicy):
                resource_violations(policy, resource, properties, TODAY)
            else:
                stack_violations(policy, [resource], properties, TODAY)
