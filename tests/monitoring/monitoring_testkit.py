"""Helpers for the monitoring tests: Prometheus' own tools, stack specs, and promtool unit-test cases
generated from a stack's thresholds, each at its boundary."""

from __future__ import annotations

import copy
import os
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml
from harness import stack_config

from components import alert_rules
from components.quantity import parse_quantity
from components.spec import PlatformSpec, ServiceSpec, Threshold

# Debian's packages: prometheus (promtool), prometheus-alertmanager (amtool, the Alertmanager).
TOOLS = {"promtool": "prometheus", "amtool": "prometheus-alertmanager", "prometheus-alertmanager": "prometheus-alertmanager"}

# Thresholds unlike every default, to prove configuration overrides them.
OVERRIDES: dict[str, Any] = {
    "containerCpu": {"warning": {"percent": 70, "for": "3m"}, "critical": {"percent": 90, "for": "1m"}},
    "containerMemory": {"warning": {"percent": 75, "for": "10m"}, "critical": {"percent": 92, "for": "4m"}},
    "containerRestarts": {"count": 4, "window": "10m"},
    "nodeCpu": {"percent": 80, "for": "2m"},
    "nodeMemory": {"percent": 90, "for": "1m"},
    "nodeDisk": {"percent": 70, "for": "15m"},
    "cpuRateWindow": "1m",
}


def tool(name: str) -> str:
    """The path of promtool, amtool or prometheus-alertmanager; fails under CI when missing, else skips."""
    path = shutil.which(name)
    if path is None:
        message = f"{name} is not installed (Debian package {TOOLS[name]}; scripts/setup.sh installs it)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return path


def run_tool(name: str, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([tool(name), *args], capture_output=True, text=True, timeout=120, cwd=cwd, check=False)


def tool_version(name: str) -> str:
    output = run_tool(name, "--version")
    return (output.stdout or output.stderr).splitlines()[0]


def config_with_thresholds(stack: str, thresholds: dict[str, Any]) -> dict[str, Any]:
    config = copy.deepcopy(stack_config(stack))
    config["monitoring"] = {**config.get("monitoring", {}), "thresholds": thresholds}
    return config


def platform_spec(config: dict[str, Any]) -> PlatformSpec:
    return PlatformSpec.model_validate(config)


def write_yaml(path: Path, document: Any) -> Path:
    path.write_text(yaml.safe_dump(document, sort_keys=False, width=1000))
    return path


# --- Prometheus durations and templates ------------------------------------------------------

_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}


def seconds(duration: str) -> int:
    total = sum(int(amount) * _UNITS[unit] for amount, unit in re.findall(r"(\d+)(ms|s|m|h|d|w|y)", duration))
    return int(total)


def duration(total: int) -> str:
    minutes, rest = divmod(total, 60)
    return f"{minutes}m{rest}s" if rest else f"{minutes}m"


def humanize(value: float) -> str:
    """Prometheus' `humanize` for 0 and [1, 1000): four significant digits."""
    assert value == 0 or 1 <= abs(value) < 1000, value
    return f"{value:.4g}"


def render(template: str, labels: dict[str, str], value: float) -> str:
    """The annotation templates the rules use, expanded as Prometheus would."""
    text = template.replace("{{ $value | humanizePercentage }}", humanize(value * 100) + "%")
    text = text.replace('{{ printf "%.0f" $value }}', f"{value:.0f}")
    text = re.sub(r"\{\{ \$labels\.(\w+) \}\}", lambda match: labels.get(match[1], ""), text)
    assert "{{" not in text, text
    return text


# --- Cases -----------------------------------------------------------------------------------


@dataclass
class Case:
    """One promtool test: input series, and at each evaluation time the alerts that must be firing."""

    name: str
    alertname: str
    input_series: list[dict[str, str]]
    # eval time (s) -> [(severity, measured value)]
    expected: dict[int, list[tuple[str, float]]]
    # The labels every alert of the case carries, but for its severity (and alertname).
    labels: dict[str, str]
    rules: list[dict[str, Any]] = field(default_factory=list)

    def promtool_test(self, interval: str) -> dict[str, Any]:
        tests = []
        for at, firing in sorted(self.expected.items()):
            alerts = []
            for severity, value in firing:
                rule = next(r for r in self.rules if r["labels"]["severity"] == severity)
                labels = {**self.labels, "severity": severity}
                every_label = {**labels, "alertname": self.alertname}
                alerts.append(
                    {
                        "exp_labels": labels,
                        "exp_annotations": {key: render(text, every_label, value) for key, text in rule["annotations"].items()},
                    }
                )
            tests.append({"eval_time": duration(at), "alertname": self.alertname, "exp_alerts": alerts})
        return {"interval": interval, "input_series": self.input_series, "alert_rule_test": tests}


def _series(metric: str, labels: dict[str, str], values: str) -> dict[str, str]:
    rendered = ", ".join(f'{name}="{value}"' for name, value in labels.items())
    return {"series": f"{metric}{{{rendered}}}", "values": values}


def _number(value: Decimal | float) -> str:
    return f"{float(value):.10g}"


def _steps(horizon: int, step: int) -> int:
    return horizon // step + 2


