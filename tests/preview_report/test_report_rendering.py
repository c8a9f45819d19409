"""The preview report's renderer on event streams recorded from real previews.

The fixtures are `PULUMI_ENABLE_STREAMING_JSON_PREVIEW=1 scripts/stack.sh dev preview --json
--policy-pack policy --policy-pack-config policy/config/dev.json` against the local cluster (kept
with `scripts/preview-report.sh dev --events-out FILE`), trimmed of debug diagnostics and output
events, with the old and new state kept only for changed resources:

- create.jsonl: an empty stack;
- same.jsonl: right after `up`;
- change.jsonl: orchestrator `autoscaling.maxReplicas` 3 -> 4;
- insecure.jsonl: the memory service's image from docker.io (the program accepts it; the pack's
  mandatory image-allowed-registry refuses it);
- replace.jsonl: storage class `encrypted: "false"` (a replacement, the pack's mandatory
  storage-class-encryption, and the API server refusing the claim's new spec).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))

import preview_report  # noqa: E402

FIXTURES = Path(__file__).resolve().parent / "fixtures"


def preview(name: str) -> preview_report.Preview:
    return preview_report.parse("dev", preview_report.read_events((FIXTURES / f"{name}.jsonl").read_text()))


def markdown(name: str) -> str:
    return preview_report.render(preview(name), "policy/config/dev.json")


def test_unchanged_stack_reports_no_changes_and_passes() -> None:
    result = preview("same")
    assert result.changes == []
    assert result.unchanged > 40
    assert not result.blocked
    text = markdown("same")
    assert "no changes" in text and "✅" in text
    assert "### To" not in text


def test_create_lists_every_resource_to_create() -> None:
    result = preview("create")
    assert {change.op for change in result.changes} == {"create"}
    names = {change.name for change in result.changes}
    assert {"dev-orchestrator-deployment", "phoenix-dev-network-default-deny", "phoenix-dev-quota"} <= names
    assert f"### To create ({len(result.changes)})" in markdown("create")


def test_one_value_change_shows_exactly_the_changed_properties_before_and_after() -> None:
    result = preview("change")
    assert {(change.op, change.name) for change in result.changes} == {
        ("update", "dev-orchestrator-autoscaler"),
        ("update", "phoenix-dev-quota"),
    }
    hpa = next(change for change in result.changes if change.name == "dev-orchestrator-autoscaler")
    assert hpa.kubernetes_name == "phoenix-dev/orchestrator"
    assert [(p.path, p.kind, p.before, p.after) for p in hpa.properties] == [("spec.maxReplicas", "update", 3, 4)]
    quota = next(change for change in result.changes if change.name == "phoenix-dev-quota")
    pods = next(p for p in quota.properties if p.path == "spec.hard.pods")
    assert (pods.before, pods.after) == ("10", "11")
    assert any(p.path == 'spec.hard["limits.cpu"]' for p in quota.properties)
    text = markdown("change")
    assert "| `spec.maxReplicas` | update | `3` | `4` |" in text
    assert "2 to update" in text
    assert not result.blocked


def test_insecure_change_is_blocked_with_the_violation_under_its_severity_and_its_fix() -> None:
    result = preview("insecure")
    assert result.blocked
    [violation] = result.mandatory
    assert violation.policy == "image-allowed-registry"
    assert violation.severity == "high"
    assert violation.resource == "dev-memory-deployment"
    assert "allowedRegistries" in violation.fix
    assert not violation.fix.lower().startswith("fix")
    text = markdown("insecure")
    assert "blocked: 1 mandatory policy violation" in text
    high = text.split("#### High (1)", 1)[1]
    assert "| **mandatory** | `image-allowed-registry` | `dev-memory-deployment` |" in high
    assert "docker.io/qdrant/qdrant@sha256:" in text  # the changed image, after
    assert "Preview errors" not in text  # "preview failed" only repeats the violation


def test_replacement_shows_its_reasons_and_the_preview_error() -> None:
    result = preview("replace")
    replaced = {change.name: change for change in result.changes if change.op == "replace"}
    assert {"phoenix-dev-storage-class", "phoenix-dev-storage-memory"} <= set(replaced)
    assert replaced["phoenix-dev-storage-class"].replace_reasons == ["parameters.encrypted"]
    assert [p.kind for p in replaced["phoenix-dev-storage-class"].properties] == ["update-replace"]
    assert [v.policy for v in result.mandatory] == ["storage-class-encryption"]
    assert result.errors and "immutable" in result.errors[0]
    text = markdown("replace")
    assert "### To replace" in text and "replaced because of `parameters.encrypted`" in text
    assert "### Preview errors" in text


@pytest.mark.parametrize(
    ("path", "parts"),
    [
        ("spec.maxReplicas", ["spec", "maxReplicas"]),
        ('spec.hard["limits.cpu"]', ["spec", "hard", "limits.cpu"]),
        ("spec.template.spec.containers[0].image", ["spec", "template", "spec", "containers", 0, "image"]),
        ('metadata.labels["app.kubernetes.io/name"]', ["metadata", "labels", "app.kubernetes.io/name"]),
    ],
)
def test_property_paths(path: str, parts: list[str | int]) -> None:
    assert preview_report.property_path(path) == parts


def test_secret_values_are_never_shown() -> None:
    secret = {preview_report.SIG_KEY: preview_report.SECRET_SIG, "ciphertext": "abc"}
    assert preview_report.show(secret) == "`[secret]`"
    assert "abc" not in preview_report.show({"data": secret})
    events = [
        {
            "resourcePreEvent": {
                "metadata": {
                    "op": "update",
                    "urn": "urn:pulumi:dev::phoenix::kubernetes:core/v1:Secret::s",
                    "type": "kubernetes:core/v1:Secret",
                    "old": {"inputs": {"stringData": secret}, "outputs": {"stringData": secret}},
                    "new": {"inputs": {"stringData": secret}},
                    "detailedDiff": {"stringData.key": {"diffKind": "update", "inputDiff": True}},
                }
            }
        }
    ]
    text = preview_report.render(preview_report.parse("dev", events), "policy/config/dev.json")
    assert "| `stringData.key` | update | `[secret]` | `[secret]` |" in text
    assert "abc" not in text


def test_message_split_into_summary_detail_and_fix() -> None:
    summary, detail, fix = preview_report.split_message("Title.\nwhat is wrong\nFix: do this.\n")
    assert (summary, detail, fix) == ("Title.", "what is wrong", "do this.")


def test_long_reports_are_cut_below_githubs_comment_limit() -> None:
    result = preview("create")
    result.errors = ["x" * 1500] * 60
    text = preview_report.render(result, "policy/config/dev.json")
    assert len(text) <= preview_report.MAX_MARKDOWN + 200
    assert "report cut" in text


@pytest.mark.parametrize(("name", "status"), [("same", 0), ("change", 0), ("insecure", 1), ("replace", 1)])
def test_command_writes_the_report_and_exits_non_zero_when_blocked(name: str, status: int, tmp_path: Path) -> None:
    out = tmp_path / "report.md"
    assert preview_report.main(["dev", "--events", str(FIXTURES / f"{name}.jsonl"), "--out", str(out)]) == status
    assert out.read_text().startswith("<!-- phoenix-preview-report:dev -->")


def test_unreadable_output_is_a_failed_preview(tmp_path: Path) -> None:
    events = tmp_path / "broken.jsonl"
    events.write_text("error: something went wrong\n")
    out = tmp_path / "report.md"
    assert preview_report.main(["dev", "--events", str(events), "--out", str(out)]) == 1
    assert "the preview failed" in out.read_text()
