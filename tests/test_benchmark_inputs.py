"""The benchmarks' generated inputs stay valid as the program and the policies change (the
benchmarks themselves run only through scripts/bench.sh, never in the test command)."""

from __future__ import annotations

from pathlib import Path

from harness import run_program

from benchmarks.corpus import KINDS, write_corpus
from benchmarks.program_scale import generated_config
from policy.scan import collect_files, read_documents


def test_generated_stacks_run_under_mocks_and_grow_per_service() -> None:
    sizes = {}
    for services in (1, 4):
        config, secrets = generated_config(services)
        result = run_program("prod", config=config, secrets=secrets)
        assert result.error is None, result.error
        sizes[services] = len(result.resources)
    assert sizes[4] > sizes[1]


def test_generated_corpus_is_scannable_and_mixed(tmp_path: Path) -> None:
    documents = write_corpus(tmp_path / "corpus", 60)
    files = collect_files([str(tmp_path / "corpus")])
    resources = [d.resource for path in files for d in read_documents(path)]
    assert len(resources) == documents
    kinds = {r.kind for r in resources[:60]}
    assert len(kinds) >= len(KINDS) // 2
