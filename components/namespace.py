"""The environment's namespace: Pod Security `restricted` enforced, with a quota and limit range."""

from __future__ import annotations

from decimal import Decimal

import pulumi
import pulumi_kubernetes as k8s

from components.labels import standard_labels
from components.quantity import format_cpu, format_memory, parse_quantity
from components.spec import PlatformSpec

# Pinned, so a cluster upgrade cannot silently change what `restricted` means.
POD_SECURITY_VERSION = "v1.37"
QUOTA_NAME = "phoenix-quota"
LIMIT_RANGE_NAME = "phoenix-limits"
# The smallest request a container may make: stops near-zero requests that let the scheduler pack
# pods without bound. Lowered to the smallest request a service actually makes, so none is refused.
CONTAINER_REQUEST_FLOOR = {"cpu": "10m", "memory": "16Mi"}


def pod_security_labels() -> dict[str, str]:
    labels = {}
    for mode in ("enforce", "audit", "warn"):
        labels[f"pod-security.kubernetes.io/{mode}"] = "restricted"
        labels[f"pod-security.kubernetes.io/{mode}-version"] = POD_SECURITY_VERSION
    return labels


def quota_hard_limits(spec: PlatformSpec) -> dict[str, str]:
    """Room for every service at its replica ceiling plus a rollout surge, and nothing more."""
    surge = spec.profile.rollout_max_surge
    totals = {"requests.cpu": Decimal(0), "requests.memory": Decimal(0), "limits.cpu": Decimal(0), "limits.memory": Decimal(0)}
    pods = 0
    for service in spec.services:
        replicas = service.autoscaling.max_replicas + surge
        pods += replicas
        for kind in ("requests", "limits"):
            amounts = getattr(service.resources, kind)
            totals[f"{kind}.cpu"] += parse_quantity(amounts.cpu) * replicas
            totals[f"{kind}.memory"] += parse_quantity(amounts.memory) * replicas
    storage = sum((parse_quantity(s.storage.size) for s in spec.services if s.storage), Decimal(0))
    claims = sum(1 for service in spec.services if service.storage)
    return {
        "requests.cpu": format_cpu(totals["requests.cpu"]),
        "requests.memory": format_memory(totals["requests.memory"]),
        "limits.cpu": format_cpu(totals["limits.cpu"]),
        "limits.memory": format_memory(totals["limits.memory"]),
        "pods": str(pods),
        "persistentvolumeclaims": str(claims),
        "requests.storage": format_memory(storage),
        # Nothing in the namespace may be reachable from outside the cluster directly.
        "services.loadbalancers": "0",
        "services.nodeports": "0",
    }


def container_maximums(spec: PlatformSpec) -> dict[str, str]:
    cpu = max(parse_quantity(service.resources.limits.cpu) for service in spec.services)
    memory = max(parse_quantity(service.resources.limits.memory) for service in spec.services)
    return {"cpu": format_cpu(cpu), "memory": format_memory(memory)}


def container_minimums(spec: PlatformSpec) -> dict[str, str]:
    cpu = min(
        [parse_quantity(CONTAINER_REQUEST_FLOOR["cpu"])] + [parse_quantity(s.resources.requests.cpu) for s in spec.services]
    )
    memory = min(
        [parse_quantity(CONTAINER_REQUEST_FLOOR["memory"])] + [parse_quantity(s.resources.requests.memory) for s in spec.services]
    )
    return {"cpu": format_cpu(cpu), "memory": format_memory(memory)}


class PlatformNamespace(pulumi.ComponentResource):
    """Namespace with Pod Security Admission labels, a ResourceQuota and a LimitRange."""

    name: pulumi.Output[str]

    def __init__(self, resource_name: str, spec: PlatformSpec, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("phoenix:platform:Namespace", resource_name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        labels = standard_labels(spec.environment)

        namespace = k8s.core.v1.Namespace(
            resource_name,
            metadata=k8s.meta.v1.ObjectMetaArgs(name=spec.namespace, labels={**labels, **pod_security_labels()}),
            opts=child,
        )
        self.name = namespace.metadata.apply(lambda metadata: metadata.name)
        in_namespace = pulumi.ResourceOptions(parent=self, depends_on=[namespace])

        quota = k8s.core.v1.ResourceQuota(
            f"{resource_name}-quota",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=QUOTA_NAME, namespace=self.name, labels=labels),
            spec=k8s.core.v1.ResourceQuotaSpecArgs(hard=quota_hard_limits(spec)),
            opts=in_namespace,
        )
        limits = [
            k8s.core.v1.LimitRangeItemArgs(
                type="Container",
                # For anything started without its own resources (a debug pod, say).
                default={"cpu": "250m", "memory": "256Mi"},
                default_request={"cpu": "50m", "memory": "64Mi"},
                max=container_maximums(spec),
                min=container_minimums(spec),
            )
        ]
        claim_sizes = [parse_quantity(service.storage.size) for service in spec.services if service.storage]
        if claim_sizes:
            limits.append(
                k8s.core.v1.LimitRangeItemArgs(type="PersistentVolumeClaim", max={"storage": format_memory(max(claim_sizes))})
            )
        limit_range = k8s.core.v1.LimitRange(
            f"{resource_name}-limits",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=LIMIT_RANGE_NAME, namespace=self.name, labels=labels),
            spec=k8s.core.v1.LimitRangeSpecArgs(limits=limits),
            opts=in_namespace,
        )
        self.quota_name = quota.metadata.apply(lambda metadata: metadata.name)
        self.limit_range_name = limit_range.metadata.apply(lambda metadata: metadata.name)
        self.register_outputs({"name": self.name, "quota": self.quota_name, "limitRange": self.limit_range_name})
