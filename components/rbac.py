"""Service identity: one ServiceAccount per service, and a namespaced Role only where the service declares API needs."""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s

from components.labels import standard_labels
from components.spec import ServiceSpec


class ServiceIdentity(pulumi.ComponentResource):
    """ServiceAccount without an automounted token; Role and RoleBinding with exact rules when declared.

    Never a ClusterRole or ClusterRoleBinding: a Phoenix service sees its own namespace only.
    """

    service_account_name: pulumi.Output[str]

    def __init__(
        self,
        resource_name: str,
        service: ServiceSpec,
        environment: str,
        namespace: pulumi.Input[str],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("phoenix:platform:Rbac", resource_name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        labels = standard_labels(environment, service.name)
        metadata = k8s.meta.v1.ObjectMetaArgs(name=service.name, namespace=namespace, labels=labels)

        account = k8s.core.v1.ServiceAccount(
            f"{resource_name}-account",
            metadata=metadata,
            # The token is mounted per pod, and only for services that call the API.
            automount_service_account_token=False,
            opts=child,
        )
        self.service_account_name = account.metadata.apply(lambda m: m.name)
        outputs: dict[str, pulumi.Input[str]] = {"serviceAccount": self.service_account_name}

        if service.kubernetes_api:
            role = k8s.rbac.v1.Role(
                f"{resource_name}-role",
                metadata=metadata,
                rules=[
                    k8s.rbac.v1.PolicyRuleArgs(
                        api_groups=list(rule.api_groups),
                        resources=list(rule.resources),
                        verbs=list(rule.verbs),
                        resource_names=list(rule.resource_names) or None,
                    )
                    for rule in service.kubernetes_api
                ],
                opts=child,
            )
            binding = k8s.rbac.v1.RoleBinding(
                f"{resource_name}-binding",
                metadata=metadata,
                role_ref=k8s.rbac.v1.RoleRefArgs(api_group="rbac.authorization.k8s.io", kind="Role", name=role.metadata.name),
                subjects=[k8s.rbac.v1.SubjectArgs(kind="ServiceAccount", name=account.metadata.name, namespace=namespace)],
                opts=child,
            )
            outputs["role"] = role.metadata.apply(lambda m: m.name)
            outputs["roleBinding"] = binding.metadata.apply(lambda m: m.name)
        self.register_outputs(outputs)
