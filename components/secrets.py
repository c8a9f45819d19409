"""Service secrets: Pulumi secret config becomes a Kubernetes Secret, mounted read-only as files."""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s

from components.labels import standard_labels
from components.spec import ServiceSpec

# Files, not environment variables: env leaks into crash dumps, child processes and `kubectl describe`.
SECRETS_MOUNT_PATH = "/var/run/secrets/phoenix"


def secret_name(service: str) -> str:
    return f"{service}-secrets"


class ServiceSecrets(pulumi.ComponentResource):
    """One Opaque Secret per service holding its secret config keys; values stay Pulumi secrets."""

    name: pulumi.Output[str]

    def __init__(
        self,
        resource_name: str,
        service: ServiceSpec,
        environment: str,
        namespace: pulumi.Input[str],
        values: dict[str, pulumi.Output[str]],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("phoenix:platform:Secrets", resource_name, None, opts)
        secret = k8s.core.v1.Secret(
            resource_name,
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=secret_name(service.name), namespace=namespace, labels=standard_labels(environment, service.name)
            ),
            type="Opaque",
            # Each value is a secret Output, so it is encrypted in state and masked in
            # previews and logs; the key is the file name under SECRETS_MOUNT_PATH.
            string_data={key: pulumi.Output.secret(values[key]) for key in service.secrets},  # type: ignore[arg-type]
            immutable=False,
            opts=pulumi.ResourceOptions(parent=self, additional_secret_outputs=["data", "stringData"]),
        )
        self.name = secret.metadata.apply(lambda m: m.name)
        self.register_outputs({"name": self.name})
