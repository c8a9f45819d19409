"""The edge: reads a stack's config once and turns it into a validated PlatformSpec.

Nothing is registered until this succeeds, so bad config never half-deploys.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pulumi
from pulumi.runtime import config as runtime_config
from pydantic import ValidationError

from components.spec import PlatformSpec, StrictModel

PROJECT_NAMESPACE = "phoenix"


class ConfigError(Exception):
    """Bad stack config, described in one message naming stack, field, value and what is allowed."""


@dataclass(frozen=True)
class PlatformConfig:
    spec: PlatformSpec
    # Secret config values by key; they stay Pulumi secrets all the way to the Secret resources.
    secret_values: dict[str, pulumi.Output[str]]


def load_platform_config(stack: str) -> PlatformConfig:
    raw = _project_config()
    secret_keys = {key for key in raw if runtime_config.is_config_secret(f"{PROJECT_NAMESPACE}:{key}")}
    fields = {name: _decode(value) for name, value in raw.items() if name not in secret_keys}
    referenced_secrets = _referenced_secret_keys(fields.get("services")) | _alerting_secret_keys(fields.get("monitoring"))
    problems: list[str] = []

    # Secret keys live at the top level of the namespace beside the fields; any
    # other key is a typo or a leftover and fails like an unknown field would.
    model_fields = {field.alias or name for name, field in PlatformSpec.model_fields.items()}
    spec_input = {key: value for key, value in fields.items() if key not in referenced_secrets or key in model_fields}
    for key in sorted(set(fields) & referenced_secrets - model_fields):
        problems.append(
            f"{PROJECT_NAMESPACE}:{key} is set as plain config; allowed: a Pulumi secret, "
            f"set with `pulumi config set --secret {PROJECT_NAMESPACE}:{key}` (value not shown)"
        )
    for key in sorted(secret_keys - referenced_secrets):
        problems.append(
            f"{PROJECT_NAMESPACE}:{key} is a secret no service lists in its `secrets` and no alerting receiver names; "
            "allowed: remove it"
        )

    try:
        spec = PlatformSpec.model_validate(spec_input)
    except ValidationError as error:
        problems.extend(_describe(issue) for issue in error.errors())
        raise ConfigError(_message(stack, problems)) from None

    for index, service in enumerate(spec.services):
        for secret_index, key in enumerate(service.secrets):
            if key not in secret_keys and key not in fields:
                problems.append(
                    f"{PROJECT_NAMESPACE}:services[{index}].secrets[{secret_index}] = {key!r} names a secret "
                    f"that is not set; allowed: a key set with `pulumi config set --secret {PROJECT_NAMESPACE}:{key}`"
                )
    for path, key in _alerting_secret_references(spec):
        if key not in secret_keys and key not in fields:
            problems.append(
                f"{PROJECT_NAMESPACE}:{path} = {key!r} names a secret that is not set; "
                f"allowed: a key set with `pulumi config set --secret {PROJECT_NAMESPACE}:{key}`"
            )
    if problems:
        raise ConfigError(_message(stack, problems))

    config = pulumi.Config(PROJECT_NAMESPACE)
    return PlatformConfig(spec=spec, secret_values={key: config.require_secret(key) for key in sorted(secret_keys)})


def _project_config() -> dict[str, str]:
    """Every key of the project's namespace, as the engine passed it (structured values as JSON)."""
    # The SDK has no public listing of all keys; these are the two places it reads them from.
    merged = {**runtime_config.get_config_env(), **runtime_config.CONFIG.get()}
    prefix = f"{PROJECT_NAMESPACE}:"
    return {key[len(prefix) :]: value for key, value in merged.items() if key.startswith(prefix)}


def _decode(value: Any) -> Any:
    if isinstance(value, str) and value[:1] in "[{":
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return value


def _referenced_secret_keys(services: Any) -> set[str]:
    if not isinstance(services, list):
        return set()
    return {
        key for service in services if isinstance(service, dict) for key in service.get("secrets") or [] if isinstance(key, str)
    }


# Where alerting receivers name their secret config keys: (integration, key field).
_ALERTING_SECRET_FIELDS = (
    ("email", "authPasswordSecret"),
    ("slack", "webhookUrlSecret"),
    ("pagerDuty", "routingKeySecret"),
)


