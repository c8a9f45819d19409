"""Bad monitoring config fails like any bad config: one message naming the field, the value and what
is allowed, and nothing registered; alerting credentials must be set, and as Pulumi secrets."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest
from harness import TEST_SECRET_VALUES, run_program, stack_config

Config = dict[str, Any]


def edit(stack: str, change: Callable[[Config], None]) -> Config:
    config = copy.deepcopy(stack_config(stack))
    change(config)
    return config


def thresholds(config: Config, **values: Any) -> None:
    config["monitoring"]["thresholds"] = values


CASES: list[tuple[str, str, Callable[[Config], None], list[str]]] = [
    (
        "critical not above warning",
        "prod",
        lambda c: thresholds(c, containerCpu={"warning": {"percent": 90, "for": "5m"}, "critical": {"percent": 90, "for": "2m"}}),
        ["phoenix:monitoring.thresholds.containerCpu.critical.percent", "= 90", "above the warning one (90)"],
    ),
    (
        "percent over 100",
        "dev",
        lambda c: thresholds(c, nodeDisk={"percent": 120, "for": "5m"}),
        ["phoenix:monitoring.thresholds.nodeDisk.percent", "120", "less than or equal to 100"],
    ),
    (
        "malformed duration",
        "dev",
        lambda c: thresholds(c, nodeCpu={"percent": 80, "for": "5 minutes"}),
        ["phoenix:monitoring.thresholds.nodeCpu.for", "'5 minutes'"],
    ),
    (
        "unknown threshold",
        "dev",
        lambda c: thresholds(c, gpu={"percent": 80}),
        ["phoenix:monitoring.thresholds.gpu", "not a known field", "containerCpu"],
    ),
    (
        "receiver without integration",
        "prod",
        lambda c: c["monitoring"]["alerting"].update(critical={"repeatInterval": "1h"}),
        ["phoenix:monitoring.alerting.critical.email", "at least one of email, slack or pagerDuty"],
    ),
    (
        "bad slack channel",
        "dev",
        lambda c: c["monitoring"]["alerting"]["warning"]["slack"].update(channel="phoenix alerts"),
        ["phoenix:monitoring.alerting.warning.slack.channel", "'phoenix alerts'"],
    ),
    (
        "metrics port is the service port",
        "dev",
        lambda c: c["services"][1].update(metricsPort=8443),
        ["phoenix:services[1].metricsPort", "= 8443", "a port other than the service port (8443)"],
    ),
]


@pytest.mark.parametrize(("case", "stack", "change", "fragments"), CASES, ids=[c[0] for c in CASES])
def test_bad_monitoring_config_fails_clearly_and_registers_nothing(
    case: str, stack: str, change: Callable[[Config], None], fragments: list[str]
) -> None:
    result = run_program(stack, config=edit(stack, change))
    assert result.error is not None, f"{case}: the program accepted bad config"
    message = str(result.error)
    assert "nothing was deployed" in message
    for fragment in fragments:
        assert fragment in message, f"{case}: {fragment!r} missing from:\n{message}"
    assert result.resources == []


def test_missing_alerting_secret_names_the_receiver_and_the_key_to_set() -> None:
    secrets = {k: v for k, v in TEST_SECRET_VALUES.items() if k != "alertPagerDutyRoutingKey"}
    result = run_program("prod", secrets=secrets)
    assert result.error is not None
    message = str(result.error)
    assert "phoenix:monitoring.alerting.critical.pagerDuty.routingKeySecret = 'alertPagerDutyRoutingKey'" in message
    assert "pulumi config set --secret phoenix:alertPagerDutyRoutingKey" in message
    assert result.resources == []


def test_alerting_secret_given_as_plain_config_is_refused_without_echoing_it() -> None:
    config = stack_config("dev")
    config["alertSmtpPassword"] = "plain-smtp-password"
    secrets = {k: v for k, v in TEST_SECRET_VALUES.items() if k != "alertSmtpPassword"}
    result = run_program("dev", config=config, secrets=secrets)
    assert result.error is not None
    message = str(result.error)
    assert "phoenix:alertSmtpPassword is set as plain config" in message
    assert "plain-smtp-password" not in message
    assert result.resources == []


def test_a_secret_no_one_names_is_refused() -> None:
    result = run_program("dev", secrets={**TEST_SECRET_VALUES, "alertOpsGenieKey": "unused"})
    assert result.error is not None
    assert "phoenix:alertOpsGenieKey is a secret no service lists" in str(result.error)
