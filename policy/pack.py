"""The Pulumi CrossGuard adapter: every policy of the registry as a pulumi_policy policy.

Nothing here starts the analyzer server on import; :func:`serve` (called by ``__main__.py``) does.
Values unknown during preview raise ``UnknownValueError`` out of the checks on purpose: the SDK then
reports "can't run policy ... during preview" for that policy, and the engine runs the policy again
with the real values before the resource is created, where a mandatory violation stops the update.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pulumi_policy
import pulumi_policy.policy as sdk_policy
from pulumi_policy import (
    EnforcementLevel,
    PolicyComplianceFramework,
    PolicyConfigSchema,
    PolicyPack,
    PolicyProviderResource,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.proxy import UnknownValueError

from policy.config import effective_properties, schema_properties
from policy.evaluation import resource_violations, stack_violations, today
from policy.model import Policy, Resource, ResourcePolicy
from policy.registry import ALL_POLICIES
from policy.wire import mark_secrets

PACK_NAME = "phoenix-platform"
PACK_DESCRIPTION = (
    "Phoenix Platform guardrails: Pod Security Standards (baseline + restricted, as PSA v1.37), "
    "workload hygiene, images, RBAC, network isolation, storage encryption, availability, secrets."
)


def _common(policy: Policy) -> dict[str, Any]:
    primary = policy.frameworks[0]
    return {
        "name": policy.name,
        "description": policy.description,
        "enforcement_level": policy.enforcement_level,
        "config_schema": PolicyConfigSchema(properties={k: dict(v) for k, v in schema_properties(policy).items()}),
        "severity": policy.severity,
        "framework": PolicyComplianceFramework(name=primary.name, version=primary.version, reference=primary.control),
        # The SDK carries one framework per policy; every reference (the primary one included) goes in tags.
        "tags": [f"{f.name} {f.version}: {f.control}" for f in policy.frameworks],
        "remediation_steps": policy.remediation,
    }


def provider_namespace(provider: PolicyProviderResource | None) -> str | None:
    """The default namespace a Kubernetes provider resource is configured with, if known."""
    if provider is None or not provider.resource_type.startswith("pulumi:providers:kubernetes"):
        return None
    try:
        namespace = provider.props.get("namespace")
    except UnknownValueError:
        return None  # fall back to "default", the stricter reading for the namespace policies
    return namespace if isinstance(namespace, str) and namespace else None


def with_fix(policy: Policy, message: str) -> str:
    """The violation message with the remediation, which the CLI does not print on its own."""
    return f"{message}\nFix: {policy.remediation}"


def crossguard_policy(policy: Policy) -> pulumi_policy.Policy:
    if isinstance(policy, ResourcePolicy):
        resource_policy = policy

        def validate(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
            resource = Resource(args.resource_type, args.props, args.name, args.urn, provider_namespace(args.provider))
            properties = effective_properties(resource_policy, args.get_config())
            for message in resource_violations(resource_policy, resource, properties, today()):
                report_violation(with_fix(resource_policy, message), None)

        return ResourceValidationPolicy(validate=validate, **_common(policy))

    stack_policy = policy

    def validate_stack(args: StackValidationArgs, report_violation: ReportViolation) -> None:
        resources = [Resource(r.resource_type, r.props, r.name, r.urn, provider_namespace(r.provider)) for r in args.resources]
        properties = effective_properties(stack_policy, args.get_config())
        for resource, message in stack_violations(stack_policy, resources, properties, today()):
            report_violation(with_fix(stack_policy, message), resource.urn if resource is not None else None)

    return StackValidationPolicy(validate=validate_stack, **_common(policy))


def crossguard_policies() -> list[pulumi_policy.Policy]:
    return [crossguard_policy(policy) for policy in ALL_POLICIES]


def preserve_secretness() -> None:
    """Make the SDK deliver Pulumi-secret strings as PulumiSecret (see policy.wire).

    pulumi_policy 1.21 unwraps the engine's secret markers while deserializing analyzer requests,
    which would leave the secrets policy unable to tell a Pulumi secret from a literal. Wrapping the
    module's deserializer keeps everything else identical; the pin in requirements.txt keeps the
    hook point stable.
    """
    original = sdk_policy.deserialize_properties

    def deserialize_keeping_secretness(props: dict[str, Any], proxy_secrets: bool = False) -> dict[str, Any]:
        deserialized: dict[str, Any] = original(mark_secrets(props), proxy_secrets)
        return deserialized

    sdk_policy.deserialize_properties = deserialize_keeping_secretness


REMEMBERED = 4
"""How many recent arguments each remembered step keeps per thread: the SDK alternates between a
request's own properties and its provider's."""


def _remember_recent(function: Callable[..., Any]) -> Callable[..., Any]:
    """`function` that, on each thread, hands back its result again when called again with one of
    the very same argument objects it was last called with (and no other argument). It holds
    those objects, so no other object can take their identity meanwhile."""
    memo = threading.local()

    def remembered(value: Any, *rest: Any) -> Any:
        if rest:
            return function(value, *rest)
        recent: list[tuple[Any, Any]] = memo.__dict__.setdefault("recent", [])
        for argument, result in recent:
            if argument is value:
                return result
        result = function(value)
        recent.insert(0, (value, result))
        del recent[REMEMBERED:]
        return result

    return remembered


class _JsonFormat:
    """google.protobuf.json_format as the SDK's servicer sees it, MessageToDict remembered."""

    def __init__(self, module: Any) -> None:
        self._module = module
        self.MessageToDict = _remember_recent(module.MessageToDict)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._module, name)


def convert_properties_once() -> None:
    """Make the SDK convert a resource's properties once per request, not once per policy.

    pulumi_policy 1.21's Analyze turns the request's protobuf properties into a dict, deserializes
    it and wraps it in its unknown-checking proxy again for every policy: with 46 resource
    policies that was three quarters of the pack's time per resource (benchmarks/pack_cost.py).
    Policies only read what they are given, so each step hands back, on each gRPC thread, what it
    made from the same input object lately: the same request gives the same properties.
    """
    if not isinstance(sdk_policy.json_format, _JsonFormat):
        sdk_policy.json_format = _JsonFormat(sdk_policy.json_format)
    sdk_policy.deserialize_properties = _remember_recent(sdk_policy.deserialize_properties)
    sdk_policy.unknown_checking_proxy = _remember_recent(sdk_policy.unknown_checking_proxy)


def serve() -> None:
    """Start the analyzer server for the engine (blocks)."""
    preserve_secretness()
    convert_properties_once()
    PolicyPack(
        name=PACK_NAME,
        description=PACK_DESCRIPTION,
        policies=crossguard_policies(),
        enforcement_level=EnforcementLevel.MANDATORY,
    )
