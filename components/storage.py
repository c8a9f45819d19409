"""Encrypted persistent storage: the environment's StorageClass and one isolated claim per stateful service."""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s

from components.labels import standard_labels
from components.spec import PlatformSpec


def storage_class_name(spec: PlatformSpec) -> str:
    return f"phoenix-{spec.environment}-encrypted"


def claim_name(service: str) -> str:
    return f"{service}-data"


class PlatformStorage(pulumi.ComponentResource):
    """A StorageClass with encryption on, volume expansion allowed, Retain in prod; a PVC per stateful service."""

    claim_names: dict[str, pulumi.Output[str]]

    def __init__(
        self,
        resource_name: str,
        spec: PlatformSpec,
        namespace: pulumi.Input[str],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("phoenix:platform:Storage", resource_name, None, opts)
        profile = spec.profile
        # Retaining on delete keeps prod data when the stack (or a service) is removed;
        # it then has to be deleted deliberately, by hand.
        kept = pulumi.ResourceOptions(parent=self, retain_on_delete=profile.retain_volumes_on_delete)
        labels = standard_labels(spec.environment)

        storage_class = k8s.storage.v1.StorageClass(
            f"{resource_name}-class",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=storage_class_name(spec), labels=labels),
            provisioner=spec.storage_class.provisioner,
            parameters=dict(spec.storage_class.parameters),
            allow_volume_expansion=True,
            reclaim_policy=profile.reclaim_policy,
            volume_binding_mode="WaitForFirstConsumer",
            opts=kept,
        )
        self.storage_class_name = storage_class.metadata.apply(lambda m: m.name)
        self.claim_names = {}
        for service in spec.services:
            if service.storage is None:
                continue
            claim = k8s.core.v1.PersistentVolumeClaim(
                f"{resource_name}-{service.name}",
                metadata=k8s.meta.v1.ObjectMetaArgs(
                    name=claim_name(service.name),
                    namespace=namespace,
                    labels=standard_labels(spec.environment, service.name),
                    # The claim binds when its pod is scheduled (WaitForFirstConsumer); don't block on it.
                    annotations={"pulumi.com/skipAwait": "true"},
                ),
                spec=k8s.core.v1.PersistentVolumeClaimSpecArgs(
                    access_modes=["ReadWriteOnce"],
                    storage_class_name=self.storage_class_name,
                    resources=k8s.core.v1.VolumeResourceRequirementsArgs(requests={"storage": service.storage.size}),
                ),
                opts=kept,
            )
            self.claim_names[service.name] = claim.metadata.apply(lambda m: m.name)
        self.register_outputs({"storageClass": self.storage_class_name, "claims": self.claim_names})
