"""Profiles (pyinstrument) of what the benchmarks measure, to find what to make faster.

    .venv-dev/bin/python -m benchmarks.profile [--out DIR] [--services N] [--generated N]

Writes ``scanner.txt`` (policy.scan over the benchmark corpus), ``program.txt`` (the program
under mocks for N services) and ``policies.txt`` (the policy-cost worker) into DIR and prints
the top of each.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from benchmarks.common import DEV_PYTHON, ROOT
from benchmarks.corpus import write_corpus
from benchmarks.scanner import PROD_CONFIG


def profile(out: Path, name: str, module_args: list[str]) -> Path:
    report = out / f"{name}.txt"
    subprocess.run(
        [str(DEV_PYTHON), "-m", "pyinstrument", "--outfile", str(report), "-m", *module_args],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        check=False,
    )
    return report


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.profile", description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=None, help="directory for the reports (default: a new temporary one)")
    parser.add_argument("--services", type=int, default=50)
    parser.add_argument("--generated", type=int, default=1000)
    args = parser.parse_args(argv)
    out: Path = args.out or Path(tempfile.mkdtemp(prefix="phoenix-profiles-"))
    out.mkdir(parents=True, exist_ok=True)
    corpus = out / "corpus"
    write_corpus(corpus, args.generated)
    reports = [
        profile(out, "scanner", ["policy.scan", "--config", str(PROD_CONFIG), "--format", "json", str(corpus)]),
        profile(out, "program", ["benchmarks.program_scale", str(args.services)]),
        profile(out, "policies", ["benchmarks.policy_cost", str(args.generated)]),
    ]
    for report in reports:
        lines = report.read_text(encoding="utf-8").splitlines() if report.exists() else ["(no report)"]
        print(f"===== {report}\n" + "\n".join(lines[:45]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
