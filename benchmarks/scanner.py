"""(2) Scanner throughput: ``python -m policy.scan`` against Checkov and Trivy on the same files.

All three scan one directory (the generated corpus plus the PSA corpus), each as its CLI is
normally run, start-up included, and entirely offline: Checkov with ``--framework kubernetes
--skip-download``, Trivy with ``--skip-check-update --skip-version-check --disable-telemetry``
(its embedded checks) and only its Kubernetes scanner. Where the benchmark runs as root each
command also runs in a network namespace of its own (``unshare --net``: loopback only), so no
scanner can wait on the network.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.common import DEV_PYTHON, ROOT, BenchmarkError, Section, Summary, repeat, seconds, times
from benchmarks.corpus import KINDS, write_corpus

PROD_CONFIG = ROOT / "policy" / "config" / "prod.json"


def peer_executable(name: str) -> Path | None:
    """Checkov or Trivy from the scanner gate's virtualenvs (scripts/scan-manifests.sh makes
    .venv-scanners/<name>) when there, else from the benchmarks' own .venv-bench."""
    for candidate in (ROOT / ".venv-scanners" / name / "bin" / name, ROOT / ".venv-bench" / "bin" / name):
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    return None


def offline_prefix() -> list[str]:
    """`unshare --net` where we may create a network namespace (root), else nothing."""
    unshare = shutil.which("unshare")
    if unshare and os.geteuid() == 0 and subprocess.run([unshare, "--net", "true"], check=False).returncode == 0:
        return [unshare, "--net"]
    return []


@dataclass(frozen=True)
class Scanner:
    name: str
    command: list[str]
    ok_codes: tuple[int, ...]


def scanners(corpus: Path, cache: Path) -> tuple[Scanner, list[Scanner], list[str]]:
    """This project's scanner, the peers that are installed, and notes on those that are not."""
    ours = Scanner(
        "policy.scan",
        [str(DEV_PYTHON), "-m", "policy.scan", "--config", str(PROD_CONFIG), "--format", "json", str(corpus)],
        (0, 1),
    )
    peers: list[Scanner] = []
    missing: list[str] = []
    checkov = peer_executable("checkov")
    if checkov:
        peers.append(
            Scanner(
                "Checkov",
                [str(checkov), "-d", str(corpus), "--framework", "kubernetes", "--skip-download", "-o", "json", "--quiet"],
                (0, 1),
            )
        )
    else:
        missing.append("Checkov is not installed (scripts/bench.sh --setup installs it into .venv-bench)")
    trivy = peer_executable("trivy")
    if trivy:
        peers.append(
            Scanner(
                "Trivy",
                [
                    str(trivy),
                    "config",
                    "--skip-check-update",
                    "--skip-version-check",
                    "--disable-telemetry",
                    "--misconfig-scanners",
                    "kubernetes",
                    "--cache-dir",
                    str(cache),
                    "--format",
                    "json",
                    "--quiet",
                    str(corpus),
                ],
                (0,),
            )
        )
    else:
        missing.append("Trivy is not installed (scripts/bench.sh --setup installs it into .venv-bench)")
    return ours, peers, missing


def version(scanner: Scanner) -> str:
    """The peer's version, as it reports it."""
    probe = subprocess.run([scanner.command[0], "--version"], capture_output=True, text=True, check=False, timeout=120)
    return probe.stdout.strip().splitlines()[0].removeprefix("Version: ") if probe.stdout.strip() else "?"


def findings(scanner: str, output: str) -> int:
    """How many findings a scanner's JSON reports (a sanity check that it really scanned)."""
    data = json.loads(output)
    if scanner == "policy.scan":
        return len(data["findings"])
    if scanner == "Checkov":
        reports: Sequence[dict[str, Any]] = data if isinstance(data, list) else [data]
        return sum(int(report["summary"]["failed"]) for report in reports)
    return sum(len(result.get("Misconfigurations") or []) for result in data.get("Results") or [])


