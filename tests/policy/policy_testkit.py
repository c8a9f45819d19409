"""Helpers for the policy tests: run policies on manifests exactly as the runtime presents them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from policy.config import effective_properties
from policy.evaluation import resource_violations, stack_violations
from policy.model import Policy, Resource, ResourcePolicy, StackPolicy
from policy.registry import POLICIES_BY_NAME
from policy.scan import type_token
from policy.wire import runtime_props

TODAY = date(2026, 12, 3)


def resource(manifest: Mapping[str, Any], token: str | None = None, name: str = "subject") -> Resource:
    """A resource whose props go through the SDK's deserializer and unknown-checking proxy."""
    if token is None:
        token = type_token(str(manifest["apiVersion"]), str(manifest["kind"]))
    return Resource(token, runtime_props(dict(manifest)), name)


def run(
    policy_name: str,
    manifest: Mapping[str, Any],
    config: Mapping[str, Any] | None = None,
    token: str | None = None,
    on: date = TODAY,
) -> list[str]:
    policy = POLICIES_BY_NAME[policy_name]
    assert isinstance(policy, ResourcePolicy)
    return resource_violations(policy, resource(manifest, token), effective_properties(policy, config), on)


def run_stack(
    policy_name: str, manifests: Sequence[Mapping[str, Any]], config: Mapping[str, Any] | None = None, on: date = TODAY
) -> list[tuple[Resource | None, str]]:
    policy: Policy = POLICIES_BY_NAME[policy_name]
    assert isinstance(policy, StackPolicy)
    resources = [resource(m, name=f"r{i}") for i, m in enumerate(manifests)]
    return stack_violations(policy, resources, effective_properties(policy, config), on)


def pod(spec: Mapping[str, Any], metadata: Mapping[str, Any] | None = None) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": dict(metadata or {"name": "p", "namespace": "apps"}),
        "spec": dict(spec),
    }


def deployment(
    pod_spec: Mapping[str, Any], name: str = "web", namespace: str = "apps", template_metadata: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "selector": {"matchLabels": {"app": name}},
            "template": {"metadata": dict(template_metadata or {"labels": {"app": name}}), "spec": dict(pod_spec)},
        },
    }


SECRET_WRAPPER_KEY = "4dabf18193072939515e22adb298388d"
SECRET_WRAPPER_SIG = "1b47061264138c4ac30d75fd1eb44270"


def _rewrap_secrets(value: Any, secret_paths: set[str], path: str = "") -> Any:
    """Put the engine's secret markers back where the program made values secret (the harness
    records their dotted paths and strips the markers), so props look as the engine sends them."""
    if path in secret_paths:
        return {SECRET_WRAPPER_KEY: SECRET_WRAPPER_SIG, "value": value}
    if isinstance(value, dict):
        return {k: _rewrap_secrets(v, secret_paths, f"{path}.{k}" if path else k) for k, v in value.items()}
    if isinstance(value, list):
        return [_rewrap_secrets(v, secret_paths, f"{path}[{i}]") for i, v in enumerate(value)]
    return value


def program_resources(registered: Sequence[Any]) -> list[Resource]:
    """Custom resources a harness run registered, as the policy runtime presents them."""
    return [
        Resource(r.type_, runtime_props(_rewrap_secrets(r.props, set(r.secret_paths))), r.name, f"urn:{r.type_}::{r.name}")
        for r in registered
        if r.custom
    ]
