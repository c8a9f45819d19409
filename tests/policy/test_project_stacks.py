"""The project's own dev and prod programs, under mocks, pass every policy with zero violations."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import pytest
from policy_testkit import TODAY, program_resources

from policy.config import load_pack_config
from policy.evaluation import evaluate
from policy.registry import ALL_POLICIES

harness = pytest.importorskip("harness", reason="tests/harness.py (the program harness) is not there yet")

CONFIG_DIR = Path(__file__).resolve().parents[2] / "policy" / "config"


@cache
def run(stack: str) -> Any:
    return harness.run_program(stack)


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_stack_has_zero_violations_under_its_config(stack: str) -> None:
    program_run = run(stack)
    assert program_run.error is None, program_run.error
    resources = program_resources(program_run.resources)
    assert resources, "the program registered nothing"
    config = load_pack_config(CONFIG_DIR / f"{stack}.json", ALL_POLICIES)
    result = evaluate(resources, ALL_POLICIES, config, TODAY)
    assert not result.undetermined, [(u.policy.name, u.message) for u in result.undetermined]
    assert not result.findings, [
        (f.policy.name, f.resource.describe() if f.resource else None, f.message) for f in result.findings
    ]


def test_prod_program_is_also_clean_for_the_strictest_defaults() -> None:
    # Prod must not rely on any relaxation beyond the orchestrator's token and the registry.
    program_run = run("prod")
    config = load_pack_config(CONFIG_DIR / "prod.json", ALL_POLICIES)
    assert all(config.enforcement_level(p).value == "mandatory" for p in ALL_POLICIES)
    assert not evaluate(program_resources(program_run.resources), ALL_POLICIES, config, TODAY).findings
