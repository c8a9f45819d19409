"""Running policies: the one place where a check, its config and its exemptions meet.

Both adapters call :func:`resource_violations` / :func:`stack_violations`; the scanner (and the
tests) also use :func:`evaluate`, which plays the engine's part: enforcement levels, and what to
do when a value is unknown.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from pulumi_policy import EnforcementLevel
from pulumi_policy.proxy import UnknownValueError

from policy.config import PackConfig
from policy.exemptions import apply_exemptions, parse_exemptions
from policy.model import Policy, Resource, ResourcePolicy, StackFinding, StackPolicy


def today() -> date:
    return datetime.now(UTC).date()


def resource_violations(policy: ResourcePolicy, resource: Resource, properties: Mapping[str, Any], on: date) -> list[str]:
    """The policy's messages for one resource after exemptions. Raises UnknownValueError when a
    value the policy needs is unknown (preview)."""
    if not policy.applies(resource):
        return []
    messages = policy.check(resource, properties)
    return apply_exemptions(resource, messages, parse_exemptions(properties.get("exemptions")), on)


def stack_violations(
    policy: StackPolicy, resources: Sequence[Resource], properties: Mapping[str, Any], on: date
) -> list[StackFinding]:
    exemptions = parse_exemptions(properties.get("exemptions"))
    findings: list[StackFinding] = []
    for resource, message in policy.check_stack(resources, properties):
        findings.extend((resource, kept) for kept in apply_exemptions(resource, [message], exemptions, on))
    return findings


@dataclass(frozen=True)
class Finding:
    policy: Policy
    resource: Resource | None
    message: str
    enforcement_level: EnforcementLevel


@dataclass(frozen=True)
class Undetermined:
    """A policy that could not decide because a value it reads is unknown (Pulumi preview)."""

    policy: Policy
    resource: Resource | None
    message: str


@dataclass
class Evaluation:
    findings: list[Finding] = field(default_factory=list)
    undetermined: list[Undetermined] = field(default_factory=list)

    @property
    def mandatory(self) -> list[Finding]:
        return [f for f in self.findings if f.enforcement_level is EnforcementLevel.MANDATORY]

    def fired(self) -> set[str]:
        return {finding.policy.name for finding in self.findings}


def evaluate(resources: Sequence[Resource], policies: Sequence[Policy], config: PackConfig, on: date | None = None) -> Evaluation:
    """Run every enabled policy over the resources the way the Pulumi engine would."""
    on = on or today()
    result = Evaluation()
    for policy in policies:
        level = config.enforcement_level(policy)
        if level is EnforcementLevel.DISABLED:
            continue
        if level is EnforcementLevel.REMEDIATE:
            level = EnforcementLevel.MANDATORY  # nothing here remediates; the SDK reports it as mandatory
        properties = config.properties_for(policy)
        if isinstance(policy, ResourcePolicy):
            for resource in resources:
                try:
                    messages = resource_violations(policy, resource, properties, on)
                except UnknownValueError as unknown:
                    result.undetermined.append(Undetermined(policy, resource, unknown.message))
                    continue
                result.findings.extend(Finding(policy, resource, message, level) for message in messages)
        else:
            try:
                stack_findings = stack_violations(policy, resources, properties, on)
            except UnknownValueError as unknown:
                result.undetermined.append(Undetermined(policy, None, unknown.message))
                continue
            result.findings.extend(Finding(policy, resource, message, level) for resource, message in stack_findings)
    return result
