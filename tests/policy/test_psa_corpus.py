"""Kubernetes' own Pod Security Admission test corpus (v1.37) as ground truth.

Every fail file must be caught by the policy for its control (the file stem minus trailing
digits); no pass file may be flagged by any policy of its profile (restricted includes baseline).
The corpus is read in place from ../shared/corpus; the test is skipped where it is absent.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from policy_testkit import TODAY, resource

from policy.config import effective_properties
from policy.evaluation import resource_violations
from policy.model import PSS, ResourcePolicy
from policy.registry import ALL_POLICIES

CORPUS = Path(__file__).resolve().parents[2] / ".." / "shared" / "corpus" / "pod-security-admission"
VERSION = "v1.37"


def pss_policies(profile: str) -> dict[str, ResourcePolicy]:
    """PSS policies of a profile keyed by lower-cased PSA control ID."""
    levels = {"baseline"} if profile == "baseline" else {"baseline", "restricted"}
    found: dict[str, ResourcePolicy] = {}
    for policy in ALL_POLICIES:
        for framework in policy.frameworks:
            if framework.name == PSS and isinstance(policy, ResourcePolicy):
                level, control = framework.control.split("/")
                if level in levels:
                    found[control.lower()] = policy
    return found


def corpus_files(profile: str, outcome: str) -> list[Path]:
    directory = CORPUS / profile / VERSION / outcome
    return sorted(directory.glob("*.yaml")) if directory.is_dir() else []


def violations(policy: ResourcePolicy, path: Path) -> list[str]:
    manifest = yaml.safe_load(path.read_text())
    return resource_violations(policy, resource(manifest), effective_properties(policy, None), TODAY)


pytestmark = pytest.mark.skipif(not CORPUS.is_dir(), reason="PSA corpus not present at ../shared/corpus")

FAIL_CASES = [(p, f) for p in ("baseline", "restricted") for f in corpus_files(p, "fail")]
PASS_CASES = [(p, f) for p in ("baseline", "restricted") for f in corpus_files(p, "pass")]


@pytest.mark.parametrize(("profile", "path"), FAIL_CASES, ids=[f"{p}/{f.name}" for p, f in FAIL_CASES])
def test_fail_file_is_caught_by_its_control(profile: str, path: Path) -> None:
    control = re.sub(r"\d+$", "", path.stem)
    policies = pss_policies(profile)
    assert control in policies, f"no policy for control {control}"
    assert violations(policies[control], path), f"{policies[control].name} did not catch {path.name}"


@pytest.mark.parametrize(("profile", "path"), PASS_CASES, ids=[f"{p}/{f.name}" for p, f in PASS_CASES])
def test_pass_file_is_clean_for_its_profile(profile: str, path: Path) -> None:
    flagged = {policy.name: v for policy in pss_policies(profile).values() if (v := violations(policy, path))}
    assert not flagged


def test_every_corpus_control_has_a_policy() -> None:
    for profile in ("baseline", "restricted"):
        controls = {re.sub(r"\d+$", "", f.stem) for f in corpus_files(profile, "fail")}
        assert controls <= set(pss_policies(profile))


# HostProcess pods must also use the host network, so those fail files trip hostNamespaces too.
PREREQUISITES = {"windowshostprocess": {"hostnamespaces"}}


def test_fail_files_break_only_their_own_control_in_baseline() -> None:
    # Guards against over-broad checks: a baseline fail file trips its control and nothing else.
    policies = pss_policies("baseline")
    for path in corpus_files("baseline", "fail"):
        control = re.sub(r"\d+$", "", path.stem)
        fired = {name for name, policy in policies.items() if violations(policy, path)}
        assert fired == {control} | PREREQUISITES.get(control, set()), path.name
