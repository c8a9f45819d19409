"""Policy configuration in Pulumi's policy-config format, shared by the pack and the scanner.

A config file maps policy names to an enforcement level or to an object with ``enforcementLevel``
and the policy's tunables; the special key ``all`` sets the level of every policy. Each policy's
tunables are described by a JSON schema (``schema_properties``) that the Pulumi engine validates
and that the scanner checks with :func:`validate_value`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pulumi_policy import EnforcementLevel

from policy.exemptions import EXEMPTIONS_SCHEMA
from policy.model import Policy

ALL_POLICIES_KEY = "all"
ENFORCEMENT_KEY = "enforcementLevel"


class ConfigError(Exception):
    """A config file that cannot be used; the message names the file (and line where known)."""


def schema_properties(policy: Policy) -> dict[str, Mapping[str, Any]]:
    """The JSON-schema properties of a policy's config: its tunables plus exemptions."""
    return {**policy.config_properties, "exemptions": EXEMPTIONS_SCHEMA}


def effective_properties(policy: Policy, given: Mapping[str, Any] | None) -> dict[str, Any]:
    """The policy's config values: schema defaults overlaid with what the config file gives."""
    values = {key: schema["default"] for key, schema in schema_properties(policy).items() if "default" in schema}
    for key, value in (given or {}).items():
        if key != ENFORCEMENT_KEY:
            values[key] = value
    return values


@dataclass(frozen=True)
class PackConfig:
    """A parsed config file: per-policy enforcement levels and properties."""

    levels: Mapping[str, EnforcementLevel] = field(default_factory=dict)
    properties: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    source: str = "<defaults>"

    def enforcement_level(self, policy: Policy) -> EnforcementLevel:
        if policy.name in self.levels:
            return self.levels[policy.name]
        return self.levels.get(ALL_POLICIES_KEY, policy.enforcement_level)

    def properties_for(self, policy: Policy) -> dict[str, Any]:
        return effective_properties(policy, self.properties.get(policy.name))


def _level(value: Any, where: str) -> EnforcementLevel:
    try:
        return EnforcementLevel(value)
    except ValueError:
        choices = ", ".join(level.value for level in EnforcementLevel)
        raise ConfigError(f"{where}: enforcement level {value!r} is not one of {choices}") from None


def parse_pack_config(data: Any, policies: Sequence[Policy], source: str) -> PackConfig:
    if not isinstance(data, Mapping):
        raise ConfigError(f"{source}: expected a JSON object mapping policy names to settings")
    by_name = {policy.name: policy for policy in policies}
    levels: dict[str, EnforcementLevel] = {}
    properties: dict[str, Mapping[str, Any]] = {}
    for name, value in data.items():
        where = f"{source}: {name}"
        if name != ALL_POLICIES_KEY and name not in by_name:
            raise ConfigError(f"{where}: no policy of that name in the pack")
        if isinstance(value, str):
            levels[name] = _level(value, where)
            continue
        if not isinstance(value, Mapping):
            raise ConfigError(f"{where}: expected an enforcement level or an object")
        if ENFORCEMENT_KEY in value:
            levels[name] = _level(value[ENFORCEMENT_KEY], where)
        given = {key: item for key, item in value.items() if key != ENFORCEMENT_KEY}
        if name == ALL_POLICIES_KEY:
            if given:
                raise ConfigError(f"{where}: only enforcementLevel may be set for all policies")
            continue
        schema = schema_properties(by_name[name])
        for key, item in given.items():
            if key not in schema:
                raise ConfigError(f"{where}: unknown property {key!r} (known: {', '.join(sorted(schema))})")
            problems = validate_value(item, schema[key], f"{name}.{key}")
            if problems:
                raise ConfigError(f"{source}: {problems[0]}")
        properties[name] = given
    return PackConfig(levels, properties, source)


def load_pack_config(path: Path, policies: Sequence[Policy]) -> PackConfig:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise ConfigError(f"{path}: cannot read config: {error.strerror}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise ConfigError(f"{path}:{error.lineno}: invalid JSON: {error.msg}") from None
    return parse_pack_config(data, policies, str(path))


_JSON_TYPES: Mapping[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "array": (list, tuple),
    "object": (dict, Mapping),
}


def validate_value(value: Any, schema: Mapping[str, Any], where: str) -> list[str]:
    """The subset of JSON Schema our tunables use: type, enum, minimum, minLength, pattern, items,
    properties, required, additionalProperties."""
    expected = schema.get("type")
    if expected:
        types = _JSON_TYPES[expected]
        if not isinstance(value, types) or (expected in ("integer", "number") and isinstance(value, bool)):
            return [f"{where}: expected {expected}, got {json.dumps(value)}"]
    problems: list[str] = []
    if "enum" in schema and value not in schema["enum"]:
        problems.append(f"{where}: {json.dumps(value)} is not one of {json.dumps(schema['enum'])}")
    if "minimum" in schema and isinstance(value, (int, float)) and value < schema["minimum"]:
        problems.append(f"{where}: {value} is below the minimum {schema['minimum']}")
    if isinstance(value, str):
        if len(value) < schema.get("minLength", 0):
            problems.append(f"{where}: must not be empty")
        if "pattern" in schema and not re.search(schema["pattern"], value):
            problems.append(f"{where}: {value!r} does not match {schema['pattern']}")
    if isinstance(value, (list, tuple)) and "items" in schema:
        for index, item in enumerate(value):
            problems += validate_value(item, schema["items"], f"{where}[{index}]")
    if isinstance(value, Mapping):
        props = schema.get("properties", {})
        for key in schema.get("required", []):
            if key not in value:
                problems.append(f"{where}: missing {key}")
        for key, item in value.items():
            if key in props:
                problems += validate_value(item, props[key], f"{where}.{key}")
            elif schema.get("additionalProperties") is False:
                problems.append(f"{where}: unknown property {key!r}")
            elif isinstance(schema.get("additionalProperties"), Mapping):
                problems += validate_value(item, schema["additionalProperties"], f"{where}.{key}")
    return problems
