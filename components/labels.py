"""The labels Phoenix resources carry; selectors and network policies match on them."""

from __future__ import annotations

NAME_LABEL = "app.kubernetes.io/name"


def service_selector(service: str) -> dict[str, str]:
    """Selects the pods of one service (stable across releases, so never a version)."""
    return {NAME_LABEL: service}


def standard_labels(environment: str, service: str | None = None) -> dict[str, str]:
    labels = {
        "app.kubernetes.io/part-of": "phoenix",
        "app.kubernetes.io/managed-by": "pulumi",
        "phoenix.orch/environment": environment,
    }
    if service is not None:
        labels.update(service_selector(service))
    return labels
