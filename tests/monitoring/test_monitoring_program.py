"""The real program under mocks: per stack and per service, the monitors, rules, routing, dashboard
and the one network opening monitoring needs; configured thresholds override the defaults."""

from __future__ import annotations

import copy
import json
import re
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml
from harness import TEST_SECRET_VALUES, ProgramRun, RegisteredResource, run_program, stack_config
from monitoring_testkit import OVERRIDES, config_with_thresholds

from components import alert_routing, alert_rules
from components.spec import AlertThresholds, PlatformSpec

STACKS = ["dev", "prod"]
POD_MONITOR = "kubernetes:monitoring.coreos.com/v1:PodMonitor"
PROMETHEUS_RULE = "kubernetes:monitoring.coreos.com/v1:PrometheusRule"
ALERTMANAGER_CONFIG = "kubernetes:monitoring.coreos.com/v1alpha1:AlertmanagerConfig"
NETWORK_POLICY = "kubernetes:networking.k8s.io/v1:NetworkPolicy"
CONFIG_MAP = "kubernetes:core/v1:ConfigMap"
SECRET = "kubernetes:core/v1:Secret"
STAND_IN_CRDS = Path(__file__).resolve().parents[2] / "toolchain" / "cluster" / "prometheus-operator-stand-in-crds.yaml"


@cache
def run(stack: str) -> ProgramRun:
    result = run_program(stack)
    assert result.error is None, result.error
    return result


@cache
def run_overridden() -> ProgramRun:
    result = run_program("prod", config=config_with_thresholds("prod", OVERRIDES))
    assert result.error is None, result.error
    return result


def services(stack: str) -> list[dict[str, Any]]:
    return list(stack_config(stack)["services"])


def monitoring_config(stack: str) -> dict[str, Any]:
    config: dict[str, Any] = stack_config(stack)["monitoring"]
    return config


def rules_by_key(result: ProgramRun) -> dict[tuple[str, str, str], dict[str, Any]]:
    """(alert, severity, service) -> rule."""
    (rule,) = result.of_type(PROMETHEUS_RULE)
    return {
        (r["alert"], r["labels"]["severity"], r["labels"]["service"]): r
        for group in rule.props["spec"]["groups"]
        for r in group["rules"]
    }


def container(stack: str, service: str) -> dict[str, Any]:
    deployment = run(stack).one("kubernetes:apps/v1:Deployment", service)
    (spec,) = deployment.props["spec"]["template"]["spec"]["containers"]
    result: dict[str, Any] = spec
    return result


def labels_of(resource: RegisteredResource) -> dict[str, str]:
    labels: dict[str, str] = resource.props["metadata"]["labels"]
    return labels


@pytest.mark.parametrize("stack", STACKS)
def test_a_pod_monitor_per_service_scrapes_its_metrics_port(stack: str) -> None:
    result = run(stack)
    namespace = stack_config(stack)["namespace"]
    monitors = result.of_type(POD_MONITOR)
    assert sorted(m.metadata_name or "" for m in monitors) == sorted(s["name"] for s in services(stack))
    for service in services(stack):
        monitor = result.one(POD_MONITOR, service["name"])
        assert monitor.props["metadata"]["namespace"] == namespace
        assert labels_of(monitor)["release"] == monitoring_config(stack)["resourceLabels"]["release"]
        assert labels_of(monitor)["app.kubernetes.io/name"] == service["name"]
        spec = monitor.props["spec"]
        assert spec["selector"] == {"matchLabels": {"app.kubernetes.io/name": service["name"]}}
        assert spec["namespaceSelector"] == {"matchNames": [namespace]}
        (endpoint,) = spec["podMetricsEndpoints"]
        assert endpoint["port"] == "metrics" and endpoint["path"] == "/metrics"
        assert endpoint["interval"] == monitoring_config(stack)["scraper"]["interval"]
        ports = {p["name"]: p["containerPort"] for p in container(stack, service["name"])["ports"]}
        assert ports == {"http": service["port"], "metrics": 9090}
        env = {e["name"]: e["value"] for e in container(stack, service["name"])["env"]}
        assert env["PHOENIX_METRICS_PORT"] == "9090"


