"""The JSON Schema of a whole policy config file, built from every policy's tunables.

``python -m policy.config_schema`` prints it; policy/config/schema.json is that output (a test
keeps it current) for editors and reviewers. The engine itself validates each policy's block
against the same per-policy schemas.
"""

from __future__ import annotations

import json
from typing import Any

from policy.config import ALL_POLICIES_KEY, ENFORCEMENT_KEY, schema_properties
from policy.registry import ALL_POLICIES

LEVELS = {"type": "string", "enum": ["advisory", "mandatory", "remediate", "disabled"]}


def pack_config_schema() -> dict[str, Any]:
    properties: dict[str, Any] = {
        ALL_POLICIES_KEY: {
            "description": "Enforcement level of every policy not configured on its own.",
            "oneOf": [LEVELS, {"type": "object", "properties": {ENFORCEMENT_KEY: LEVELS}, "additionalProperties": False}],
        },
    }
    for policy in ALL_POLICIES:
        block = {
            "type": "object",
            "additionalProperties": False,
            "properties": {ENFORCEMENT_KEY: LEVELS, **schema_properties(policy)},
        }
        properties[policy.name] = {"description": policy.description, "oneOf": [LEVELS, block]}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "Phoenix Platform policy pack config (Pulumi policy-config format)",
        "type": "object",
        "additionalProperties": False,
        "properties": properties,
    }


def main() -> None:
    print(json.dumps(pack_config_schema(), indent=2))


if __name__ == "__main__":
    main()
