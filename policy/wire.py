"""How properties arrive from the Pulumi engine, and how to keep their secretness.

The engine sends secrets to analyzers wrapped as ``{SIG: SECRET_SIG, "value": ...}``; the policy
SDK unwraps them and forgets they were secret. :func:`mark_secrets` unwraps them itself and turns
every string inside a secret into a :class:`~policy.model.PulumiSecret`, so the secrets policy can
tell a Pulumi secret from a plaintext literal.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from google.protobuf import json_format, struct_pb2
from pulumi_policy.deserialize import deserialize_properties
from pulumi_policy.proxy import unknown_checking_proxy

from policy.model import PulumiSecret

SIG_KEY = "4dabf18193072939515e22adb298388d"
SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270"


def _is_secret(value: Any) -> bool:
    return isinstance(value, Mapping) and value.get(SIG_KEY) == SECRET_SIG


def _as_secret(value: Any) -> Any:
    if isinstance(value, str):
        return PulumiSecret(value)
    if isinstance(value, list):
        return [_as_secret(item) for item in value]
    if isinstance(value, dict):
        return {key: _as_secret(mark_secrets(item)) for key, item in value.items()}
    return value


def mark_secrets(value: Any) -> Any:
    """Engine-serialized properties with secret wrappers replaced by PulumiSecret-marked values."""
    if _is_secret(value):
        return _as_secret(mark_secrets(value.get("value")))
    if isinstance(value, list):
        return [mark_secrets(item) for item in value]
    if isinstance(value, dict):
        return {key: mark_secrets(item) for key, item in value.items()}
    return value


def runtime_props(serialized: Mapping[str, Any]) -> Mapping[str, Any]:
    """Properties exactly as a policy sees them at run time: through a protobuf Struct (numbers
    become floats), deserialized by the SDK with secret strings marked, and wrapped in its
    unknown-checking proxy."""
    struct = struct_pb2.Struct()
    struct.update(dict(serialized))
    props: Mapping[str, Any] = unknown_checking_proxy(deserialize_properties(mark_secrets(json_format.MessageToDict(struct))))
    return props