def _measure(scanner: Scanner, prefix: list[str], count: int, env: dict[str, str], timeout: float) -> Summary:
    return repeat(count, [*prefix, *scanner.command], env=env, timeout=timeout, ok_codes=scanner.ok_codes)


def run(generated: int, repeats: int, peer_repeats: int) -> Section:
    section = Section("2. Scanner throughput")
    workdir = Path(tempfile.mkdtemp(prefix="phoenix-bench-scan-"))
    try:
        corpus, single = workdir / "corpus", workdir / "single"
        documents = write_corpus(corpus, generated)
        single.mkdir()
        shutil.copyfile(next(corpus.glob("generated/*-deployment.yaml")), single / "deployment.yaml")
        ours, peers, missing = scanners(corpus, workdir / "trivy-cache")
        ours_single, peers_single, _ = scanners(single, workdir / "trivy-cache")
        section.notes.extend(missing)
        prefix = offline_prefix()
        env = {**os.environ, "BC_SKIP_MAPPING": "TRUE", "CHECKOV_RUN_SCA_PACKAGE_SCAN_V2": "false"}
        env.pop("BC_API_KEY", None)
        full = _measure(ours, prefix, repeats, env, 300)
        start_up = _measure(ours_single, prefix, repeats, env, 300)
        reported = json.loads(full.samples[0].stdout)["resources_scanned"]
        if reported != documents:
            raise BenchmarkError(f"policy.scan read {reported} documents of {documents}")
        section.add(
            f"policy.scan: {documents} documents, wall (cpu)",
            f"{seconds(full.wall)} ({seconds(full.cpu)})",
            note=f"{findings(ours.name, full.samples[0].stdout)} findings, peak {full.max_rss_mib:.0f} MiB",
        )
        rate, cpu_rate = documents / full.wall, documents / full.cpu
        steady = (documents - 1) / max(full.wall - start_up.wall, 1e-9)
        steady_cpu = (documents - 1) / max(full.cpu - start_up.cpu, 1e-9)
        for peer, peer_single in zip(peers, peers_single, strict=True):
            peer_full = _measure(peer, prefix, peer_repeats, env, 600)
            peer_start = _measure(peer_single, prefix, peer_repeats, env, 600)
            peer_rate, peer_cpu_rate = documents / peer_full.wall, documents / peer_full.cpu
            section.add(
                f"documents/s vs {peer.name}, whole run (cpu-based in brackets)",
                f"{rate:.0f}/s ({cpu_rate:.0f}/s)",
                f"{peer_rate:.1f}/s ({peer_cpu_rate:.1f}/s)",
                f"{times(rate / peer_rate)} ({times(cpu_rate / peer_cpu_rate)})",
                f"{peer.name} {version(peer)}: {seconds(peer_full.wall)} ({seconds(peer_full.cpu)}), "
                f"{findings(peer.name, peer_full.samples[0].stdout)} findings, peak {peer_full.max_rss_mib:.0f} MiB",
            )
            peer_steady = (documents - 1) / max(peer_full.wall - peer_start.wall, 1e-9)
            peer_steady_cpu = (documents - 1) / max(peer_full.cpu - peer_start.cpu, 1e-9)
            section.add(
                f"documents/s vs {peer.name}, after start-up (cpu-based)",
                f"{steady:.0f}/s ({steady_cpu:.0f}/s)",
                f"{peer_steady:.1f}/s ({peer_steady_cpu:.1f}/s)",
                f"{times(steady / peer_steady)} ({times(steady_cpu / peer_steady_cpu)})",
                f"start-up (1 document): {seconds(start_up.wall)} ({seconds(start_up.cpu)}) vs "
                f"{seconds(peer_start.wall)} ({seconds(peer_start.cpu)})",
            )
        section.notes.append(
            f"corpus: {generated} generated manifests of {len(KINDS)} kinds (one per file, about a third with a problem) "
            f"and {documents - generated} PSA test Pods; offline via {'unshare --net' if prefix else 'flags only'}; "
            f"medians of {repeats} runs (policy.scan) and {peer_repeats} (peers); 'after start-up' = (documents - 1) / "
            "(time for all - time for one document)"
        )
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return section
