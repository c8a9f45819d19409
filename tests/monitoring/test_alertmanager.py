"""The stack's Alertmanager routing, checked by Alertmanager's own tools.

`amtool check-config` validates the configuration; `amtool config routes test` proves
critical and warning alerts reach different receivers and other namespaces reach
neither; a real Alertmanager (on 127.0.0.1, notifying no one) proves a critical alert
inhibits the warning of the same alert and container, and nothing else. The
AlertmanagerConfig the program registers carries the same routing tree.
"""

from __future__ import annotations

import json
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from harness import TEST_SECRET_VALUES, run_program, stack_config
from monitoring_testkit import platform_spec, run_tool, tool, write_yaml

from components import alert_routing
from components.alert_rules import CPU_ALERT, MEMORY_ALERT, RESTART_ALERT
from components.spec import PlatformSpec

STACKS = ["dev", "prod"]


@cache
def spec_of(stack: str) -> PlatformSpec:
    return platform_spec(stack_config(stack))


def credentials(spec: PlatformSpec) -> dict[str, str]:
    return {key: TEST_SECRET_VALUES[config_key] for key, config_key in alert_routing.secret_entries(spec).items()}


def config_file(stack: str, directory: Path, integrations: bool = True) -> Path:
    spec = spec_of(stack)
    return write_yaml(
        directory / f"{stack}-alertmanager.yaml", alert_routing.alertmanager_yaml(spec, credentials(spec), integrations)
    )


@pytest.mark.parametrize("stack", STACKS)
def test_amtool_check_config_accepts_the_routing(stack: str, tmp_path: Path) -> None:
    path = config_file(stack, tmp_path)
    checked = run_tool("amtool", "check-config", str(path))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "SUCCESS" in checked.stdout
    # Every integration the stack configures is there: PagerDuty and Slack for critical,
    # Slack and email for warnings.
    assert " - 1 inhibit rules" in checked.stdout
    assert " - 3 receivers" in checked.stdout  # unrouted, critical, warning
    document = alert_routing.alertmanager_yaml(spec_of(stack), credentials(spec_of(stack)))
    receivers = {receiver["name"]: set(receiver) - {"name"} for receiver in document["receivers"]}
    assert receivers[alert_routing.receiver_name(spec_of(stack), "critical")] == {"pagerduty_configs", "slack_configs"}
    assert receivers[alert_routing.receiver_name(spec_of(stack), "warning")] == {"slack_configs", "email_configs"}


def test_amtool_check_config_rejects_a_broken_routing(tmp_path: Path) -> None:
    spec = spec_of("dev")
    document = alert_routing.alertmanager_yaml(spec, credentials(spec))
    document["route"]["routes"][0]["routes"][0]["receiver"] = "nobody"
    checked = run_tool("amtool", "check-config", str(write_yaml(tmp_path / "broken.yaml", document)))
    assert checked.returncode != 0
    assert "nobody" in checked.stdout + checked.stderr


@pytest.mark.parametrize("template", ["SLACK_TITLE", "SLACK_TEXT", "PAGERDUTY_DESCRIPTION"])
def test_notification_templates_render(template: str, tmp_path: Path) -> None:
    # amtool check-config does not parse the receivers' templates; amtool template render does.
    (tmp_path / "none.tmpl").write_text('{{ define "none" }}{{ end }}')
    text = getattr(alert_routing, template)
    rendered = run_tool("amtool", "template", "render", f"--template.glob={tmp_path / 'none.tmpl'}", f"--template.text={text}")
    assert rendered.returncode == 0, rendered.stdout + rendered.stderr


def _route(path: Path, *labels: str) -> str:
    routed = run_tool("amtool", "config", "routes", "test", f"--config.file={path}", *labels)
    assert routed.returncode == 0, routed.stdout + routed.stderr
    return routed.stdout.strip()


@pytest.mark.parametrize("stack", STACKS)
def test_critical_and_warning_reach_different_receivers(stack: str, tmp_path: Path) -> None:
    spec = spec_of(stack)
    path = config_file(stack, tmp_path)
    common = [f"namespace={spec.namespace}", f"environment={spec.environment}", "service=orchestrator"]
    critical = alert_routing.receiver_name(spec, "critical")
    warning = alert_routing.receiver_name(spec, "warning")
    assert critical != warning
    assert _route(path, f"alertname={CPU_ALERT}", "severity=critical", *common) == critical
    assert _route(path, f"alertname={CPU_ALERT}", "severity=warning", *common) == warning
    assert _route(path, f"alertname={RESTART_ALERT}", "severity=warning", *common) == warning
    # Anything else of the stack still reaches someone; other namespaces are not its alerts.
    assert _route(path, "alertname=Other", "severity=info", *common) == warning
    assert _route(path, f"alertname={CPU_ALERT}", "severity=critical", "namespace=elsewhere") == alert_routing.UNROUTED_RECEIVER