def _severity_levels(warning: Threshold, critical: Threshold) -> list[tuple[str, int, dict[str, Threshold]]]:
    """(case name, percent of the limit, thresholds) around each threshold: just above and just below."""
    levels = {"warning": warning, "critical": critical}
    return [
        ("just-above-warning", warning.percent + 1, levels),
        ("just-below-warning", warning.percent - 1, levels),
        ("just-above-critical", critical.percent + 1, levels),
        ("just-below-critical", critical.percent - 1, levels),
    ]


def _boundary_expectations(
    percent: int, levels: dict[str, Threshold], true_from: int, step: int, value: float
) -> dict[int, list[tuple[str, float]]]:
    """For each exceeded threshold: silent one evaluation short of its duration, firing at it;
    and a late evaluation where every exceeded threshold fires (and no other)."""
    exceeded = {severity: t for severity, t in levels.items() if percent > t.percent}
    times: set[int] = set()
    for threshold in exceeded.values():
        fires_at = true_from + seconds(threshold.for_)
        times |= {fires_at - step, fires_at}
    late = true_from + max(seconds(t.for_) for t in levels.values()) + 5 * step
    times.add(late)
    return {
        at: [(severity, value) for severity, t in exceeded.items() if at >= true_from + seconds(t.for_)]
        for at in sorted(times)
        if at >= 0
    }


def _pod(service: ServiceSpec) -> str:
    return f"{service.name}-7c9d8b6f5d-q4x2m"


