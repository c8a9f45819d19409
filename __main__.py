"""Phoenix Platform: the hardened Phoenix ORCH services of one stack (environment)."""

import gc

import pulumi

from components.platform import PhoenixPlatform
from components.stack_config import ConfigError, load_platform_config

# The SDK keeps every resource's outputs alive until the program ends, so with the default
# thresholds the collector re-walks an ever larger heap and its share grows with the stack (a
# third of the CPU at 200 services). Collecting young objects less often keeps the cost per
# service flat, for about 1% more peak memory (README.md "Benchmarks", program scale).
gc.set_threshold(50_000, 20, 20)

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
