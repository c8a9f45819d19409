"""Autoscaling and availability: HPA replica floor and scale-down stabilization, and
PodDisruptionBudgets that still let nodes drain."""

from __future__ import annotations

import re

from pulumi_policy import Severity

from policy.fields import field, mapping, number, show
from policy.model import PolicyConfig, Resource, ResourcePolicy, kube, nsa

HPA = kube("HorizontalPodAutoscaler")


def hpa_min_replicas(resource: Resource, config: PolicyConfig) -> list[str]:
    floor = number(config.get("minReplicas")) or 1.0
    spec = mapping(resource.props.get("spec"))
    written = spec.get("minReplicas")
    replicas = 1.0 if written is None else number(written)  # Kubernetes defaults minReplicas to 1
    if replicas is None or replicas < floor:
        return [f"spec.minReplicas is {show(written if written is not None else 1)}, below the floor of {show(floor)}"]
    return []


def hpa_scale_down_stabilization(resource: Resource, _config: PolicyConfig) -> list[str]:
    window = field(resource.props, "spec", "behavior", "scaleDown", "stabilizationWindowSeconds")
    seconds = number(window)
    if seconds is not None and seconds > 0:
        return []
    if str(resource.props.get("apiVersion", "")).startswith("autoscaling/v1") or ":autoscaling/v1:" in resource.type_token:
        return ["autoscaling/v1 cannot set a scale-down stabilization window; use autoscaling/v2"]
    return [f"spec.behavior.scaleDown.stabilizationWindowSeconds is {window!r}, not a positive number of seconds"]


ZERO = re.compile(r"^0+%?$")


def pdb_allows_disruption(resource: Resource, _config: PolicyConfig) -> list[str]:
    spec = mapping(resource.props.get("spec"))
    max_unavailable, min_available = spec.get("maxUnavailable"), spec.get("minAvailable")
    if number(max_unavailable) == 0 or (isinstance(max_unavailable, str) and ZERO.match(max_unavailable.strip())):
        return [f"maxUnavailable is {show(max_unavailable)}, so no pod may ever be evicted and node drains block"]
    if isinstance(min_available, str) and min_available.strip() == "100%":
        return ["minAvailable is 100%, so no pod may ever be evicted and node drains block"]
    return []


AVAILABILITY_POLICIES = [
    ResourcePolicy(
        name="availability-hpa-min-replicas",
        description="HorizontalPodAutoscalers must keep at least the configured number of replicas.",
        severity=Severity.MEDIUM,
        remediation="Set spec.minReplicas to at least the policy's minReplicas (2 in prod).",
        frameworks=(nsa("Resource policies"),),
        config_properties={
            "minReplicas": {
                "type": "integer",
                "minimum": 1,
                "default": 2,
                "description": "The lowest spec.minReplicas an HPA may set.",
            },
        },
        applies_to=HPA,
        check=hpa_min_replicas,
    ),
    ResourcePolicy(
        name="availability-hpa-scale-down-stabilization",
        description="HorizontalPodAutoscalers must set a scale-down stabilization window.",
        severity=Severity.LOW,
        remediation="Use autoscaling/v2 and set spec.behavior.scaleDown.stabilizationWindowSeconds (e.g. 300).",
        frameworks=(nsa("Resource policies"),),
        applies_to=HPA,
        check=hpa_scale_down_stabilization,
    ),
    ResourcePolicy(
        name="availability-pdb-allows-disruption",
        description="PodDisruptionBudgets must allow at least one voluntary disruption so drains do not block.",
        severity=Severity.MEDIUM,
        remediation="Set spec.maxUnavailable to 1 (or a non-zero percentage) instead of 0 / minAvailable 100%.",
        frameworks=(nsa("Resource policies"),),
        applies_to=kube("PodDisruptionBudget"),
        check=pdb_allows_disruption,
    ),
]