@pytest.mark.parametrize("stack", STACKS)
def test_one_prometheus_rule_with_every_alert_for_every_service(stack: str) -> None:
    result = run(stack)
    (rule,) = result.of_type(PROMETHEUS_RULE)
    assert rule.metadata_name == f"phoenix-{stack}-alerts"
    assert labels_of(rule)["release"] == "kube-prometheus-stack"
    assert labels_of(rule)["phoenix.orch/environment"] == stack
    rules = rules_by_key(result)
    for service in services(stack):
        name = service["name"]
        for alert in (alert_rules.CPU_ALERT, alert_rules.MEMORY_ALERT):
            assert (alert, "warning", name) in rules and (alert, "critical", name) in rules
        assert (alert_rules.RESTART_ALERT, "warning", name) in rules
    for alert in alert_rules.NODE_ALERTS:
        assert (alert, "warning", alert_rules.HOST_SERVICE) in rules
    assert len(rules) == 5 * len(services(stack)) + 3
    namespace = stack_config(stack)["namespace"]
    for (alert, severity, owner), rule_ in rules.items():
        assert rule_["labels"] == {"severity": severity, "service": owner, "environment": stack, "namespace": namespace}
        annotations = rule_["annotations"]
        assert set(annotations) == {"summary", "description", "runbook_url"}
        assert "$value" in annotations["description"], "the description states the measured value"
        assert annotations["runbook_url"] == f"{monitoring_config(stack)['runbookBaseUrl']}/{alert}"
        if owner != alert_rules.HOST_SERVICE:
            assert f'namespace="{namespace}"' in rule_["expr"] and f'container="{owner}"' in rule_["expr"]


def _threshold(rule: dict[str, Any]) -> tuple[str, str | None]:
    match = re.search(r">\s*([0-9.]+)\s*$", rule["expr"])
    assert match, rule["expr"]
    return match[1], rule.get("for")


@pytest.mark.parametrize("stack", STACKS)
def test_stacks_use_the_guides_thresholds_by_default(stack: str) -> None:
    assert "thresholds" not in monitoring_config(stack), "the stacks keep the guide's defaults"
    rules = rules_by_key(run(stack))
    for service in services(stack):
        name = service["name"]
        for alert in (alert_rules.CPU_ALERT, alert_rules.MEMORY_ALERT):
            assert _threshold(rules[(alert, "warning", name)]) == ("0.85", "5m")
            assert _threshold(rules[(alert, "critical", name)]) == ("0.95", "2m")
        restarts = rules[(alert_rules.RESTART_ALERT, "warning", name)]
        assert _threshold(restarts) == ("2", None)
        assert "[15m]" in restarts["expr"]
        assert "[2m]" in rules[(alert_rules.CPU_ALERT, "warning", name)]["expr"]
    for alert in alert_rules.NODE_ALERTS:
        assert _threshold(rules[(alert, "warning", alert_rules.HOST_SERVICE)]) == ("0.85", "5m")


