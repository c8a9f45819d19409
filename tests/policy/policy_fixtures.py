"""Compliant building blocks for policy tests; each test case changes one thing."""

from __future__ import annotations

import copy
from typing import Any

DIGEST = "sha256:" + "0123456789abcdef" * 4
IMAGE = f"ghcr.io/phoenix-orch/api@{DIGEST}"


def container(name: str = "app", **changes: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "name": name,
        "image": IMAGE,
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "capabilities": {"drop": ["ALL"]},
        },
        "resources": {"requests": {"cpu": "100m", "memory": "64Mi"}, "limits": {"cpu": "200m", "memory": "128Mi"}},
        "livenessProbe": {"httpGet": {"path": "/healthz", "port": 8080}},
        "readinessProbe": {"httpGet": {"path": "/ready", "port": 8080}},
    }
    spec.update(changes)
    return spec


def pod_spec(**changes: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "automountServiceAccountToken": False,
        "securityContext": {"runAsNonRoot": True, "runAsUser": 10001, "seccompProfile": {"type": "RuntimeDefault"}},
        "containers": [container()],
    }
    spec.update(changes)
    return spec


def with_security(c: dict[str, Any], **settings: Any) -> dict[str, Any]:
    c = copy.deepcopy(c)
    c["securityContext"].update(settings)
    return c


def deployment(
    spec: dict[str, Any] | None = None,
    name: str = "api",
    namespace: str = "phoenix-prod",
    annotations: dict[str, str] | None = None,
) -> dict[str, Any]:
    template_metadata: dict[str, Any] = {"labels": {"app": name}}
    if annotations:
        template_metadata["annotations"] = annotations
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "selector": {"matchLabels": {"app": name}},
            "template": {"metadata": template_metadata, "spec": spec if spec is not None else pod_spec()},
        },
    }


def cron_job(spec: dict[str, Any] | None = None, name: str = "nightly", namespace: str = "phoenix-prod") -> dict[str, Any]:
    return {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "schedule": "0 3 * * *",
            "jobTemplate": {"spec": {"template": {"spec": spec if spec is not None else pod_spec()}}},
        },
    }


def obj(api_version: str, kind: str, name: str = "x", namespace: str | None = "phoenix-prod", **fields: Any) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": name}
    if namespace:
        metadata["namespace"] = namespace
    return {"apiVersion": api_version, "kind": kind, "metadata": metadata, **fields}
