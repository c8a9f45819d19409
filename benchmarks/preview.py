"""(3) Policy pack overhead under the real engine: `pulumi preview` of the prod stack with and
without ``--policy-pack``.

Runs ``scripts/stack.sh prod preview`` (the toolchain's Pulumi, language host and Kubernetes
provider) with a private file backend, passphrase and workspace in a temporary directory, like
the engine tests' PulumiRunner, so no one else's stacks are touched. Uses the local cluster when
it is up. One untimed preview first creates the stack and its secrets and warms the caches;
then the two variants alternate, so drifting load on a shared machine hits both alike.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import tempfile
from pathlib import Path

from benchmarks.common import DEV_PYTHON, ROOT, Sample, Section, Summary, measure, repeat, seconds, times

PACK_ARGS = ["--policy-pack", "policy", "--policy-pack-config", "policy/config/prod.json"]
TARGET = 1.15
PACK_PYTHON = ROOT / "policy" / "venv" / "bin" / "python"


def toolchain_missing() -> str | None:
    """Why the engine cannot run here, or None."""
    probe = subprocess.run(
        [
            "bash",
            "-c",
            "source toolchain/env.sh && command -v pulumi >/dev/null && command -v pulumi-language-python >/dev/null && "
            'ls "$PULUMI_HOME"/plugins/resource-kubernetes-v* >/dev/null 2>&1',
        ],
        cwd=ROOT,
        capture_output=True,
        check=False,
    )
    if probe.returncode != 0:
        return "the Pulumi toolchain or the Kubernetes provider plugin is not installed (toolchain/install.sh pulumi provider)"
    if not (ROOT / "policy" / "venv" / "bin" / "python").exists():
        return "the policy pack's virtualenv policy/venv is missing (scripts/setup.sh)"
    return None


def cluster_env() -> dict[str, str]:
    """KUBECONFIG and friends of the local cluster when it is running, else nothing."""
    script = ROOT / "toolchain" / "cluster" / "cluster.sh"
    if not script.exists():
        return {}
    status = subprocess.run(["bash", str(script), "status"], cwd=ROOT, capture_output=True, text=True, check=False, timeout=60)
    if status.returncode != 0:
        return {}
    exported = subprocess.run(["bash", str(script), "env"], cwd=ROOT, capture_output=True, text=True, check=False, timeout=60)
    values: dict[str, str] = {}
    for line in exported.stdout.splitlines():
        if line.startswith("export ") and "=" in line:
            key, value = line.removeprefix("export ").split("=", 1)
            values[key] = value.strip("'\"")
    return values


def pack_breakdown(section: Section, repeats: int, measured_cpu: float) -> None:
    """Where the pack's cost goes: its start-up, and its analysis per resource and per stack."""
    start_up = repeat(
        repeats,
        [str(PACK_PYTHON), "-c", "import policy.pack as pack; pack.crossguard_policies()"],
        cwd=ROOT,
        timeout=120,
    )
    costs = json.loads(measure([str(DEV_PYTHON), "-m", "benchmarks.pack_cost"], timeout=300).stdout.strip().splitlines()[-1])
    resources = int(costs["resources"])
    analysis = resources * float(costs["analyze_seconds"]) + float(costs["analyze_stack_seconds"])
    section.add("pack start-up: interpreter, SDK, policies (wall, cpu)", f"{seconds(start_up.wall)} ({seconds(start_up.cpu)})")
    section.add(
        "pack analysis per resource / per stack (cpu, in-process)",
        f"{seconds(float(costs['analyze_seconds']))} / {seconds(float(costs['analyze_stack_seconds']))}",
        note=f"{resources} resources: {seconds(analysis)} per preview",
    )
    section.add(
        "pack cpu per preview: start-up + analysis, vs measured difference",
        seconds(start_up.cpu + analysis),
        seconds(measured_cpu),
        times((start_up.cpu + analysis) / measured_cpu) if measured_cpu > 0 else "-",
    )


def run(repeats: int) -> Section:
    section = Section("3. Policy pack overhead (pulumi preview, prod stack)")
    missing = toolchain_missing()
    if missing:
        section.add("preview with / without the pack", "not measured", note=missing)
        return section
    workdir = Path(tempfile.mkdtemp(prefix="phoenix-bench-preview-"))
    try:
        (workdir / "state").mkdir()
        cluster = cluster_env()
        env = {
            **os.environ,
            **cluster,
            "PULUMI_BACKEND_URL": f"file://{workdir / 'state'}",
            "PULUMI_CONFIG_PASSPHRASE": secrets.token_urlsafe(24),
            "PHOENIX_GENERATE_SECRETS": "1",
            "PHOENIX_WORKSPACE": str(workdir / "workspaces" / "prod"),
        }
        env.pop("PULUMI_CONFIG_PASSPHRASE_FILE", None)
        preview = ["bash", str(ROOT / "scripts" / "stack.sh"), "prod", "preview"]
        measure([*preview, *PACK_ARGS], env=env, timeout=600)  # creates the stack; warms caches
        plain: list[Sample] = []
        packed: list[Sample] = []
        for index in range(repeats):
            order = [(plain, []), (packed, PACK_ARGS)] if index % 2 == 0 else [(packed, PACK_ARGS), (plain, [])]
            for samples, extra in order:
                samples.append(measure([*preview, *extra], env=env, timeout=600))
        without, with_pack = Summary.of(plain), Summary.of(packed)
        if "phoenix-platform" not in with_pack.samples[0].stdout:
            section.notes.append("the preview output did not name the policy pack; check that it ran")
        ratio = with_pack.wall / without.wall
        section.add(
            "preview wall time: with pack vs without",
            seconds(with_pack.wall),
            seconds(without.wall),
            times(ratio),
            f"target ≤ {TARGET:.2f}x: {'met' if ratio <= TARGET else 'NOT met'}",
        )
        section.add(
            "preview cpu time (engine, language host, provider, pack)",
            seconds(with_pack.cpu),
            seconds(without.cpu),
            times(with_pack.cpu / without.cpu),
        )
        section.add(
            "preview peak memory (largest process)",
            f"{with_pack.max_rss_mib:.0f} MiB",
            f"{without.max_rss_mib:.0f} MiB",
            times(with_pack.max_rss_mib / without.max_rss_mib),
        )
        pack_breakdown(section, repeats, with_pack.cpu - without.cpu)
        spread = [round(s.wall, 1) for s in packed], [round(s.wall, 1) for s in plain]
        section.notes.append(
            f"{repeats} previews each, alternating, after one warm-up; cluster: "
            f"{'the local one' if cluster else 'none reachable (preview needs none)'}; "
            f"wall times with pack {spread[0]} s, without {spread[1]} s"
        )
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return section