def test_configured_thresholds_override_the_defaults() -> None:
    rules = rules_by_key(run_overridden())
    defaults = AlertThresholds()
    assert defaults.container_cpu.warning.percent == 85 and defaults.container_restarts.count == 2
    for service in services("prod"):
        name = service["name"]
        assert _threshold(rules[(alert_rules.CPU_ALERT, "warning", name)]) == ("0.7", "3m")
        assert _threshold(rules[(alert_rules.CPU_ALERT, "critical", name)]) == ("0.9", "1m")
        assert _threshold(rules[(alert_rules.MEMORY_ALERT, "warning", name)]) == ("0.75", "10m")
        assert _threshold(rules[(alert_rules.MEMORY_ALERT, "critical", name)]) == ("0.92", "4m")
        restarts = rules[(alert_rules.RESTART_ALERT, "warning", name)]
        assert _threshold(restarts) == ("4", None) and "[10m]" in restarts["expr"]
        assert "[1m]" in rules[(alert_rules.CPU_ALERT, "warning", name)]["expr"]
        assert "(warning above 70%)" in rules[(alert_rules.CPU_ALERT, "warning", name)]["annotations"]["description"]
    host = alert_rules.HOST_SERVICE
    assert _threshold(rules[(alert_rules.NODE_CPU_ALERT, "warning", host)]) == ("0.8", "2m")
    assert _threshold(rules[(alert_rules.NODE_MEMORY_ALERT, "warning", host)]) == ("0.9", "1m")
    assert _threshold(rules[(alert_rules.NODE_DISK_ALERT, "warning", host)]) == ("0.7", "15m")
    # Overriding one threshold keeps the others at their defaults.
    partial = run_program("dev", config=config_with_thresholds("dev", {"nodeDisk": {"percent": 90, "for": "10m"}}))
    assert partial.error is None, partial.error
    partial_rules = rules_by_key(partial)
    assert _threshold(partial_rules[(alert_rules.NODE_DISK_ALERT, "warning", host)]) == ("0.9", "10m")
    assert _threshold(partial_rules[(alert_rules.NODE_CPU_ALERT, "warning", host)]) == ("0.85", "5m")
    assert _threshold(partial_rules[(alert_rules.CPU_ALERT, "critical", "orchestrator")]) == ("0.95", "2m")


@pytest.mark.parametrize("stack", STACKS)
def test_alertmanager_config_routes_severities_apart_and_inhibits(stack: str) -> None:
    result = run(stack)
    config = result.one(ALERTMANAGER_CONFIG, f"phoenix-{stack}")
    assert labels_of(config)["release"] == "kube-prometheus-stack"
    spec = config.props["spec"]
    routes = {route["matchers"][0]["value"]: route["receiver"] for route in spec["route"]["routes"]}
    assert routes == {"critical": f"phoenix-{stack}-critical", "warning": f"phoenix-{stack}-warning"}
    assert spec["route"]["groupBy"] == monitoring_config(stack)["alerting"]["groupBy"]
    receivers = {receiver["name"]: receiver for receiver in spec["receivers"]}
    critical, warning = receivers[f"phoenix-{stack}-critical"], receivers[f"phoenix-{stack}-warning"]
    assert set(critical) == {"name", "pagerdutyConfigs", "slackConfigs"}
    assert set(warning) == {"name", "slackConfigs", "emailConfigs"}
    assert critical["slackConfigs"][0]["channel"] == f"#phoenix-{stack}-critical"
    assert warning["emailConfigs"][0]["to"] == f"phoenix-{stack}-alerts@phoenix.example.com"
    (inhibit,) = spec["inhibitRules"]
    assert inhibit["sourceMatch"] == [{"name": "severity", "value": "critical", "matchType": "="}]
    assert inhibit["targetMatch"] == [{"name": "severity", "value": "warning", "matchType": "="}]
    assert {"alertname", "pod", "container"} <= set(inhibit["equal"])


@pytest.mark.parametrize("stack", STACKS)
def test_receiver_credentials_are_a_pulumi_secret_in_their_own_secret(stack: str) -> None:
    result = run(stack)
    secret = result.one(SECRET, f"phoenix-{stack}-alerting")
    assert secret.secret_paths == {"stringData"}, "every value must be a Pulumi secret"
    alerting = monitoring_config(stack)["alerting"]
    expected = {
        "critical-pagerduty-routing-key": TEST_SECRET_VALUES[alerting["critical"]["pagerDuty"]["routingKeySecret"]],
        "critical-slack-webhook-url": TEST_SECRET_VALUES[alerting["critical"]["slack"]["webhookUrlSecret"]],
        "warning-slack-webhook-url": TEST_SECRET_VALUES[alerting["warning"]["slack"]["webhookUrlSecret"]],
        "warning-smtp-password": TEST_SECRET_VALUES[alerting["warning"]["email"]["authPasswordSecret"]],
    }
    assert secret.props["stringData"] == expected


def dashboard_of(result: ProgramRun, stack: str) -> tuple[RegisteredResource, dict[str, Any]]:
    config_map = result.one(CONFIG_MAP, f"phoenix-{stack}-dashboard")
    (name, text) = next(iter(config_map.props["data"].items()))
    assert name == f"phoenix-{stack}.json"
    document: dict[str, Any] = json.loads(text)
    return config_map, document