# --- A running Alertmanager ------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture
def alertmanager(tmp_path: Path) -> Iterator[str]:
    """An Alertmanager with dev's routing and inhibition but receivers that notify no one."""
    binary = tool("prometheus-alertmanager")
    config = config_file("dev", tmp_path, integrations=False)
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    process = subprocess.Popen(
        [
            binary,
            f"--config.file={config}",
            f"--storage.path={tmp_path / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--cluster.listen-address=",
        ],
        stdout=subprocess.DEVNULL,
        stderr=(tmp_path / "alertmanager.log").open("w"),
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"{url}/-/ready", timeout=1) as response:
                    if response.status == 200:
                        break
            except (urllib.error.URLError, ConnectionError):
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"Alertmanager did not start:\n{(tmp_path / 'alertmanager.log').read_text()}")
            time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def _add(url: str, alertname: str, severity: str, **labels: str) -> None:
    spec = spec_of("dev")
    every = {"alertname": alertname, "severity": severity, "environment": spec.environment, "namespace": spec.namespace, **labels}
    added = run_tool("amtool", "alert", "add", f"--alertmanager.url={url}", *(f"{k}={v}" for k, v in every.items()))
    assert added.returncode == 0, added.stdout + added.stderr


def _alerts(url: str) -> list[dict[str, Any]]:
    queried = run_tool("amtool", "alert", "query", f"--alertmanager.url={url}", "--active", "--inhibited", "-o", "json")
    assert queried.returncode == 0, queried.stdout + queried.stderr
    alerts: list[dict[str, Any]] = json.loads(queried.stdout)
    return alerts


def test_a_critical_alert_inhibits_the_matching_warning_only(alertmanager: str) -> None:
    pod = {"service": "orchestrator", "container": "orchestrator", "pod": "orchestrator-7c9d8b6f5d-q4x2m"}
    other_pod = {**pod, "pod": "orchestrator-7c9d8b6f5d-zz9k1"}
    _add(alertmanager, CPU_ALERT, "warning", **pod)
    _add(alertmanager, CPU_ALERT, "warning", **other_pod)
    _add(alertmanager, MEMORY_ALERT, "warning", **pod)
    _add(alertmanager, RESTART_ALERT, "warning", service="orchestrator", container="orchestrator")
    before = _alerts(alertmanager)
    assert len(before) == 4 and all(alert["status"]["state"] == "active" for alert in before)

    _add(alertmanager, CPU_ALERT, "critical", **pod)
    states: dict[tuple[str, str, str], dict[str, Any]] = {}
    for alert in _alerts(alertmanager):
        labels = alert["labels"]
        states[(labels["alertname"], labels["severity"], labels.get("pod", ""))] = alert["status"]
    assert len(states) == 5
    inhibited = states[(CPU_ALERT, "warning", pod["pod"])]
    assert inhibited["state"] == "suppressed" and inhibited["inhibitedBy"], inhibited
    # The critical fires; the same alert of another pod, another alert of the same pod and
    # the service's restarts are not covered by it.
    assert states[(CPU_ALERT, "critical", pod["pod"])]["state"] == "active"
    for key in ((CPU_ALERT, "warning", other_pod["pod"]), (MEMORY_ALERT, "warning", pod["pod"]), (RESTART_ALERT, "warning", "")):
        assert states[key]["state"] == "active", (key, states[key])
        assert not states[key]["inhibitedBy"]


def _groups(url: str) -> list[dict[str, Any]]:
    # Alertmanager's own API: amtool has no command for groups.
    with urllib.request.urlopen(f"{url}/api/v2/alerts/groups", timeout=5) as response:
        groups: list[dict[str, Any]] = json.loads(response.read())
        return groups


