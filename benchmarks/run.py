"""Runs the four benchmarks and prints one table: figure | this project | peer | ratio.

    .venv-dev/bin/python -m benchmarks.run [--quick] [--only program,scanner,preview,policies]

Each measurement runs in processes of its own and is repeated; the table shows medians. Ratios
are what to compare: absolute times drift on a shared machine. ``--quick`` uses small sizes and
one repeat, for checking that everything works.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import sys
import time
from collections.abc import Callable, Sequence

from benchmarks import policy_cost, preview, program_scale, scanner
from benchmarks.common import BenchmarkError, Section, render_table

MEASUREMENTS = ("program", "scanner", "preview", "policies")


def machine() -> str:
    model = "unknown CPU"
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            model = next(line.split(":", 1)[1].strip() for line in cpuinfo if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    return f"{now}; {os.cpu_count()} cores ({model}); Python {platform.python_version()}; load average {load}"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, one repeat: check that it all works")
    parser.add_argument("--only", default=",".join(MEASUREMENTS), help=f"comma-separated subset of {', '.join(MEASUREMENTS)}")
    parser.add_argument("--repeats", type=int, default=None, help="runs per figure (default 3, quick 1)")
    args = parser.parse_args(argv)
    chosen = [name.strip() for name in args.only.split(",") if name.strip()]
    unknown = sorted(set(chosen) - set(MEASUREMENTS))
    if unknown:
        parser.error(f"unknown measurement(s) {', '.join(unknown)}; choose from {', '.join(MEASUREMENTS)}")
    repeats = args.repeats or (1 if args.quick else 3)
    sizes = [1, 3, 10] if args.quick else [1, 10, 50, 200]
    generated = 100 if args.quick else 1000
    peer_repeats = 1 if args.quick else max(1, repeats - 1)

    plan: dict[str, Callable[[], Section]] = {
        "program": lambda: program_scale.run(sizes, repeats),
        "scanner": lambda: scanner.run(generated, repeats, peer_repeats),
        "preview": lambda: preview.run(repeats),
        "policies": lambda: policy_cost.run(generated, repeats),
    }
    print(f"machine: {machine()}", flush=True)
    sections: list[Section] = []
    failed = False
    for name in MEASUREMENTS:
        if name not in chosen:
            continue
        started = time.perf_counter()
        print(f"[bench] {name} ...", file=sys.stderr, flush=True)
        try:
            section = plan[name]()
        except BenchmarkError as error:
            failed = True
            section = Section(name)
            section.add("not measured", "-", note=str(error).splitlines()[0])
            print(f"[bench] {name} failed: {error}", file=sys.stderr)
        print(f"[bench] {name} took {time.perf_counter() - started:.0f} s", file=sys.stderr, flush=True)
        sections.append(section)
    print(render_table(sections))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
