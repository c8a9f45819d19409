"""What a policy is and what it looks at: resources, frameworks and the two kinds of policy."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from pulumi_policy import EnforcementLevel, Severity
from pulumi_policy.proxy import UnknownValueError

from policy.fields import mapping

PolicyConfig = Mapping[str, Any]
"""A policy's configuration: its config-file properties merged over its schema defaults."""


class PulumiSecret(str):
    """A string the program marked as a Pulumi secret.

    The policy SDK drops secretness when it deserializes properties; the pack (and the test
    harness adapter) keep it by delivering secret strings as this subclass, which behaves as a
    plain ``str`` everywhere else.
    """


@dataclass(frozen=True)
class Framework:
    """One compliance framework reference of a policy."""

    name: str
    version: str
    control: str


PSS = "Pod Security Standards"
PSS_VERSION = "v1.37"
CIS = "CIS Kubernetes Benchmark"
CIS_VERSION = "1.9.0"
NSA = "NSA/CISA Kubernetes Hardening Guide"
NSA_VERSION = "1.2"


def pss(level: str, control: str) -> Framework:
    return Framework(PSS, PSS_VERSION, f"{level}/{control}")


def cis(control: str) -> Framework:
    return Framework(CIS, CIS_VERSION, control)


def nsa(control: str) -> Framework:
    return Framework(NSA, NSA_VERSION, control)


@dataclass(frozen=True, eq=False)
class Resource:
    """One resource as policies see it, whether registered by a Pulumi program or read from YAML.

    ``props`` is manifest-shaped (apiVersion, kind, metadata, spec, ...) for Kubernetes resources
    and the resource inputs for other packages; at run time it is the SDK's unknown-checking proxy.
    """

    type_token: str
    props: Mapping[str, Any]
    logical_name: str
    urn: str = ""
    provider_namespace: str | None = None
    """The default namespace of the Pulumi Kubernetes provider that manages the resource, which
    applies when metadata.namespace is absent."""

    # Cached: every policy asks each resource for both (cached_property writes the instance
    # __dict__ directly, which a frozen dataclass allows).
    @cached_property
    def package(self) -> str:
        return self.type_token.split(":", 1)[0]

    @cached_property
    def kind(self) -> str:
        return self.type_token.rsplit(":", 1)[-1]

    @property
    def metadata(self) -> Mapping[str, Any]:
        return mapping(self.props.get("metadata"))

    @property
    def name(self) -> str:
        """metadata.name, or the logical name while the real name is unknown or absent."""
        try:
            value = self.metadata.get("name")
        except UnknownValueError:
            return self.logical_name
        return value if isinstance(value, str) and value else self.logical_name

    @property
    def declared_name(self) -> str | None:
        """metadata.name as written, raising UnknownValueError while it is unknown; for allowlists,
        which must not match on a stand-in name."""
        value = self.metadata.get("name")
        return value if isinstance(value, str) and value else None

    @property
    def namespace(self) -> str | None:
        """metadata.namespace as written; None when absent (Kubernetes then uses "default")."""
        value = self.metadata.get("namespace")
        return value if isinstance(value, str) and value else None

    @property
    def effective_namespace(self) -> str:
        """The namespace a namespaced resource lands in: metadata.namespace, else the provider's
        default namespace, else "default"."""
        return self.namespace or self.provider_namespace or "default"

    def describe(self) -> str:
        return f"{self.kind} {self.name}"


ResourceCheck = Callable[[Resource, PolicyConfig], list[str]]
StackFinding = tuple[Resource | None, str]
StackCheck = Callable[[Sequence[Resource], PolicyConfig], list[StackFinding]]


@dataclass(frozen=True, kw_only=True)
class PolicyInfo:
    """Metadata shared by every policy."""

    name: str
    description: str
    severity: Severity
    remediation: str
    frameworks: tuple[Framework, ...]
    config_properties: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    """JSON-schema properties of the policy's tunables (each with a "default")."""
    enforcement_level: EnforcementLevel = EnforcementLevel.MANDATORY

    def defaults(self) -> dict[str, Any]:
        return {key: schema["default"] for key, schema in self.config_properties.items() if "default" in schema}


@dataclass(frozen=True, kw_only=True)
class ResourcePolicy(PolicyInfo):
    """Checks one resource at a time. ``applies_to`` holds (package, kind) pairs."""

    applies_to: frozenset[tuple[str, str]]
    check: ResourceCheck

    def applies(self, resource: Resource) -> bool:
        return (resource.package, resource.kind) in self.applies_to


@dataclass(frozen=True, kw_only=True)
class StackPolicy(PolicyInfo):
    """Checks all resources of a stack (or all documents scanned together) at once."""

    check_stack: StackCheck


Policy = ResourcePolicy | StackPolicy


def kube(*kinds: str) -> frozenset[tuple[str, str]]:
    return frozenset(("kubernetes", kind) for kind in kinds)