def test_alerts_are_grouped_and_deduplicated(alertmanager: str) -> None:
    spec = spec_of("dev")
    assert spec.monitoring.alerting is not None
    group_by = spec.monitoring.alerting.group_by
    pods = [f"orchestrator-7c9d8b6f5d-{suffix}" for suffix in ("q4x2m", "zz9k1")]
    for pod in pods:
        # Twice each, as two Prometheus replicas send every alert.
        for _ in range(2):
            _add(alertmanager, MEMORY_ALERT, "warning", service="orchestrator", container="orchestrator", pod=pod)
    _add(alertmanager, MEMORY_ALERT, "warning", service="memory", container="memory", pod="memory-6b7c8d9f4-abcde")
    assert len(_alerts(alertmanager)) == 3, "the same alert twice is one alert"
    groups = {
        (group["receiver"]["name"], tuple(sorted(group["labels"].items()))): len(group["alerts"])
        for group in _groups(alertmanager)
    }
    warning = alert_routing.receiver_name(spec, "warning")

    def key(service: str) -> tuple[str, tuple[tuple[str, str], ...]]:
        labels = {"alertname": MEMORY_ALERT, "environment": spec.environment, "service": service}
        return warning, tuple(sorted((name, labels[name]) for name in group_by))

    # One notification group per alert and service, with both pods in it.
    assert groups == {key("orchestrator"): 2, key("memory"): 1}


# --- The registered AlertmanagerConfig -------------------------------------------------------


@cache
def registered(stack: str) -> dict[str, Any]:
    result = run_program(stack)
    assert result.error is None, result.error
    (config,) = result.of_type("kubernetes:monitoring.coreos.com/v1alpha1:AlertmanagerConfig")
    props: dict[str, Any] = config.props
    return props


def _matchers(cr_matchers: list[dict[str, str]]) -> list[str]:
    assert all(matcher["matchType"] == "=" for matcher in cr_matchers)
    return [f'{matcher["name"]}="{matcher["value"]}"' for matcher in cr_matchers]


@pytest.mark.parametrize("stack", STACKS)
def test_registered_alertmanager_config_is_the_checked_routing(stack: str) -> None:
    spec = spec_of(stack)
    cr = registered(stack)["spec"]
    plain = alert_routing.alertmanager_yaml(spec, credentials(spec))
    (stack_route,) = plain["route"]["routes"]
    assert cr["route"]["receiver"] == stack_route["receiver"]
    assert cr["route"]["groupBy"] == plain["route"]["group_by"]
    assert (cr["route"]["groupWait"], cr["route"]["groupInterval"], cr["route"]["repeatInterval"]) == (
        plain["route"]["group_wait"],
        plain["route"]["group_interval"],
        plain["route"]["repeat_interval"],
    )
    assert [(r["receiver"], _matchers(r["matchers"]), r.get("repeatInterval")) for r in cr["route"]["routes"]] == [
        (r["receiver"], r["matchers"], r.get("repeat_interval")) for r in stack_route["routes"]
    ]
    (rule,) = cr["inhibitRules"]
    (plain_rule,) = plain["inhibit_rules"]
    # The operator adds the namespace matcher to an AlertmanagerConfig's routes and inhibit rules.
    namespace = f'namespace="{spec.namespace}"'
    assert [*_matchers(rule["sourceMatch"]), namespace] == plain_rule["source_matchers"]
    assert [*_matchers(rule["targetMatch"]), namespace] == plain_rule["target_matchers"]
    assert rule["equal"] == plain_rule["equal"]
    plain_receivers = {r["name"]: r for r in plain["receivers"]}
    for receiver in cr["receivers"]:
        mine = plain_receivers[receiver["name"]]
        kinds = {"pagerdutyConfigs": "pagerduty_configs", "slackConfigs": "slack_configs", "emailConfigs": "email_configs"}
        assert {kinds[k] for k in receiver if k != "name"} == {k for k in mine if k != "name"}


@pytest.mark.parametrize("stack", STACKS)
def test_receiver_credentials_are_secret_references_never_values(stack: str) -> None:
    spec = spec_of(stack)
    props = registered(stack)
    text = json.dumps(props)
    for value in TEST_SECRET_VALUES.values():
        assert value not in text
    secret = alert_routing.alerting_secret_name(spec)
    references = [
        config[field]
        for receiver in props["spec"]["receivers"]
        for kind, field in (("pagerdutyConfigs", "routingKey"), ("slackConfigs", "apiURL"), ("emailConfigs", "authPassword"))
        for config in receiver.get(kind, [])
    ]
    assert len(references) == 4
    assert all(reference["name"] == secret for reference in references)
    assert {reference["key"] for reference in references} == set(alert_routing.secret_entries(spec))