def container_cases(spec: PlatformSpec, service: ServiceSpec, rules: list[dict[str, Any]]) -> list[Case]:
    thresholds = spec.monitoring.thresholds
    step = seconds(spec.monitoring.scraper.interval)
    ids = {"namespace": spec.namespace, "pod": _pod(service), "container": service.name}
    alert_labels = {**ids, "service": service.name, "environment": spec.environment}
    cases = []

    def alert_rules_of(name: str) -> list[dict[str, Any]]:
        return [rule for rule in rules if rule["alert"] == name]

    # CPU: a counter rising at a constant rate from zero. rate() over the window reads low
    # until the window is full of samples, so the usage reads at its level from `window` on.
    window = seconds(thresholds.cpu_rate_window)
    limit_cores = parse_quantity(service.resources.limits.cpu)
    levels = thresholds.container_cpu
    for case_name, percent, by_severity in _severity_levels(levels.warning, levels.critical):
        cores = limit_cores * Decimal(percent) / 100
        expected = _boundary_expectations(percent, by_severity, window, step, percent / 100)
        horizon = max(expected)
        cases.append(
            Case(
                name=f"{service.name}-cpu-{case_name}",
                alertname=alert_rules.CPU_ALERT,
                input_series=[
                    _series(
                        "kube_pod_container_resource_limits",
                        {**ids, "resource": "cpu", "unit": "core"},
                        f"{_number(limit_cores)}x{_steps(horizon, step)}",
                    ),
                    _series("container_cpu_usage_seconds_total", ids, f"0+{_number(cores * step)}x{_steps(horizon, step)}"),
                ],
                expected=expected,
                labels=alert_labels,
                rules=alert_rules_of(alert_rules.CPU_ALERT),
            )
        )

    # Memory: a working set held at a share of the limit from the first sample.
    limit_bytes = parse_quantity(service.resources.limits.memory)
    levels = thresholds.container_memory
    for case_name, percent, by_severity in _severity_levels(levels.warning, levels.critical):
        expected = _boundary_expectations(percent, by_severity, 0, step, percent / 100)
        horizon = max(expected)
        cases.append(
            Case(
                name=f"{service.name}-memory-{case_name}",
                alertname=alert_rules.MEMORY_ALERT,
                input_series=[
                    _series(
                        "kube_pod_container_resource_limits",
                        {**ids, "resource": "memory", "unit": "byte"},
                        f"{_number(limit_bytes)}x{_steps(horizon, step)}",
                    ),
                    _series(
                        "container_memory_working_set_bytes",
                        ids,
                        f"{_number(limit_bytes * Decimal(percent) / 100)}x{_steps(horizon, step)}",
                    ),
                ],
                expected=expected,
                labels=alert_labels,
                rules=alert_rules_of(alert_rules.MEMORY_ALERT),
            )
        )

    # Restarts: count+1 restarts one scrape apart fire on the last one and not before; the
    # same number spread over just more than the window never fires.
    restarts = thresholds.container_restarts
    restart_window = seconds(restarts.window)
    start = 4 * step
    burst = ["0"] * (start // step) + [str(k) for k in range(1, restarts.count + 2)]
    last = start + restarts.count * step
    restart_labels = {
        "namespace": spec.namespace,
        "container": service.name,
        "service": service.name,
        "environment": spec.environment,
    }
    horizon = last + 5 * step
    cases.append(
        Case(
            name=f"{service.name}-restarts-within-window",
            alertname=alert_rules.RESTART_ALERT,
            input_series=[
                _series(
                    "kube_pod_container_status_restarts_total",
                    ids,
                    " ".join(burst) + f" {restarts.count + 1}x{_steps(horizon - last, step)}",
                )
            ],
            expected={last - step: [], last: [("warning", restarts.count + 1)], horizon: [("warning", restarts.count + 1)]},
            labels=restart_labels,
            rules=alert_rules_of(alert_rules.RESTART_ALERT),
        )
    )
    # count+1 restarts: the first alone, the others one scrape apart ending at `end`. The first
    # counts while the sample before it is in the window: a first restart one scrape less than
    # the window before `end` fires there; one a whole window before does not.
    end = start + restart_window + 2 * step
    for case_name, first, fires in (
        ("spread-just-inside-the-window", end - restart_window + step, True),
        ("spread-over-the-whole-window", end - restart_window, False),
    ):
        if restarts.count == 0:
            break
        times = [first, *(end - k * step for k in range(restarts.count - 1, -1, -1))]
        values = [str(sum(1 for at in times if t >= at)) for t in range(0, end + 5 * step + 1, step)]
        cases.append(
            Case(
                name=f"{service.name}-restarts-{case_name}",
                alertname=alert_rules.RESTART_ALERT,
                input_series=[_series("kube_pod_container_status_restarts_total", ids, " ".join(values))],
                expected={end - step: [], end: [("warning", restarts.count + 1)] if fires else []},
                labels=restart_labels,
                rules=alert_rules_of(alert_rules.RESTART_ALERT),
            )
        )
    return cases


def node_cases(spec: PlatformSpec, rules: list[dict[str, Any]]) -> list[Case]:
    thresholds = spec.monitoring.thresholds
    step = seconds(spec.monitoring.scraper.interval)
    window = seconds(thresholds.cpu_rate_window)
    cases = []
    node = {"instance": "node-1"}
    disk = {"instance": "node-1", "device": "/dev/nvme0n1p1", "mountpoint": "/"}
    host = {"service": alert_rules.HOST_SERVICE, "environment": spec.environment, "namespace": spec.namespace}

    def rule_of(name: str) -> list[dict[str, Any]]:
        return [rule for rule in rules if rule["alert"] == name]

    for alert, threshold, true_from in (
        (alert_rules.NODE_CPU_ALERT, thresholds.node_cpu, window),
        (alert_rules.NODE_MEMORY_ALERT, thresholds.node_memory, 0),
        (alert_rules.NODE_DISK_ALERT, thresholds.node_disk, 0),
    ):
        for case_name, percent in (("just-above", threshold.percent + 1), ("just-below", threshold.percent - 1)):
            expected = _boundary_expectations(percent, {"warning": threshold}, true_from, step, percent / 100)
            n = _steps(max(expected), step)
            share = Decimal(percent) / 100
            if alert == alert_rules.NODE_CPU_ALERT:
                series = [
                    _series("node_cpu_seconds_total", {**node, "cpu": "0", "mode": "user"}, f"0+{_number(share * step)}x{n}"),
                    _series(
                        "node_cpu_seconds_total", {**node, "cpu": "0", "mode": "idle"}, f"0+{_number((1 - share) * step)}x{n}"
                    ),
                ]
                labels = node
            elif alert == alert_rules.NODE_MEMORY_ALERT:
                total = Decimal(16 * 2**30)
                series = [
                    _series("node_memory_MemTotal_bytes", node, f"{_number(total)}x{n}"),
                    _series("node_memory_MemAvailable_bytes", node, f"{_number(total * (1 - share))}x{n}"),
                ]
                labels = node
            else:
                size = Decimal(100 * 2**30)
                fs = {**disk, "fstype": "ext4"}
                # A tmpfs nearly full is no host disk: it must never alert.
                tmpfs = {"instance": "node-1", "device": "tmpfs", "mountpoint": "/run", "fstype": "tmpfs"}
                series = [
                    _series("node_filesystem_size_bytes", fs, f"{_number(size)}x{n}"),
                    _series("node_filesystem_avail_bytes", fs, f"{_number(size * (1 - share))}x{n}"),
                    _series("node_filesystem_size_bytes", tmpfs, f"{_number(size)}x{n}"),
                    _series("node_filesystem_avail_bytes", tmpfs, f"{_number(size / 100)}x{n}"),
                ]
                labels = disk
            cases.append(
                Case(
                    name=f"hosts-{alert}-{case_name}",
                    alertname=alert,
                    input_series=series,
                    expected=expected,
                    labels={**labels, **host},
                    rules=rule_of(alert),
                )
            )
    return cases


def all_cases(spec: PlatformSpec, groups: list[dict[str, Any]]) -> list[Case]:
    by_name = {group["name"]: group["rules"] for group in groups}
    cases = []
    for service in spec.services:
        cases.extend(container_cases(spec, service, by_name[alert_rules.group_name(spec, service.name)]))
    cases.extend(node_cases(spec, by_name[alert_rules.group_name(spec, "hosts")]))
    return cases


def promtool_test_file(case: Case, rule_file: Path, spec: PlatformSpec) -> dict[str, Any]:
    interval = spec.monitoring.scraper.interval
    return {"rule_files": [str(rule_file)], "evaluation_interval": interval, "tests": [case.promtool_test(interval)]}
