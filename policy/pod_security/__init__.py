"""Pod Security Standards, control by control, as Kubernetes' Pod Security Admission decides them.

Each control is a pure function of the pod template (metadata + spec) returning PSA-style
messages; :func:`pss_policy` turns one into a policy over all eight pod-bearing kinds.
"""

from __future__ import annotations

from collections.abc import Callable

from pulumi_policy import Severity

from policy.model import Framework, PolicyConfig, Resource, ResourcePolicy, pss
from policy.pods import POD_BEARING, PodTemplate, pod_template

PodCheck = Callable[[PodTemplate], list[str]]


def pss_policy(
    *,
    name: str,
    level: str,
    control: str,
    description: str,
    severity: Severity,
    remediation: str,
    check: PodCheck,
    references: tuple[Framework, ...] = (),
) -> ResourcePolicy:
    """A policy enforcing one PSA control (``control`` is PSA's check ID, e.g. hostNamespaces)."""

    def check_resource(resource: Resource, _config: PolicyConfig) -> list[str]:
        pod = pod_template(resource)
        if pod is None:
            return []
        return [f"{message} (at {pod.path})" for message in check(pod)]

    return ResourcePolicy(
        name=name,
        description=description,
        severity=severity,
        remediation=remediation,
        frameworks=(pss(level, control), *references),
        applies_to=POD_BEARING,
        check=check_resource,
    )
