"""The deliberately insecure example program trips every mandatory policy of the prod config."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pytest
from policy_testkit import TODAY, program_resources

from policy.config import load_pack_config
from policy.evaluation import Evaluation, evaluate
from policy.model import StackPolicy
from policy.registry import ALL_POLICIES

harness = pytest.importorskip("harness", reason="tests/harness.py (the program harness) is not there yet")

ROOT = Path(__file__).resolve().parents[2]
PROGRAM = ROOT / "tests" / "insecure_program" / "__main__.py"


@cache
def run_insecure_program() -> tuple[list[str], Evaluation]:
    run = harness.run_program("insecure", config={}, secrets={}, program=PROGRAM, project="insecure")
    assert run.error is None, run.error
    config = load_pack_config(ROOT / "policy" / "config" / "prod.json", ALL_POLICIES)
    return [r.name for r in run.resources if r.custom], evaluate(program_resources(run.resources), ALL_POLICIES, config, TODAY)


def test_every_mandatory_policy_fires() -> None:
    _, result = run_insecure_program()
    config = load_pack_config(ROOT / "policy" / "config" / "prod.json", ALL_POLICIES)
    mandatory = {p.name for p in ALL_POLICIES if config.enforcement_level(p).value == "mandatory"}
    assert mandatory == {p.name for p in ALL_POLICIES}
    fired = {f.policy.name for f in result.mandatory}
    assert not mandatory - fired, f"not tripped: {sorted(mandatory - fired)}"
    assert not result.undetermined


def test_each_resource_trips_the_policy_it_is_named_after() -> None:
    names, result = run_insecure_program()
    fired_on = {(f.policy.name, f.resource.logical_name) for f in result.findings if f.resource}
    resource_policies = {p.name for p in ALL_POLICIES if not isinstance(p, StackPolicy)}
    for name in names:
        if name in resource_policies:
            assert (name, name) in fired_on, name
