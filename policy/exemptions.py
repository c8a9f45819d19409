"""Exemptions: a named resource excused from a policy, for a reason, until an expiry date.

Exemptions live in the policy config file, in the block of each policy they exempt from:
``{"<policy>": {"exemptions": [{"resource": "phoenix-prod/legacy", "reason": "...", "expires": "2027-01-31"}]}}``.
An expired exemption no longer applies; the violation it used to hide says that it expired.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from pulumi_policy.proxy import UnknownValueError

from policy.fields import mappings
from policy.model import Resource

EXEMPTIONS_SCHEMA: Mapping[str, Any] = {
    "type": "array",
    "default": [],
    "description": "Resources exempt from this policy. resource is <namespace>/<name>, <Kind>/<namespace>/<name>, "
    "<name> or <Kind>/<name> for cluster-scoped resources, or the Pulumi resource name; expires is "
    "an ISO date (YYYY-MM-DD) after which the exemption no longer applies.",
    "items": {
        "type": "object",
        "required": ["resource", "reason", "expires"],
        "properties": {
            "resource": {"type": "string", "minLength": 1},
            "reason": {"type": "string", "minLength": 1},
            "expires": {"type": "string", "pattern": r"^\d{4}-\d{2}-\d{2}$"},
        },
        "additionalProperties": False,
    },
}

CLUSTER_SCOPED_KINDS = frozenset(
    {
        "Namespace",
        "ClusterRole",
        "ClusterRoleBinding",
        "StorageClass",
        "PersistentVolume",
        "Node",
        "CustomResourceDefinition",
        "PriorityClass",
        "ValidatingWebhookConfiguration",
        "MutatingWebhookConfiguration",
        "IngressClass",
        "RuntimeClass",
        "CSIDriver",
        "VolumeSnapshotClass",
    }
)


@dataclass(frozen=True)
class Exemption:
    resource: str
    reason: str
    expires: date

    def active_on(self, today: date) -> bool:
        return today <= self.expires


def parse_exemptions(value: Any) -> list[Exemption]:
    """Exemptions from a policy's config value (already schema-checked by the engine or scanner)."""
    parsed = []
    for item in mappings(value):
        parsed.append(Exemption(str(item.get("resource")), str(item.get("reason")), date.fromisoformat(str(item.get("expires")))))
    return parsed


def identities(resource: Resource) -> set[str]:
    """Every name an exemption may use for this resource."""
    names = {resource.logical_name}
    try:
        namespace = resource.namespace
    except UnknownValueError:
        return names
    name = resource.name
    if resource.package == "kubernetes" and (namespace or resource.kind not in CLUSTER_SCOPED_KINDS):
        scoped = f"{resource.effective_namespace}/{name}"
    else:
        scoped = name
    names.update({scoped, f"{resource.kind}/{scoped}"})
    return names


def apply_exemptions(
    resource: Resource | None, messages: Sequence[str], exemptions: Sequence[Exemption], today: date
) -> list[str]:
    """The messages that still stand once the resource's exemptions are applied."""
    if not messages or resource is None or not exemptions:
        return list(messages)
    names = identities(resource)
    matching = [exemption for exemption in exemptions if exemption.resource in names]
    if any(exemption.active_on(today) for exemption in matching):
        return []
    expired = [e for e in matching if not e.active_on(today)]
    if not expired:
        return list(messages)
    notes = "; ".join(
        f"exemption for {e.resource} expired on {e.expires.isoformat()} and no longer applies (reason was: {e.reason})"
        for e in expired
    )
    return [f"{message} [{notes}]" for message in messages]
