"""(4) Policy evaluation cost, in-process: per resource and per policy, with the slowest named.

Resources are the prod stack's, as the program registers them under mocks, and the generated
corpus read by the scanner's own reader, all as policies see them at run time (through the
SDK's deserializer and unknown-checking proxy). Each policy runs over every resource, with the
prod policy config, repeatedly until enough time has passed to be measurable; the worker runs
in its own process (``python -m benchmarks.policy_cost N``) and prints JSON.
"""

from __future__ import annotations

import dataclasses
import functools
import gc
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from benchmarks.common import DEV_PYTHON, ROOT, Section, repeat, seconds, times

MIN_SECONDS = 0.05  # measure each policy for at least this long


def _timed(action: Callable[[], object], min_seconds: float = MIN_SECONDS) -> float:
    """CPU seconds per call of `action`, over as many calls as fit in `min_seconds` (at least 3).
    CPU rather than wall time: on a shared machine, time spent waiting for a core is not the
    policy's."""
    gc.collect()
    calls, started = 0, time.process_time()
    while True:
        action()
        calls += 1
        elapsed = time.process_time() - started
        if elapsed >= min_seconds and calls >= 3:
            return elapsed / calls


def worker(generated: int) -> None:
    sys.path[:0] = [str(ROOT), str(ROOT / "tests"), str(ROOT / "tests" / "policy")]
    from harness import run_program
    from policy_testkit import program_resources

    from benchmarks.corpus import write_corpus
    from policy.config import load_pack_config
    from policy.evaluation import evaluate, resource_violations, stack_violations, today
    from policy.model import Resource, ResourcePolicy, StackPolicy
    from policy.registry import ALL_POLICIES
    from policy.scan import collect_files, read_documents

    program = run_program("prod")
    if program.error is not None:
        raise SystemExit(f"the prod program failed under mocks: {program.error}")
    resources: list[Resource] = program_resources(program.resources)
    program_count = len(resources)
    with tempfile.TemporaryDirectory(prefix="phoenix-bench-policy-") as directory:
        write_corpus(Path(directory), generated)
        files = collect_files([directory])
        read_seconds = _timed(lambda: [read_documents(path) for path in files], 0.2)
        resources += [document.resource for path in files for document in read_documents(path)]
    config = load_pack_config(ROOT / "policy" / "config" / "prod.json", ALL_POLICIES)
    on = today()
    count = len(resources)

    # Fresh Resource objects for every timed pass: what a policy or the pack derives from a
    # resource once (its pod template) must be paid for in each pass, as in a real scan.
    def fresh(originals: list[Resource]) -> list[Resource]:
        return [dataclasses.replace(resource) for resource in originals]

    copy_seconds = _timed(lambda: fresh(resources))
    per_policy: list[dict[str, Any]] = []
    for policy in ALL_POLICIES:
        properties = config.properties_for(policy)
        if isinstance(policy, ResourcePolicy):
            resource_policy = policy
            subset = [resource for resource in resources if resource_policy.applies(resource)]

            def run_one(
                resource_policy: ResourcePolicy = resource_policy,
                properties: dict[str, Any] = properties,
                over: list[Resource] = resources,
            ) -> None:
                for resource in fresh(over):
                    resource_violations(resource_policy, resource, properties, on)

            total = _timed(run_one) - copy_seconds
            # Only the resources it applies to, for its cost per such resource.
            only = (_timed(functools.partial(run_one, over=subset)) - copy_seconds * len(subset) / count) if subset else 0.0
        else:
            subset = resources
            stack_policy: StackPolicy = policy

            def run_stack(stack_policy: StackPolicy = stack_policy, properties: dict[str, Any] = properties) -> None:
                stack_violations(stack_policy, fresh(resources), properties, on)

            total = only = _timed(run_stack) - copy_seconds
        per_policy.append(
            {
                "policy": policy.name,
                "scope": "resource" if isinstance(policy, ResourcePolicy) else "stack",
                "seconds": total,
                "applicable": len(subset),
                "applicable_seconds": only,
            }
        )
    evaluate_seconds = _timed(lambda: evaluate(fresh(resources), ALL_POLICIES, config, on), 0.5) - copy_seconds
    print(
        json.dumps(
            {
                "resources": count,
                "program_resources": program_count,
                "documents": count - program_count,
                "read_seconds_per_document": read_seconds / (count - program_count),
                "evaluate_seconds": evaluate_seconds,
                "policies": per_policy,
            }
        )
    )


def run(generated: int, repeats: int) -> Section:
    section = Section("4. Policy evaluation cost (in-process, prod config)")
    summary = repeat(repeats, [str(DEV_PYTHON), "-m", "benchmarks.policy_cost", str(generated)], timeout=600)
    reports = [json.loads(sample.stdout.strip().splitlines()[-1]) for sample in summary.samples]
    report = reports[0]
    count = int(report["resources"])

    def median(values: Sequence[float]) -> float:
        return statistics.median(values)

    evaluate_per_resource = median([r["evaluate_seconds"] for r in reports]) / count
    read_per_document = median([r["read_seconds_per_document"] for r in reports])
    policies: dict[str, dict[str, Any]] = {p["policy"]: dict(p) for p in report["policies"]}
    for name, entry in policies.items():
        entry["seconds"] = median([next(p["seconds"] for p in r["policies"] if p["policy"] == name) for r in reports])
        entry["per_resource"] = entry["seconds"] / count
        entry["per_applicable"] = median(
            [next(p["applicable_seconds"] for p in r["policies"] if p["policy"] == name) for r in reports]
        ) / max(1, entry["applicable"])
    per_resource = [entry["per_resource"] for entry in policies.values()]
    typical = median(per_resource)
    section.add(
        f"all {len(policies)} policies, per resource ({count} resources)",
        seconds(evaluate_per_resource),
        f"read 1 YAML document: {seconds(read_per_document)}",
        times(evaluate_per_resource / read_per_document),
        "peer: what the scanner spends reading and preparing a document",
    )
    section.add(
        "one policy, per resource: mean",
        seconds(sum(per_resource) / len(per_resource)),
        f"median: {seconds(typical)}",
        times(sum(per_resource) / len(per_resource) / typical),
    )
    slowest = sorted(policies.values(), key=lambda entry: entry["per_resource"], reverse=True)[:5]
    for rank, entry in enumerate(slowest, start=1):
        section.add(
            f"slowest #{rank}: `{entry['policy']}` ({entry['scope']}), per resource",
            seconds(entry["per_resource"]),
            f"median policy: {seconds(typical)}",
            times(entry["per_resource"] / typical),
            f"{seconds(entry['per_applicable'])} per resource it applies to ({entry['applicable']})",
        )
    applying = [entry for entry in policies.values() if entry["applicable"]]
    costliest = max(applying, key=lambda entry: entry["per_applicable"])
    typical_applying = median([entry["per_applicable"] for entry in applying])
    section.add(
        f"slowest per resource it applies to: `{costliest['policy']}`",
        seconds(costliest["per_applicable"]),
        f"median policy: {seconds(typical_applying)}",
        times(costliest["per_applicable"] / typical_applying),
        f"applies to {costliest['applicable']} of {count}",
    )
    section.notes.append(
        "ranked by cost per resource over all resources (each policy's share of an evaluation); "
        f"{report['program_resources']} resources of the prod program under mocks and {report['documents']} documents of "
        f"the scan corpus; each policy timed over all of them, medians of {repeats} processes"
    )
    return section


if __name__ == "__main__":
    worker(int(sys.argv[1]))
