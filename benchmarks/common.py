"""Shared pieces: measuring a command in its own process, medians, and the result table."""

from __future__ import annotations

import os
import signal
import statistics
import subprocess
import tempfile
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEV_PYTHON = ROOT / ".venv-dev" / "bin" / "python"


class BenchmarkError(Exception):
    """A measurement that could not be taken; the message says why."""


@dataclass(frozen=True)
class Sample:
    """One run of a command: wall time, CPU time (user + system, the command and every process it
    waited for) and peak resident memory of its largest process."""

    wall: float
    cpu: float
    max_rss_mib: float
    returncode: int
    stdout: str
    stderr: str


def measure(
    command: Sequence[str],
    *,
    cwd: Path = ROOT,
    env: Mapping[str, str] | None = None,
    timeout: float = 300,
    ok_codes: Sequence[int] = (0,),
) -> Sample:
    """Runs `command` once in a new process group and measures it with wait4's resource usage."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        process = subprocess.Popen(
            list(command), cwd=cwd, env=dict(env) if env is not None else None, stdout=out, stderr=err, start_new_session=True
        )
        timed_out = threading.Event()

        def kill() -> None:
            timed_out.set()
            os.killpg(process.pid, signal.SIGKILL)

        timer = threading.Timer(timeout, kill)
        timer.start()
        try:
            _, status, usage = os.wait4(process.pid, 0)
        finally:
            timer.cancel()
        wall = time.perf_counter() - start
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout = out.read().decode(errors="replace")
        stderr = err.read().decode(errors="replace")
    if timed_out.is_set():
        raise BenchmarkError(f"{' '.join(command[:4])} ... took longer than {timeout:.0f} s")
    if process.returncode not in ok_codes:
        raise BenchmarkError(f"{' '.join(command[:4])} ... exited {process.returncode}:\n{(stdout + stderr)[-3000:]}")
    return Sample(
        wall=wall,
        cpu=usage.ru_utime + usage.ru_stime,
        max_rss_mib=usage.ru_maxrss / 1024,  # KiB on Linux
        returncode=process.returncode,
        stdout=stdout,
        stderr=stderr,
    )


@dataclass(frozen=True)
class Summary:
    """Medians over repeated samples."""

    wall: float
    cpu: float
    max_rss_mib: float
    samples: tuple[Sample, ...]

    @staticmethod
    def of(samples: Sequence[Sample]) -> Summary:
        return Summary(
            wall=statistics.median(s.wall for s in samples),
            cpu=statistics.median(s.cpu for s in samples),
            max_rss_mib=statistics.median(s.max_rss_mib for s in samples),
            samples=tuple(samples),
        )


def repeat(
    count: int,
    command: Sequence[str],
    *,
    cwd: Path = ROOT,
    env: Mapping[str, str] | None = None,
    timeout: float = 300,
    ok_codes: Sequence[int] = (0,),
) -> Summary:
    """`count` runs of `command`, summarised by their medians."""
    return Summary.of([measure(command, cwd=cwd, env=env, timeout=timeout, ok_codes=ok_codes) for _ in range(count)])


@dataclass(frozen=True)
class Row:
    """One line of the result table: a figure for this project, its peer, and their ratio."""

    figure: str
    this: str
    peer: str = "-"
    ratio: str = "-"
    note: str = ""


@dataclass
class Section:
    title: str
    rows: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def add(self, figure: str, this: str, peer: str = "-", ratio: str = "-", note: str = "") -> None:
        self.rows.append(Row(figure, this, peer, ratio, note))


def seconds(value: float) -> str:
    if value < 0.001:
        return f"{value * 1e6:.1f} µs"
    if value < 1:
        return f"{value * 1000:.1f} ms"
    return f"{value:.2f} s"


def times(value: float) -> str:
    return f"{value:.2f}x" if value < 10 else f"{value:.0f}x"


def render_table(sections: Sequence[Section]) -> str:
    """A Markdown table, one block of rows per measurement, with its notes after the table."""
    header = ("figure", "this project", "peer", "ratio", "")
    lines = [f"| {' | '.join(header)} |", "|" + "---|" * len(header)]
    notes: list[str] = []
    for section in sections:
        lines.append(f"| **{section.title}** | | | | |")
        for row in section.rows:
            lines.append(f"| {row.figure} | {row.this} | {row.peer} | {row.ratio} | {row.note} |")
        notes.extend(f"- {section.title}: {note}" for note in section.notes)
    return "\n".join(lines + (["", *notes] if notes else []))
