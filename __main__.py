"""Phoenix Platform: the hardened Phoenix ORCH services of one stack (environment)."""

import pulumi

from components.platform import PhoenixPlatform
from components.stack_config import ConfigError, load_platform_config

stack = pulumi.get_stack()
try:
    config = load_platform_config(stack)
except ConfigError as error:
    # Raised before any resource is registered: bad config deploys nothing.
    raise pulumi.RunError(str(error)) from None

platform = PhoenixPlatform(f"phoenix-{config.spec.environment}", config)

pulumi.export("namespace", platform.namespace)
pulumi.export(
    "services",
    {
        name: {
            "image": platform.images[name],
            "dnsName": platform.dns_names[name],
            **({"claim": platform.claims[name]} if name in platform.claims else {}),
        }
        for name in platform.images
    },
)