@pytest.mark.parametrize("stack", STACKS)
def test_dashboard_per_stack_shows_each_service_against_limits_and_thresholds(stack: str) -> None:
    result = run(stack)
    config_map, dashboard = dashboard_of(result, stack)
    assert labels_of(config_map)["grafana_dashboard"] == "1"
    assert config_map.props["metadata"]["annotations"] == {"grafana_folder": "Phoenix"}
    assert dashboard["uid"] == f"phoenix-{stack}" and dashboard["title"] == f"Phoenix {stack}"
    panels = {panel["title"]: panel for panel in dashboard["panels"] if panel["type"] == "timeseries"}
    namespace = stack_config(stack)["namespace"]
    for service in services(stack):
        name = service["name"]
        for title, metric, resource in (
            (f"{name}: CPU (cores)", "container_cpu_usage_seconds_total", "cpu"),
            (f"{name}: Memory (working set)", "container_memory_working_set_bytes", "memory"),
        ):
            legends = {t["legendFormat"]: t["expr"] for t in panels[title]["targets"]}
            assert metric in legends["{{pod}}"] and f'container="{name}"' in legends["{{pod}}"]
            assert f'resource="{resource}"' in legends["limit"]
            assert legends["warning (85% for 5m)"].startswith("0.85 * ")
            assert legends["critical (95% for 2m)"].startswith("0.95 * ")
        restarts = {t["legendFormat"]: t["expr"] for t in panels[f"{name}: restarts in 15m"]["targets"]}
        assert "kube_pod_container_status_restarts_total" in restarts["restarts"]
        assert restarts["warning (> 2 in 15m)"] == "vector(2)"
        replicas = {t["legendFormat"]: t["expr"] for t in panels[f"{name}: HPA replicas"]["targets"]}
        assert set(replicas) == {"current", "desired", "min", "max"}
        assert all(f'horizontalpodautoscaler="{name}"' in expr and namespace in expr for expr in replicas.values())
    for title in ("Nodes: CPU", "Nodes: memory", "Nodes: disk"):
        assert any(t["expr"] == "vector(0.85)" for t in panels[title]["targets"])
    ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(ids) == len(set(ids)), "panel ids are unique"


def test_dashboard_draws_the_configured_thresholds() -> None:
    _, dashboard = dashboard_of(run_overridden(), "prod")
    legends = {t["legendFormat"] for panel in dashboard["panels"] for t in panel.get("targets", [])}
    assert {"warning (70% for 3m)", "critical (90% for 1m)", "warning (> 4 in 10m)", "warning (80% for 2m)"} <= legends
    assert "warning (85% for 5m)" not in legends


@pytest.mark.parametrize("stack", STACKS)
def test_only_the_scraper_reaches_only_the_metrics_port(stack: str) -> None:
    result = run(stack)
    scraper = monitoring_config(stack)["scraper"]
    for service in services(stack):
        policy = result.one(NETWORK_POLICY, f"allow-{service['name']}-metrics-scrape")
        spec = policy.props["spec"]
        assert spec["podSelector"] == {"matchLabels": {"app.kubernetes.io/name": service["name"]}}
        assert spec["policyTypes"] == ["Ingress"] and "egress" not in spec
        (rule,) = spec["ingress"]
        (peer,) = rule["from"]
        # Both selectors in one peer: those pods, in that namespace (not either of them).
        assert peer == {
            "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": scraper["namespace"]}},
            "podSelector": {"matchLabels": scraper["podLabels"]},
        }
        assert rule["ports"] == [{"port": 9090, "protocol": "TCP"}]
    # Nothing else opens the metrics port, and the Services do not expose it.
    for policy in result.of_type(NETWORK_POLICY):
        if policy.metadata_name and policy.metadata_name.endswith("-metrics-scrape"):
            continue
        for rule in policy.props["spec"].get("ingress", []):
            assert all(port["port"] != 9090 for port in rule["ports"]), policy.metadata_name
    for cluster_service in result.of_type("kubernetes:core/v1:Service"):
        assert [port["name"] for port in cluster_service.props["spec"]["ports"]] == ["http"]


