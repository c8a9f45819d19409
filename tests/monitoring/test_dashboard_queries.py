"""The dashboard's queries are valid PromQL (promtool parses each one as a recording rule), and its
threshold lines sit where the alerts fire (promtool evaluates them on input series)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from harness import stack_config
from monitoring_testkit import OVERRIDES, config_with_thresholds, platform_spec, run_tool, write_yaml

from components.dashboard import dashboard
from components.quantity import parse_quantity

VARIANTS = {
    "dev": stack_config("dev"),
    "prod": stack_config("prod"),
    "prod-overridden": config_with_thresholds("prod", OVERRIDES),
}


def targets(document: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [(panel["title"], target) for panel in document["panels"] for target in panel.get("targets", [])]


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_every_dashboard_query_is_valid_promql(variant: str, tmp_path: Path) -> None:
    document = dashboard(platform_spec(VARIANTS[variant]))
    queries = targets(document)
    assert len(queries) >= 4 * 4 * len(VARIANTS[variant]["services"])
    rules = [{"record": f"phoenix:dashboard_query_{index}", "expr": target["expr"]} for index, (_, target) in enumerate(queries)]
    path = write_yaml(tmp_path / "dashboard-queries.yaml", {"groups": [{"name": "dashboard", "rules": rules}]})
    checked = run_tool("promtool", "check", "rules", str(path))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert f"SUCCESS: {len(rules)} rules found" in checked.stdout


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_threshold_lines_are_the_alert_thresholds_of_the_limit(variant: str, tmp_path: Path) -> None:
    spec = platform_spec(VARIANTS[variant])
    service = spec.services[0]
    lines = {
        target["legendFormat"]: target["expr"]
        for title, target in targets(dashboard(spec))
        if title == f"{service.name}: CPU (cores)"
    }
    limit = float(parse_quantity(service.resources.limits.cpu))
    levels = spec.monitoring.thresholds.container_cpu
    pod = {"namespace": spec.namespace, "pod": f"{service.name}-abc", "container": service.name}
    series = ", ".join(f'{k}="{v}"' for k, v in {**pod, "resource": "cpu", "unit": "core"}.items())
    expected = {
        "limit": limit,
        f"warning ({levels.warning.percent}% for {levels.warning.for_})": limit * levels.warning.percent / 100,
        f"critical ({levels.critical.percent}% for {levels.critical.for_})": limit * levels.critical.percent / 100,
    }
    rules = write_yaml(tmp_path / "none.yaml", {"groups": []})
    test = {
        "rule_files": [str(rules)],
        "evaluation_interval": "30s",
        "tests": [
            {
                "interval": "30s",
                "input_series": [{"series": f"kube_pod_container_resource_limits{{{series}}}", "values": f"{limit}x10"}],
                "promql_expr_test": [
                    {"expr": lines[legend], "eval_time": "2m", "exp_samples": [{"labels": "{}", "value": value}]}
                    for legend, value in expected.items()
                ],
            }
        ],
    }
    tested = run_tool("promtool", "test", "rules", str(write_yaml(tmp_path / "test.yaml", test)))
    assert tested.returncode == 0, tested.stdout + tested.stderr
