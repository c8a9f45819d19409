"""Runs the real Pulumi engine for tests: `scripts/stack.sh` with a private backend, passphrase and workspaces."""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def toolchain_ready() -> bool:
    env = dict(os.environ)
    probe = subprocess.run(
        ["bash", "-c", "source toolchain/env.sh && command -v pulumi && command -v pulumi-language-python"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    return probe.returncode == 0


@dataclass
class PulumiRunner:
    """Runs `scripts/stack.sh` with a private backend, passphrase and workspaces."""

    env: dict[str, str]
    workdir: Path
    log: list[str] = field(default_factory=list)

    def workspace(self, stack: str) -> Path:
        return self.workdir / "workspaces" / stack

    def stack(
        self, stack: str, *args: str, config_from: Path | None = None, timeout: float = 900, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        env = {**self.env, "PHOENIX_WORKSPACE": str(self.workspace(stack))}
        if config_from is not None:
            env["PHOENIX_STACK_CONFIG"] = str(config_from)
        return self._run(["bash", str(ROOT / "scripts" / "stack.sh"), stack, *args], ROOT, env, timeout, check)

    def pulumi(self, cwd: Path, *args: str, timeout: float = 900, check: bool = True) -> subprocess.CompletedProcess[str]:
        command = f'source "{ROOT}/toolchain/env.sh" && exec pulumi "$@"'
        return self._run(["bash", "-c", command, "pulumi", *args, "--non-interactive"], cwd, self.env, timeout, check)

    def _run(
        self, command: list[str], cwd: Path, env: dict[str, str], timeout: float, check: bool
    ) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False)
        output = result.stdout + result.stderr
        self.log.append(f"$ {' '.join(command[-8:])}\n{output}")
        if check and result.returncode != 0:
            raise AssertionError(f"{' '.join(command)} exited {result.returncode}:\n{output[-6000:]}")
        return result
