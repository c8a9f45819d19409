"""The whole Phoenix platform of one stack, composed from the other components."""

from __future__ import annotations

import pulumi

from components.image import ServiceImage
from components.monitoring import PlatformMonitoring
from components.namespace import PlatformNamespace
from components.network import NetworkPolicies
from components.rbac import ServiceIdentity
from components.secrets import ServiceSecrets
from components.spec import PlatformSpec
from components.stack_config import PlatformConfig
from components.storage import PlatformStorage
from components.workload import Workload, WorkloadInputs


class PhoenixPlatform(pulumi.ComponentResource):
    """Namespace, network policy, storage, per service: image, identity, secrets and workload; and monitoring."""

    def __init__(self, resource_name: str, config: PlatformConfig, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("phoenix:platform:Platform", resource_name, None, opts)
        spec: PlatformSpec = config.spec
        child = pulumi.ResourceOptions(parent=self)

        namespace = PlatformNamespace(spec.namespace, spec, opts=child)
        NetworkPolicies(f"{spec.namespace}-network", spec, namespace.name, opts=child)
        storage = PlatformStorage(f"{spec.namespace}-storage", spec, namespace.name, opts=child)

        self.namespace = namespace.name
        self.images: dict[str, pulumi.Output[str]] = {}
        self.dns_names: dict[str, pulumi.Output[str]] = {}
        self.claims: dict[str, pulumi.Output[str]] = storage.claim_names
        for service in spec.services:
            name = f"{spec.environment}-{service.name}"
            image = ServiceImage(name, service, spec.image_registry, spec.environment, spec.build_images, opts=child)
            identity = ServiceIdentity(name, service, spec.environment, namespace.name, opts=child)
            secrets = (
                ServiceSecrets(name, service, spec.environment, namespace.name, config.secret_values, opts=child)
                if service.secrets
                else None
            )
            workload = Workload(
                name,
                service,
                spec.profile,
                WorkloadInputs(
                    namespace=namespace.name,
                    image=image.ref,
                    service_account=identity.service_account_name,
                    secret_name=secrets.name if secrets else None,
                    claim_name=storage.claim_names.get(service.name),
                ),
                spec.ingress,
                opts=child,
            )
            self.images[service.name] = image.ref
            self.dns_names[service.name] = workload.dns_name
        if spec.monitoring.enabled:
            PlatformMonitoring(f"{spec.namespace}-monitoring", spec, namespace.name, config.secret_values, opts=child)
        self.register_outputs(
            {"namespace": self.namespace, "images": self.images, "dnsNames": self.dns_names, "claims": self.claims}
        )