def _alerting_secret_keys(monitoring: Any) -> set[str]:
    """Secret keys the (not yet validated) monitoring config names, so they count as referenced."""
    alerting = monitoring.get("alerting") if isinstance(monitoring, dict) else None
    if not isinstance(alerting, dict):
        return set()
    keys = set()
    for severity in ("critical", "warning"):
        receiver = alerting.get(severity)
        for integration, field in _ALERTING_SECRET_FIELDS:
            section = receiver.get(integration) if isinstance(receiver, dict) else None
            key = section.get(field) if isinstance(section, dict) else None
            if isinstance(key, str):
                keys.add(key)
    return keys


def secret_keys_needed(fields: dict[str, Any]) -> set[str]:
    """Secret config keys a stack's (not yet validated) fields need set: its services' secrets, and
    its alerting receivers' credentials while monitoring is on. `scripts/stack.sh` asks for these."""
    needed = _referenced_secret_keys(fields.get("services"))
    monitoring = fields.get("monitoring")
    if not isinstance(monitoring, dict) or monitoring.get("enabled", True):
        needed |= _alerting_secret_keys(monitoring)
    return needed


def _alerting_secret_references(spec: PlatformSpec) -> list[tuple[str, str]]:
    """(config path, secret key) for each secret the validated alerting config needs."""
    alerting = spec.monitoring.alerting
    if alerting is None or not spec.monitoring.enabled:
        return []
    references = []
    for severity, receiver in (("critical", alerting.critical), ("warning", alerting.warning)):
        where = f"monitoring.alerting.{severity}"
        if receiver.email is not None and receiver.email.auth_password_secret is not None:
            references.append((f"{where}.email.authPasswordSecret", receiver.email.auth_password_secret))
        if receiver.slack is not None:
            references.append((f"{where}.slack.webhookUrlSecret", receiver.slack.webhook_url_secret))
        if receiver.pager_duty is not None:
            references.append((f"{where}.pagerDuty.routingKeySecret", receiver.pager_duty.routing_key_secret))
    return references


def _describe(issue: Any) -> str:
    location = list(issue["loc"])
    context = issue.get("ctx") or {}
    if issue["type"] == "phoenix_spec":
        location += list(context["path"])
        return f"{_path(location)} = {_show(context['value'])} is not allowed; allowed: {context['allowed']}"
    if issue["type"] == "extra_forbidden":
        return f"{_path(location)} is not a known field; allowed: {_known_fields(location)}"
    if issue["type"] == "missing":
        return f"{_path(location)} is required"
    return f"{_path(location)} = {_show(issue.get('input'))} is not allowed; allowed: {_allowed(issue)}"


def _allowed(issue: Any) -> str:
    message: str = issue["msg"]
    for prefix in ("Value error, ", "Assertion failed, "):
        message = message.removeprefix(prefix)
    return message[:1].lower() + message[1:]


def _path(location: list[Any]) -> str:
    text = PROJECT_NAMESPACE + ":"
    for index, part in enumerate(location):
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += ("." if index else "") + str(part)
    return text


def _known_fields(location: list[Any]) -> str:
    model: Any = PlatformSpec
    for part in location[:-1]:
        if isinstance(part, int):
            continue
        field = next((f for name, f in model.model_fields.items() if (f.alias or name) == part), None)
        annotation = getattr(field, "annotation", None)
        nested = _model_in(annotation)
        if nested is None:
            return "see the config reference in README.md"
        model = nested
    return ", ".join(sorted(f.alias or name for name, f in model.model_fields.items()))


def _model_in(annotation: Any) -> Any:
    """The pydantic model inside an annotation such as `list[ServiceSpec]` or `IngressSpec | None`."""
    if isinstance(annotation, type) and issubclass(annotation, StrictModel):
        return annotation
    for argument in getattr(annotation, "__args__", ()):
        found = _model_in(argument)
        if found is not None:
            return found
    return None


def _show(value: Any) -> str:
    return json.dumps(value) if not isinstance(value, str) else repr(value)


def _message(stack: str, problems: list[str]) -> str:
    lines = "\n".join(f"  - {problem}" for problem in problems)
    return f"stack {stack!r}: invalid config, nothing was deployed:\n{lines}"
