"""Network policy: deny everything, then allow DNS, exactly the declared service-to-service calls, and the
metrics scraper to each service's metrics port."""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s

from components.labels import service_selector, standard_labels
from components.spec import PlatformSpec, ServiceSpec

DEFAULT_DENY_NAME = "default-deny"
DNS_EGRESS_NAME = "allow-dns-egress"
NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name"


def _port(port: int, protocol: str = "TCP") -> k8s.networking.v1.NetworkPolicyPortArgs:
    return k8s.networking.v1.NetworkPolicyPortArgs(port=port, protocol=protocol)


def ingress_rules(spec: PlatformSpec, service: ServiceSpec) -> list[k8s.networking.v1.NetworkPolicyIngressRuleArgs]:
    callers = [caller.name for caller in spec.services if service.name in caller.calls]
    rules = [
        k8s.networking.v1.NetworkPolicyIngressRuleArgs(
            from_=[
                k8s.networking.v1.NetworkPolicyPeerArgs(
                    pod_selector=k8s.meta.v1.LabelSelectorArgs(match_labels=service_selector(caller))
                )
            ],
            ports=[_port(service.port)],
        )
        for caller in callers
    ]
    if service.exposed and spec.ingress is not None:
        rules.append(
            k8s.networking.v1.NetworkPolicyIngressRuleArgs(
                from_=[
                    k8s.networking.v1.NetworkPolicyPeerArgs(
                        namespace_selector=k8s.meta.v1.LabelSelectorArgs(
                            match_labels={NAMESPACE_NAME_LABEL: spec.ingress.controller_namespace}
                        )
                    )
                ],
                ports=[_port(service.port)],
            )
        )
    return rules


def metrics_scrape_rule(spec: PlatformSpec, service: ServiceSpec) -> k8s.networking.v1.NetworkPolicyIngressRuleArgs:
    """The Prometheus pods (those pods, in that namespace), to the metrics port only."""
    scraper = spec.monitoring.scraper
    return k8s.networking.v1.NetworkPolicyIngressRuleArgs(
        from_=[
            k8s.networking.v1.NetworkPolicyPeerArgs(
                namespace_selector=k8s.meta.v1.LabelSelectorArgs(match_labels={NAMESPACE_NAME_LABEL: scraper.namespace}),
                pod_selector=k8s.meta.v1.LabelSelectorArgs(match_labels=dict(scraper.pod_labels)),
            )
        ],
        ports=[_port(service.metrics_port)],
    )


def metrics_policy_name(service: str) -> str:
    return f"allow-{service}-metrics-scrape"


def egress_rules(spec: PlatformSpec, service: ServiceSpec) -> list[k8s.networking.v1.NetworkPolicyEgressRuleArgs]:
    ports = {other.name: other.port for other in spec.services}
    rules = [
        k8s.networking.v1.NetworkPolicyEgressRuleArgs(
            to=[
                k8s.networking.v1.NetworkPolicyPeerArgs(
                    pod_selector=k8s.meta.v1.LabelSelectorArgs(match_labels=service_selector(callee))
                )
            ],
            ports=[_port(ports[callee])],
        )
        for callee in service.calls
    ]
    if service.kubernetes_api:
        rules.append(
            k8s.networking.v1.NetworkPolicyEgressRuleArgs(
                to=[
                    k8s.networking.v1.NetworkPolicyPeerArgs(ip_block=k8s.networking.v1.IPBlockArgs(cidr=cidr))
                    for cidr in spec.network.api_server_cidrs
                ],
                ports=[_port(spec.network.api_server_port)],
            )
        )
    return rules


class NetworkPolicies(pulumi.ComponentResource):
    """Default deny for the namespace, DNS to the cluster DNS only, and one allow policy per service."""

    def __init__(
        self,
        resource_name: str,
        spec: PlatformSpec,
        namespace: pulumi.Input[str],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("phoenix:platform:Network", resource_name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        labels = standard_labels(spec.environment)
        every_pod = k8s.meta.v1.LabelSelectorArgs()

        def metadata(name: str) -> k8s.meta.v1.ObjectMetaArgs:
            return k8s.meta.v1.ObjectMetaArgs(name=name, namespace=namespace, labels=labels)

        default_deny = k8s.networking.v1.NetworkPolicy(
            f"{resource_name}-default-deny",
            metadata=metadata(DEFAULT_DENY_NAME),
            spec=k8s.networking.v1.NetworkPolicySpecArgs(pod_selector=every_pod, policy_types=["Ingress", "Egress"]),
            opts=child,
        )
        dns = k8s.networking.v1.NetworkPolicy(
            f"{resource_name}-dns",
            metadata=metadata(DNS_EGRESS_NAME),
            spec=k8s.networking.v1.NetworkPolicySpecArgs(
                pod_selector=every_pod,
                policy_types=["Egress"],
                egress=[
                    k8s.networking.v1.NetworkPolicyEgressRuleArgs(
                        to=[
                            k8s.networking.v1.NetworkPolicyPeerArgs(
                                namespace_selector=k8s.meta.v1.LabelSelectorArgs(
                                    match_labels={NAMESPACE_NAME_LABEL: spec.network.dns_namespace}
                                ),
                                pod_selector=k8s.meta.v1.LabelSelectorArgs(match_labels=spec.network.dns_pod_labels),
                            )
                        ],
                        ports=[_port(53, "UDP"), _port(53, "TCP")],
                    )
                ],
            ),
            opts=child,
        )
        allowed: dict[str, pulumi.Output[str]] = {}
        for service in spec.services:
            policy = k8s.networking.v1.NetworkPolicy(
                f"{resource_name}-{service.name}",
                metadata=metadata(f"allow-{service.name}"),
                spec=k8s.networking.v1.NetworkPolicySpecArgs(
                    pod_selector=k8s.meta.v1.LabelSelectorArgs(match_labels=service_selector(service.name)),
                    policy_types=["Ingress", "Egress"],
                    ingress=ingress_rules(spec, service),
                    egress=egress_rules(spec, service),
                ),
                opts=child,
            )
            allowed[service.name] = policy.metadata.apply(lambda m: m.name)
            if spec.monitoring.enabled:
                # A policy of its own, so the service's own policy keeps to its callers.
                k8s.networking.v1.NetworkPolicy(
                    f"{resource_name}-{service.name}-metrics",
                    metadata=metadata(metrics_policy_name(service.name)),
                    spec=k8s.networking.v1.NetworkPolicySpecArgs(
                        pod_selector=k8s.meta.v1.LabelSelectorArgs(match_labels=service_selector(service.name)),
                        policy_types=["Ingress"],
                        ingress=[metrics_scrape_rule(spec, service)],
                    ),
                    opts=child,
                )
        self.default_deny_name = default_deny.metadata.apply(lambda m: m.name)
        self.register_outputs(
            {"defaultDeny": self.default_deny_name, "dnsEgress": dns.metadata.apply(lambda m: m.name), "services": allowed}
        )
