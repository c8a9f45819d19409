"""(1) Program scale: the real program under Pulumi mocks for generated stacks of n services.

Each size runs in its own process (``python -m benchmarks.program_scale N``), so the parent's
wait4 sees that run's wall time, CPU time and peak memory, start-up (interpreter, SDK imports)
included. The worker also reports, from inside, how long imports and the program itself took.
"""

from __future__ import annotations

import json
import sys
import time
from typing import Any

from benchmarks.common import DEV_PYTHON, ROOT, Section, Summary, repeat, seconds, times

DIGEST = "sha256:" + "5e" * 32
IMAGE = f"ghcr.io/phoenix-orch/svc@{DIGEST}"


def generated_config(services: int, environment: str = "prod") -> tuple[dict[str, Any], dict[str, str]]:
    """A valid stack config with `services` services in three shapes like the real prod stack's
    (exposed front ends with API access, secret holders, stateful stores), each calling at most
    two others, and the secret values those services list."""
    specs: list[dict[str, Any]] = []
    secrets: dict[str, str] = {}
    names = [f"svc-{index:03d}" for index in range(services)]
    for index, name in enumerate(names):
        shape = index % 3
        service: dict[str, Any] = {
            "name": name,
            "image": IMAGE,
            "port": 8000 + index % 1000,
            "resources": {"limits": {"cpu": "500m", "memory": "256Mi"}},
            "autoscaling": {"minReplicas": 2, "maxReplicas": 4},
            "env": {"PHOENIX_LOG_LEVEL": "info"},
        }
        callees = [names[(index + step) % services] for step in (1, 2) if (index + step) % services != index]
        service["calls"] = sorted(set(callees))
        if shape == 0:
            service["exposed"] = True
            service["scratch"] = {"mountPath": "/tmp", "sizeLimit": "64Mi"}
            service["kubernetesApi"] = [{"resources": ["configmaps"], "verbs": ["get", "list", "watch"]}]
        else:
            key = f"svc{index:03d}Key"
            service["secrets"] = [key]
            secrets[key] = f"value-of-{key}-0123456789abcdef"
        if shape == 2:
            service["storage"] = {"size": "10Gi", "mountPath": "/var/lib/data"}
        specs.append(service)
    config: dict[str, Any] = {
        "environment": environment,
        "namespace": f"phoenix-{environment}",
        "imageRegistry": "ghcr.io/phoenix-orch",
        "buildImages": False,
        "storageClass": {"provisioner": "ebs.csi.aws.com", "parameters": {"type": "gp3", "encrypted": "true"}},
        "ingress": {
            "controllerNamespace": "ingress-nginx",
            "className": "nginx",
            "domain": "phoenix.example.com",
            "tlsSecretName": "phoenix-tls",
        },
        "network": {"apiServerCidrs": ["10.96.0.1/32"]},
        "services": specs,
    }
    return config, secrets


def worker(services: int) -> None:
    """Runs the program once for `services` services and prints what it measured from inside."""
    started = time.perf_counter()
    sys.path[:0] = [str(ROOT), str(ROOT / "tests")]
    from harness import run_program  # the tests' harness: the real __main__.py under Pulumi mocks

    imported = time.perf_counter()
    cpu_before = time.process_time()
    config, secrets = generated_config(services)
    result = run_program("prod", config=config, secrets=secrets)
    finished = time.perf_counter()
    cpu = time.process_time() - cpu_before
    if result.error is not None:
        raise SystemExit(f"program failed for {services} services: {result.error}")
    print(
        json.dumps(
            {
                "services": services,
                "resources": len(result.resources),
                "import_seconds": imported - started,
                "program_seconds": finished - imported,
                "program_cpu_seconds": cpu,
            }
        )
    )


def fit_line(xs: list[float], ys: list[float]) -> tuple[float, float]:
    """Least-squares a, b of y = a + b·x."""
    n = len(xs)
    mean_x, mean_y = sum(xs) / n, sum(ys) / n
    b = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True)) / sum((x - mean_x) ** 2 for x in xs)
    return mean_y - b * mean_x, b


def run(sizes: list[int], repeats: int) -> Section:
    section = Section("1. Program scale (mocks, prod profile)")
    summaries: dict[int, Summary] = {}
    inside: dict[int, dict[str, float]] = {}
    for size in sizes:
        command = [str(DEV_PYTHON), "-m", "benchmarks.program_scale", str(size)]
        summaries[size] = repeat(repeats, command, timeout=300)
        reports = [json.loads(sample.stdout.strip().splitlines()[-1]) for sample in summaries[size].samples]
        inside[size] = {
            key: sorted(float(report[key]) for report in reports)[len(reports) // 2]
            for key in ("resources", "import_seconds", "program_seconds")
        }
    base = sizes[0]
    one = summaries[base]
    for size in sizes:
        summary = summaries[size]
        resources = int(inside[size]["resources"])
        section.add(
            f"{size} service(s), {resources} resources: wall (cpu)",
            f"{seconds(summary.wall)} ({seconds(summary.cpu)})",
            f"{seconds(one.wall)} ({seconds(one.cpu)})",
            times(summary.wall / one.wall),
        )
    for size in sizes:
        section.add(
            f"{size} service(s): peak memory",
            f"{summaries[size].max_rss_mib:.0f} MiB",
            f"{one.max_rss_mib:.0f} MiB",
            times(summaries[size].max_rss_mib / one.max_rss_mib),
        )
    xs = [float(size) for size in sizes]
    a, b = fit_line(xs, [summaries[size].wall for size in sizes])
    a_cpu, b_cpu = fit_line(xs, [summaries[size].cpu for size in sizes])
    section.add("fit wall = a + b·n: fixed cost a (cpu)", f"{seconds(a)} ({seconds(a_cpu)})")
    section.add("fit: cost per service b (cpu)", f"{seconds(b)} ({seconds(b_cpu)})")
    small, large = sizes[1], sizes[-1]
    if len(sizes) >= 3:
        per_small = (summaries[small].wall - one.wall) / (small - base)
        per_large = (summaries[large].wall - one.wall) / (large - base)
        per_small_cpu = (summaries[small].cpu - one.cpu) / (small - base)
        per_large_cpu = (summaries[large].cpu - one.cpu) / (large - base)
        section.add(
            f"linearity: cost per added service at {large} (cpu)",
            f"{seconds(per_large)} ({seconds(per_large_cpu)})",
            f"at {small}: {seconds(per_small)} ({seconds(per_small_cpu)})",
            f"{times(per_large / per_small)} ({times(per_large_cpu / per_small_cpu)})",
            "flat = 1x",
        )
    start_up = inside[base]["import_seconds"]
    section.add(
        "start-up inside the 1-service run: SDK imports / program",
        f"{seconds(start_up)} / {seconds(inside[base]['program_seconds'])}",
        note="program time includes the lazy pulumi_kubernetes imports",
    )
    return section


if __name__ == "__main__":
    worker(int(sys.argv[1]))