@pytest.mark.parametrize("stack", STACKS)
def test_monitoring_resources_are_labelled_and_named_like_the_rest(stack: str) -> None:
    result = run(stack)
    monitoring_types = {POD_MONITOR, PROMETHEUS_RULE, ALERTMANAGER_CONFIG}
    mine = [r for r in result.resources if r.type_ in monitoring_types]
    mine += [result.one(CONFIG_MAP, f"phoenix-{stack}-dashboard"), result.one(SECRET, f"phoenix-{stack}-alerting")]
    namespace = stack_config(stack)["namespace"]
    for resource in mine:
        assert resource.metadata_name, resource.name
        assert resource.props["metadata"]["namespace"] == namespace
        labels = labels_of(resource)
        assert labels["app.kubernetes.io/part-of"] == "phoenix" and labels["app.kubernetes.io/managed-by"] == "pulumi"
        assert labels["phoenix.orch/environment"] == stack
        assert "phoenix:platform:Monitoring" in resource.parent


def test_monitoring_can_be_turned_off_and_alerting_left_out() -> None:
    config = copy.deepcopy(stack_config("dev"))
    config["monitoring"] = {"enabled": False}
    off = run_program("dev", config=config, secrets={k: v for k, v in TEST_SECRET_VALUES.items() if not k.startswith("alert")})
    assert off.error is None, off.error
    assert not [r for r in off.resources if "monitoring.coreos.com" in r.type_]
    assert not [p for p in off.of_type(NETWORK_POLICY) if (p.metadata_name or "").endswith("-metrics-scrape")]
    assert "phoenix:platform:Monitoring" not in {r.type_ for r in off.resources}

    config["monitoring"] = {"scraper": {"namespace": "observability", "podLabels": {"app": "prom"}}}
    no_alerting = run_program(
        "dev", config=config, secrets={k: v for k, v in TEST_SECRET_VALUES.items() if not k.startswith("alert")}
    )
    assert no_alerting.error is None, no_alerting.error
    assert no_alerting.of_type(ALERTMANAGER_CONFIG) == []
    assert [s.metadata_name for s in no_alerting.of_type(SECRET) if "alerting" in (s.metadata_name or "")] == []
    assert len(no_alerting.of_type(PROMETHEUS_RULE)) == 1
    (peer,) = no_alerting.one(NETWORK_POLICY, "allow-memory-metrics-scrape").props["spec"]["ingress"][0]["from"]
    assert peer["namespaceSelector"]["matchLabels"] == {"kubernetes.io/metadata.name": "observability"}
    assert peer["podSelector"]["matchLabels"] == {"app": "prom"}


def test_stand_in_crds_cover_every_kind_the_program_creates() -> None:
    documents = [d for d in yaml.safe_load_all(STAND_IN_CRDS.read_text()) if d]
    served = {
        f"kubernetes:{d['spec']['group']}/{version['name']}:{d['spec']['names']['kind']}"
        for d in documents
        for version in d["spec"]["versions"]
        if version["served"]
    }
    for document in documents:
        assert document["apiVersion"] == "apiextensions.k8s.io/v1" and document["kind"] == "CustomResourceDefinition"
        names = document["spec"]["names"]
        assert document["metadata"]["name"] == f"{names['plural']}.{document['spec']['group']}"
        assert document["spec"]["scope"] == "Namespaced"
        (version,) = document["spec"]["versions"]
        assert version["storage"] is True
        assert version["schema"]["openAPIV3Schema"] == {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
    created = {r.type_ for stack in STACKS for r in run(stack).resources if "monitoring.coreos.com" in r.type_}
    assert created <= served, created - served
    assert "kubernetes:monitoring.coreos.com/v1:ServiceMonitor" in served


def test_alert_routing_secret_keys_are_the_ones_the_secret_holds() -> None:
    spec_entries = alert_routing.secret_entries(PlatformSpec.model_validate(stack_config("prod")))
    secret = run("prod").one(SECRET, "phoenix-prod-alerting")
    assert set(spec_entries) == set(secret.props["stringData"])
