"""The secret keys `scripts/stack.sh` asks for are the ones the program's config edge needs."""

from __future__ import annotations

import copy

from harness import stack_config

from components.stack_config import secret_keys_needed

ALERTING_KEYS = {"alertPagerDutyRoutingKey", "alertSlackWebhookUrl", "alertSmtpPassword"}
SERVICE_KEYS = {"secretsMasterKey", "memoryStoreApiKey"}


def test_services_and_alerting_receivers_name_the_secrets_a_stack_needs() -> None:
    for stack in ("dev", "prod"):
        assert secret_keys_needed(stack_config(stack)) == SERVICE_KEYS | ALERTING_KEYS


def test_alerting_credentials_are_not_needed_while_monitoring_is_off() -> None:
    config = copy.deepcopy(stack_config("dev"))
    config["monitoring"]["enabled"] = False
    assert secret_keys_needed(config) == SERVICE_KEYS
