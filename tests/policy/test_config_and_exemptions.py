"""Policy config files (Pulumi's format) and exemptions with expiry."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from policy_fixtures import deployment, pod_spec
from policy_testkit import run
from pulumi_policy import EnforcementLevel

from policy.config import ConfigError, PackConfig, load_pack_config, parse_pack_config, validate_value
from policy.config_schema import pack_config_schema
from policy.registry import ALL_POLICIES, POLICIES_BY_NAME

CONFIG_DIR = Path(__file__).resolve().parents[2] / "policy" / "config"
TOKEN_POLICY = "workload-service-account-token-automount"
MOUNTING = deployment(pod_spec(automountServiceAccountToken=True), name="legacy")


def exemption(expires: str, resource: str = "phoenix-prod/legacy") -> dict[str, Any]:
    return {"exemptions": [{"resource": resource, "reason": "migrating to projected tokens (TICKET-12)", "expires": expires}]}


@pytest.mark.parametrize(
    ("config", "on", "expected"),
    [
        (exemption("2027-01-31"), date(2027, 1, 31), "exempt"),
        (exemption("2027-01-31", resource="Deployment/phoenix-prod/legacy"), date(2026, 12, 1), "exempt"),
        (exemption("2027-01-31", resource="subject"), date(2026, 12, 1), "exempt"),  # the Pulumi resource name
        (exemption("2026-11-30"), date(2026, 12, 1), "expired"),
        (exemption("2027-01-31", resource="phoenix-prod/other"), date(2026, 12, 1), "violation"),
    ],
)
def test_exemption(config: dict[str, Any], on: date, expected: str) -> None:
    messages = run(TOKEN_POLICY, MOUNTING, config, on=on)
    if expected == "exempt":
        assert messages == []
    elif expected == "expired":
        assert messages and all("expired on 2026-11-30 and no longer applies" in m for m in messages)
    else:
        assert messages and not any("exemption" in m for m in messages)


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_shipped_configs_load_and_allow_the_orchestrator(stack: str) -> None:
    config = load_pack_config(CONFIG_DIR / f"{stack}.json", ALL_POLICIES)
    token = POLICIES_BY_NAME[TOKEN_POLICY]
    assert config.properties_for(token)["allowedWorkloads"] == [f"phoenix-{stack}/orchestrator"]
    assert config.properties_for(POLICIES_BY_NAME["image-allowed-registry"])["allowedRegistries"] == ["ghcr.io/phoenix-orch/"]
    floor = config.properties_for(POLICIES_BY_NAME["availability-hpa-min-replicas"])["minReplicas"]
    assert floor == (1 if stack == "dev" else 2)


def test_dev_is_advisory_for_hygiene_and_mandatory_for_security() -> None:
    dev = load_pack_config(CONFIG_DIR / "dev.json", ALL_POLICIES)
    assert dev.enforcement_level(POLICIES_BY_NAME["workload-liveness-readiness-probes"]) is EnforcementLevel.ADVISORY
    assert dev.enforcement_level(POLICIES_BY_NAME["pss-baseline-privileged"]) is EnforcementLevel.MANDATORY


def test_enforcement_level_precedence() -> None:
    policy = POLICIES_BY_NAME["pss-baseline-privileged"]
    config = parse_pack_config({"all": "advisory", policy.name: {"enforcementLevel": "disabled"}}, ALL_POLICIES, "t")
    assert config.enforcement_level(policy) is EnforcementLevel.DISABLED
    assert config.enforcement_level(POLICIES_BY_NAME["pss-baseline-sysctls"]) is EnforcementLevel.ADVISORY
    assert PackConfig().enforcement_level(policy) is EnforcementLevel.MANDATORY


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        ({"no-such-policy": "mandatory"}, "no policy of that name"),
        ({"all": "sometimes"}, "enforcement level"),
        ({"availability-hpa-min-replicas": {"minReplicas": "two"}}, "expected integer"),
        ({"availability-hpa-min-replicas": {"minReplicas": 0}}, "below the minimum"),
        ({"image-allowed-registry": {"registries": []}}, "unknown property"),
        ({TOKEN_POLICY: {"exemptions": [{"resource": "a/b", "reason": "r"}]}}, "missing expires"),
        ({TOKEN_POLICY: {"exemptions": [{"resource": "a/b", "reason": "r", "expires": "soon"}]}}, "does not match"),
    ],
)
def test_bad_config_is_rejected_with_a_reason(data: dict[str, Any], fragment: str) -> None:
    with pytest.raises(ConfigError, match=fragment):
        parse_pack_config(data, ALL_POLICIES, "cfg.json")


def test_invalid_json_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text('{\n  "all": "mandatory",\n  oops\n}\n')
    with pytest.raises(ConfigError, match=r"bad\.json:3: invalid JSON"):
        load_pack_config(path, ALL_POLICIES)


def test_every_tunable_has_a_schema_with_a_default_and_description() -> None:
    for policy in ALL_POLICIES:
        for name, schema in policy.config_properties.items():
            assert "type" in schema and "description" in schema and "default" in schema, (policy.name, name)
            assert not validate_value(schema["default"], schema, name), (policy.name, name)


def test_published_schema_is_current() -> None:
    assert json.loads((CONFIG_DIR / "schema.json").read_text()) == pack_config_schema()
