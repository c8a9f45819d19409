"""Secret hygiene: no secret-looking values in ConfigMaps or literal env values, and Secret data
that is a Pulumi secret (encrypted in state) rather than a plaintext literal."""

from __future__ import annotations

import re
from typing import Any

from pulumi_policy import Severity

from policy.fields import mapping, mappings
from policy.model import PolicyConfig, PulumiSecret, Resource, ResourcePolicy, cis, kube, nsa
from policy.pods import POD_BEARING, containers, pod_template

SECRET_NAME = re.compile(
    r"pass(word|wd|phrase)?|secret|token|credential|api[_-]?key|apikey|private[_-]?key|access[_-]?key"
    r"|encryption[_-]?key|signing[_-]?key|master[_-]?key|connection[_-]?string|dsn",
    re.IGNORECASE,
)
# Names that point at a secret rather than hold one (a path, a file, the Secret's name, a URL
# whose credentials, if any, the value patterns catch).
REFERENCE_SUFFIX = re.compile(r"[_.-](file|path|dir|name|ref|url|endpoint|ttl|enabled|length|seconds)$", re.IGNORECASE)
NON_SECRET_VALUE = re.compile(r"^(true|false|yes|no|on|off|enabled|disabled|none|null|\d+|)$", re.IGNORECASE)

SECRET_VALUE_PATTERNS = {
    "a private key": re.compile(r"-----BEGIN ([A-Z0-9]+ )*PRIVATE KEY-----"),
    "an AWS access key": re.compile(r"\b(AKIA|ASIA)[0-9A-Z]{16}\b"),
    "a GitHub token": re.compile(r"\b(gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{22,})"),
    "a Slack token": re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,}"),
    "a Google API key": re.compile(r"\bAIza[0-9A-Za-z_-]{35}\b"),
    "a Stripe key": re.compile(r"\b[rs]k_live_[0-9A-Za-z]{16,}"),
    "a JSON web token": re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}"),
    "a URL with credentials": re.compile(r"\b[a-zA-Z][a-zA-Z0-9+.-]*://[^/\s:@]+:[^/\s@]+@"),
    "a connection string with a password": re.compile(r"(?i)\b(password|pwd)\s*=\s*[^;\s]+"),
}


def secret_value_kind(value: Any) -> str | None:
    """What secret the value looks like (e.g. "a private key"), or None."""
    if not isinstance(value, str):
        return None
    for kind, pattern in SECRET_VALUE_PATTERNS.items():
        if pattern.search(value):
            return kind
    return None


def secret_like_name(name: str) -> bool:
    return bool(SECRET_NAME.search(name)) and not REFERENCE_SUFFIX.search(name)


def secret_like_entry(name: Any, value: Any) -> str | None:
    """Why a (name, literal value) pair looks like a secret, or None."""
    kind = secret_value_kind(value)
    if kind:
        return f"its value looks like {kind}"
    if isinstance(name, str) and isinstance(value, str) and secret_like_name(name) and not NON_SECRET_VALUE.match(value.strip()):
        return "its name says it holds a secret"
    return None


def no_secrets_in_config_maps(resource: Resource, _config: PolicyConfig) -> list[str]:
    messages = []
    for key, value in mapping(resource.props.get("data")).items():
        reason = secret_like_entry(key, value)
        if reason:
            messages.append(f'data key "{key}" looks like a secret ({reason})')
    return messages


def no_secrets_in_env(resource: Resource, _config: PolicyConfig) -> list[str]:
    pod = pod_template(resource)
    if pod is None:
        return []
    messages = []
    for container in containers(pod):
        for variable in mappings(container.spec.get("env")):
            if variable.get("valueFrom") is not None:
                continue
            reason = secret_like_entry(variable.get("name"), variable.get("value"))
            if reason:
                messages.append(f'container "{container.name}" env {variable.get("name")} is a literal secret ({reason})')
    return messages


def secret_data_is_pulumi_secret(resource: Resource, _config: PolicyConfig) -> list[str]:
    messages = []
    for section in ("data", "stringData"):
        for key, value in mapping(resource.props.get(section)).items():
            if isinstance(value, str) and value and not isinstance(value, PulumiSecret):
                messages.append(f'{section} key "{key}" is a plaintext value, not a Pulumi secret')
    return messages


SECRETS_POLICIES = [
    ResourcePolicy(
        name="secrets-no-plaintext-in-config-maps",
        description="ConfigMaps must not hold secret-looking values (passwords, tokens, keys, credentials).",
        severity=Severity.HIGH,
        remediation="Move the value into a Secret whose data comes from a Pulumi secret (pulumi config set --secret) "
        "and mount it as a file.",
        frameworks=(cis("5.4.1"), nsa("Secrets")),
        applies_to=kube("ConfigMap"),
        check=no_secrets_in_config_maps,
    ),
    ResourcePolicy(
        name="secrets-no-plaintext-in-env",
        description="Container env values must not be literal secrets.",
        severity=Severity.HIGH,
        remediation="Replace env[].value with env[].valueFrom.secretKeyRef (or mount the Secret as a file).",
        frameworks=(cis("5.4.1"), nsa("Secrets")),
        applies_to=POD_BEARING,
        check=no_secrets_in_env,
    ),
    ResourcePolicy(
        name="secrets-data-is-pulumi-secret",
        description="Secret data must be Pulumi secrets, never plaintext literals in the program or manifest.",
        severity=Severity.HIGH,
        remediation="Build data/stringData from pulumi.Config().require_secret(...) or pulumi.Output.secret(...); "
        "never commit Secret manifests with literal data.",
        frameworks=(cis("5.4.1"), nsa("Secrets")),
        applies_to=kube("Secret"),
        check=secret_data_is_pulumi_secret,
    ),
]
