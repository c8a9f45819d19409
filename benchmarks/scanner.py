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
from benchmarks.corpus import write_corpus

PROD_CONFIG = ROOT / "policy" / "config" / "prod.json"
SCANNER_VENVS = (ROOT / ".venv-scanners", ROOT / ".venv-bench")


def peer_executable(name: str) -> Path | None:
    """Checkov or Trivy from the scanners' virtualenv (issue 6) if there, else from .venv-bench."""
    for venv in SCANNER_VENVS:
        candidate = venv / "bin" / name
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
        corpus = workdir / "corpus"
        documents = write_corpus(corpus, generated)
        ours, peers, missing = scanners(corpus, workdir / "trivy-cache")
        section.notes.extend(missing)
        prefix = offline_prefix()
        env = {**os.environ, "BC_SKIP_MAPPING": "TRUE", "CHECKOV_RUN_SCA_PACKAGE_SCAN_V2": "false"}
        env.pop("BC_API_KEY", None)
        ours_summary = _measure(ours, prefix, repeats, env, 300)
        reported = json.loads(ours_summary.samples[0].stdout)["resources_scanned"]
        if reported != documents:
            raise BenchmarkError(f"policy.scan read {reported} documents of {documents}")
        rate = documents / ours_summary.wall
        section.add(
            f"policy.scan: {documents} documents, wall (cpu)",
            f"{seconds(ours_summary.wall)} ({seconds(ours_summary.cpu)})",
            note=f"{findings(ours.name, ours_summary.samples[0].stdout)} findings, peak {ours_summary.max_rss_mib:.0f} MiB",
        )
        for peer in peers:
            peer_summary = _measure(peer, prefix, peer_repeats, env, 600)
            peer_rate = documents / peer_summary.wall
            section.add(
                f"documents/s vs {peer.name} (wall; cpu-based in brackets)",
                f"{rate:.0f}/s ({documents / ours_summary.cpu:.0f}/s)",
                f"{peer_rate:.1f}/s ({documents / peer_summary.cpu:.1f}/s)",
                f"{times(rate / peer_rate)} ({times(peer_summary.cpu / ours_summary.cpu)})",
                f"{peer.name}: {seconds(peer_summary.wall)}, {findings(peer.name, peer_summary.samples[0].stdout)} findings, "
                f"peak {peer_summary.max_rss_mib:.0f} MiB",
            )
        section.notes.append(
            f"corpus: {generated} generated manifests of {20} kinds (one per file, about a third with a problem) "
            f"and {documents - generated} PSA test Pods; offline via {'unshare --net' if prefix else 'flags only'}; "
            f"medians of {repeats} runs (policy.scan) and {peer_repeats} (peers)"
        )
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return section
