"""Network exposure and namespace isolation: default-deny NetworkPolicies, quotas and limit
ranges for every namespace that runs workloads (stack policies), Service exposure, Ingress TLS."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from pulumi_policy import Severity

from policy.fields import mapping, mappings, sequence, strings
from policy.model import Policy, PolicyConfig, Resource, ResourcePolicy, StackFinding, StackPolicy, cis, kube, nsa
from policy.pods import POD_BEARING_KINDS, workload_namespace


def namespaces_with_workloads(resources: Sequence[Resource]) -> dict[str, Resource]:
    """Each namespace that runs workloads, with the resource to report a finding against (its
    Namespace when the stack creates it, else its first workload)."""
    anchors: dict[str, Resource] = {}
    for resource in resources:
        if resource.package == "kubernetes" and resource.kind in POD_BEARING_KINDS:
            anchors.setdefault(workload_namespace(resource), resource)
    for resource in resources:
        if resource.package == "kubernetes" and resource.kind == "Namespace" and resource.name in anchors:
            anchors[resource.name] = resource
    return anchors


def _in_namespace(resources: Sequence[Resource], kind: str, namespace: str) -> list[Resource]:
    return [r for r in resources if r.package == "kubernetes" and r.kind == kind and workload_namespace(r) == namespace]


def _selects_all_pods(selector: object) -> bool:
    selector = mapping(selector)
    return not mapping(selector.get("matchLabels")) and not sequence(selector.get("matchExpressions"))


def denied_directions(network_policy: Resource) -> set[str]:
    """The directions (Ingress, Egress) a NetworkPolicy denies for every pod of its namespace."""
    spec = mapping(network_policy.props.get("spec"))
    if not _selects_all_pods(spec.get("podSelector")):
        return set()
    types = strings(spec.get("policyTypes"))
    if not types:  # Kubernetes' default: Ingress, plus Egress when egress rules are present
        types = ["Ingress"] + (["Egress"] if sequence(spec.get("egress")) else [])
    return {direction for direction in types if not sequence(spec.get(direction.lower()))}


def default_deny_network_policy(resources: Sequence[Resource], _config: PolicyConfig) -> list[StackFinding]:
    findings: list[StackFinding] = []
    for namespace, anchor in namespaces_with_workloads(resources).items():
        denied: set[str] = set()
        for network_policy in _in_namespace(resources, "NetworkPolicy", namespace):
            denied |= denied_directions(network_policy)
        missing = sorted({"Ingress", "Egress"} - denied)
        if missing:
            findings.append(
                (anchor, f"namespace {namespace} runs workloads but has no default-deny {' and '.join(missing)} NetworkPolicy")
            )
    return findings


def _requires(kind: str) -> Callable[[Sequence[Resource], PolicyConfig], list[StackFinding]]:
    def check(resources: Sequence[Resource], _config: PolicyConfig) -> list[StackFinding]:
        return [
            (anchor, f"namespace {namespace} runs workloads but has no {kind}")
            for namespace, anchor in namespaces_with_workloads(resources).items()
            if not _in_namespace(resources, kind, namespace)
        ]

    return check


RESTRICTED_SERVICE_TYPES = ("LoadBalancer", "NodePort")


def service_type_allowed(resource: Resource, config: PolicyConfig) -> list[str]:
    service_type = mapping(resource.props.get("spec")).get("type")
    if service_type in RESTRICTED_SERVICE_TYPES and service_type not in strings(config.get("allowedServiceTypes")):
        return [f"is of type {service_type}, which is not in allowedServiceTypes"]
    return []


def no_external_ips(resource: Resource, config: PolicyConfig) -> list[str]:
    allowed = strings(config.get("allowedExternalIPs"))
    bad = [ip for ip in strings(mapping(resource.props.get("spec")).get("externalIPs")) if ip not in allowed]
    return [f"sets spec.externalIPs {', '.join(bad)}, which are not in allowedExternalIPs"] if bad else []


def ingress_uses_tls(resource: Resource, _config: PolicyConfig) -> list[str]:
    spec = mapping(resource.props.get("spec"))
    tls = list(mappings(spec.get("tls")))
    if not tls:
        return ["has no spec.tls"]
    covered = {host for entry in tls for host in strings(entry.get("hosts"))}
    hosts = [rule.get("host") for rule in mappings(spec.get("rules"))]
    uncovered = sorted(str(host) for host in hosts if isinstance(host, str) and host not in covered)
    return [f"serves {', '.join(uncovered)} without a spec.tls entry for it"] if uncovered else []


NETWORK_POLICIES: list[Policy] = [
    StackPolicy(
        name="network-default-deny",
        description="Every namespace that runs workloads must have a default-deny ingress and egress NetworkPolicy.",
        severity=Severity.HIGH,
        remediation="Add a NetworkPolicy in the namespace with podSelector: {}, policyTypes: [Ingress, Egress] and "
        "no rules, then allow the needed traffic with specific policies.",
        frameworks=(cis("5.3.2"), nsa("Network policies")),
        check_stack=default_deny_network_policy,
    ),
    StackPolicy(
        name="network-namespace-resource-quota",
        description="Every namespace that runs workloads must have a ResourceQuota.",
        severity=Severity.MEDIUM,
        remediation="Add a ResourceQuota (e.g. limits on requests.cpu, requests.memory, pods) to the namespace.",
        frameworks=(nsa("Resource policies"),),
        check_stack=_requires("ResourceQuota"),
    ),
    StackPolicy(
        name="network-namespace-limit-range",
        description="Every namespace that runs workloads must have a LimitRange.",
        severity=Severity.MEDIUM,
        remediation="Add a LimitRange with default and max container requests/limits to the namespace.",
        frameworks=(nsa("Resource policies"),),
        check_stack=_requires("LimitRange"),
    ),
    ResourcePolicy(
        name="network-service-type",
        description="Services must not be of type LoadBalancer or NodePort unless allowed by config.",
        severity=Severity.HIGH,
        remediation="Use type ClusterIP behind an Ingress, or add the type to allowedServiceTypes.",
        frameworks=(nsa("Network separation and hardening"),),
        config_properties={
            "allowedServiceTypes": {
                "type": "array",
                "items": {"type": "string", "enum": list(RESTRICTED_SERVICE_TYPES)},
                "default": [],
                "description": "Exposing Service types (LoadBalancer, NodePort) the program may use.",
            }
        },
        applies_to=kube("Service"),
        check=service_type_allowed,
    ),
    ResourcePolicy(
        name="network-service-external-ips",
        description="Services must not set external IPs unless allowed by config.",
        severity=Severity.HIGH,
        remediation="Remove spec.externalIPs (expose through an Ingress), or add the addresses to allowedExternalIPs.",
        frameworks=(nsa("Network separation and hardening"),),
        config_properties={
            "allowedExternalIPs": {
                "type": "array",
                "items": {"type": "string"},
                "default": [],
                "description": "External IPs Services may claim.",
            },
        },
        applies_to=kube("Service"),
        check=no_external_ips,
    ),
    ResourcePolicy(
        name="network-ingress-tls",
        description="Ingresses must terminate TLS for every host they serve.",
        severity=Severity.HIGH,
        remediation="Add spec.tls entries (hosts + secretName) covering every spec.rules[*].host.",
        frameworks=(nsa("Network separation and hardening"),),
        applies_to=kube("Ingress"),
        check=ingress_uses_tls,
    ),
]
