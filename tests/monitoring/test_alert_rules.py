"""The PrometheusRule the program registers, checked and unit-tested by promtool.

`promtool check rules` validates the rule file; `promtool test rules` runs each alert
against input series at its boundaries: just above a threshold it fires exactly when its
duration has passed (and is silent one evaluation before), just below it never fires, and
its labels and annotations (severity, service, environment; summary, the measured value,
the runbook) are exactly as specified. For dev, prod, and dev with every threshold overridden.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import pytest
from harness import run_program, stack_config
from monitoring_testkit import (
    OVERRIDES,
    Case,
    all_cases,
    config_with_thresholds,
    platform_spec,
    promtool_test_file,
    run_tool,
    write_yaml,
)

from components import alert_rules
from components.spec import PlatformSpec

VARIANTS: dict[str, dict[str, Any]] = {
    "dev": stack_config("dev"),
    "prod": stack_config("prod"),
    "dev-overridden": config_with_thresholds("dev", OVERRIDES),
}


def _stack(variant: str) -> str:
    return variant.split("-", 1)[0]


@cache
def registered_groups(variant: str) -> list[dict[str, Any]]:
    """The rule groups of the PrometheusRule the real program registers under mocks."""
    result = run_program(_stack(variant), config=VARIANTS[variant])
    assert result.error is None, result.error
    (rule,) = result.of_type("kubernetes:monitoring.coreos.com/v1:PrometheusRule")
    groups: list[dict[str, Any]] = rule.props["spec"]["groups"]
    return groups


@cache
def spec_of(variant: str) -> PlatformSpec:
    return platform_spec(VARIANTS[variant])


def rule_file(variant: str, directory: Path) -> Path:
    return write_yaml(directory / f"{variant}-rules.yaml", {"groups": registered_groups(variant)})


def _cases() -> list[tuple[str, Case]]:
    return [
        (variant, case) for variant in VARIANTS for case in all_cases(spec_of(variant), alert_rules.rule_groups(spec_of(variant)))
    ]


CASES = _cases()


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_promtool_check_rules_accepts_the_registered_rules(variant: str, tmp_path: Path) -> None:
    path = rule_file(variant, tmp_path)
    checked = run_tool("promtool", "check", "rules", str(path))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    count = sum(len(group["rules"]) for group in registered_groups(variant))
    assert f"SUCCESS: {count} rules found" in checked.stdout
    # 5 rules per service (CPU and memory at two severities, restarts), 3 for the hosts.
    assert count == 5 * len(spec_of(variant).services) + 3


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_registered_rules_are_the_shared_rule_source(variant: str) -> None:
    # What promtool tests below (generated from components.alert_rules) is what the program deploys.
    assert registered_groups(variant) == alert_rules.rule_groups(spec_of(variant))


@pytest.mark.parametrize(("variant", "case"), CASES, ids=[f"{variant}-{case.name}" for variant, case in CASES])
def test_promtool_unit_test_at_the_boundary(variant: str, case: Case, tmp_path: Path) -> None:
    rules = rule_file(variant, tmp_path)
    test_file = write_yaml(tmp_path / "test.yaml", promtool_test_file(case, rules, spec_of(variant)))
    tested = run_tool("promtool", "test", "rules", str(test_file))
    assert tested.returncode == 0, f"{tested.stdout}\n{tested.stderr}\n{test_file.read_text()}"
    assert "SUCCESS" in tested.stdout


def test_every_alert_has_a_firing_and_a_silent_boundary_case() -> None:
    for variant in VARIANTS:
        cases = [case for v, case in CASES if v == variant]
        for alert in (*alert_rules.CONTAINER_ALERTS, *alert_rules.NODE_ALERTS):
            mine = [case for case in cases if case.alertname == alert]
            assert any(any(firing for firing in case.expected.values()) for case in mine), (variant, alert)
            assert any(not any(case.expected.values()) for case in mine), (variant, alert)
        for severity in ("warning", "critical"):
            for alert in (alert_rules.CPU_ALERT, alert_rules.MEMORY_ALERT):
                assert any(
                    severity in {s for firing in case.expected.values() for s, _ in firing}
                    for case in cases
                    if case.alertname == alert
                ), (variant, alert, severity)


def test_a_broken_expectation_fails_promtool(tmp_path: Path) -> None:
    # The unit tests can fail: the same case with the duration one evaluation shorter does.
    variant = "dev"
    case = next(c for v, c in CASES if v == variant and c.name.endswith("memory-just-above-warning"))
    first_firing = min(at for at, firing in case.expected.items() if firing)
    broken = Case(
        name="broken",
        alertname=case.alertname,
        input_series=case.input_series,
        expected={first_firing - 30: case.expected[first_firing]},
        labels=case.labels,
        rules=case.rules,
    )
    rules = rule_file(variant, tmp_path)
    test_file = write_yaml(tmp_path / "test.yaml", promtool_test_file(broken, rules, spec_of(variant)))
    tested = run_tool("promtool", "test", "rules", str(test_file))
    assert tested.returncode != 0
    assert "FAILED" in tested.stdout + tested.stderr
