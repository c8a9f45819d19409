"""Autoscaling and availability: HPA replica floor and scale-down stabilization, and
PodDisruptionBudgets that still let nodes drain."""

from __future__ import annotations

import re
from collections.abc import Sequence

from pulumi_policy import Severity

from policy.fields import field, mapping, number, sequence, show
from policy.model import Policy, PolicyConfig, Resource, ResourcePolicy, StackFinding, StackPolicy, kube, nsa
from policy.pods import workload_namespace

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


SCALABLE_KINDS = ("Deployment", "StatefulSet", "ReplicaSet", "ReplicationController")


def _selects(selector: object, labels: object) -> bool:
    """Whether a PDB's matchLabels selector selects pods with these labels (matchExpressions are
    not evaluated: such PDBs are left to the resource check)."""
    match_labels = mapping(field(selector, "matchLabels"))
    if sequence(field(selector, "matchExpressions")) or not match_labels:
        return False
    pod_labels = mapping(labels)
    return all(pod_labels.get(key) == value for key, value in match_labels.items())


def _fewest_replicas(workload: Resource, resources: Sequence[Resource]) -> float:
    """The fewest replicas the workload may run: its HPA's minReplicas if one targets it, else spec.replicas."""
    for hpa in resources:
        if (
            hpa.package == "kubernetes"
            and hpa.kind == "HorizontalPodAutoscaler"
            and workload_namespace(hpa) == workload_namespace(workload)
        ):
            target = mapping(field(hpa.props, "spec", "scaleTargetRef"))
            if target.get("kind") == workload.kind and target.get("name") == workload.declared_name:
                return number(field(hpa.props, "spec", "minReplicas")) or 1.0
    replicas = field(workload.props, "spec", "replicas")
    return 1.0 if replicas is None else (number(replicas) or 0.0)


def pdb_min_available_below_replicas(resources: Sequence[Resource], _config: PolicyConfig) -> list[StackFinding]:
    findings: list[StackFinding] = []
    for pdb in resources:
        if pdb.package != "kubernetes" or pdb.kind != "PodDisruptionBudget":
            continue
        spec = mapping(pdb.props.get("spec"))
        min_available = number(spec.get("minAvailable"))
        if min_available is None:
            continue
        for workload in resources:
            if (
                workload.package != "kubernetes"
                or workload.kind not in SCALABLE_KINDS
                or workload_namespace(workload) != workload_namespace(pdb)
            ):
                continue
            if not _selects(spec.get("selector"), field(workload.props, "spec", "template", "metadata", "labels")):
                continue
            replicas = _fewest_replicas(workload, resources)
            if min_available >= replicas:
                findings.append(
                    (
                        pdb,
                        f"minAvailable {show(min_available)} with as few as {show(replicas)} replicas of "
                        f"{workload.kind} {workload.name} leaves no pod to evict, so node drains block",
                    )
                )
    return findings


AVAILABILITY_POLICIES: list[Policy] = [
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
    StackPolicy(
        name="availability-pdb-below-replicas",
        description="A PodDisruptionBudget's minAvailable must stay below the replicas of the workloads it covers.",
        severity=Severity.MEDIUM,
        remediation="Use maxUnavailable: 1, or keep minAvailable below the workload's replicas (its HPA minReplicas).",
        frameworks=(nsa("Resource policies"),),
        check_stack=pdb_min_available_below_replicas,
    ),
]
