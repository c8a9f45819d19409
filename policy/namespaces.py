"""Namespaces: Pod Security Admission must enforce the restricted profile."""

from __future__ import annotations

from pulumi_policy import Severity

from policy.fields import mapping
from policy.model import PolicyConfig, Resource, ResourcePolicy, cis, kube, nsa

ENFORCE_LABEL = "pod-security.kubernetes.io/enforce"


def enforces_restricted(resource: Resource, config: PolicyConfig) -> list[str]:
    required = config.get("requiredLevel")
    value = mapping(resource.metadata.get("labels")).get(ENFORCE_LABEL)
    if value != required:
        return [f"label {ENFORCE_LABEL} is {value!r}, not {required!r}"]
    return []


NAMESPACE_POLICIES = [
    ResourcePolicy(
        name="namespace-pod-security-enforce",
        description="Namespaces must enforce the restricted Pod Security Standard.",
        severity=Severity.HIGH,
        remediation=f"Set metadata.labels[{ENFORCE_LABEL}] to restricted (and pin {ENFORCE_LABEL}-version).",
        frameworks=(cis("5.2.1"), nsa("Pod security enforcement")),
        config_properties={
            "requiredLevel": {
                "type": "string",
                "enum": ["restricted"],
                "default": "restricted",
                "description": "The Pod Security level namespaces must enforce.",
            },
        },
        applies_to=kube("Namespace"),
        check=enforces_restricted,
    ),
]
