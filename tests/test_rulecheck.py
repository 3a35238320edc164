"""Rule regression examples (check) and one-document explanations (explain)."""

from __future__ import annotations

from pathlib import Path

import pytest

from data_platform.config import load_rules
from data_platform.rulecheck import check, doc_from_run, run_docs
from data_platform.rules.__main__ import main
from tests.conftest import REPO

RULE_FILES = sorted(p for p in (REPO / "rules").glob("*.yaml") if not p.name.endswith(".examples.yaml"))


@pytest.mark.parametrize("rule_file", RULE_FILES, ids=lambda p: p.name)
def test_project_rule_files_examples_hold(rule_file: Path):
    outcomes = check(load_rules(rule_file))
    assert outcomes, f"{rule_file.name} ships no examples"
    assert [o.example.id for o in outcomes if not o.ok] == []
    langs = {o.doc["lang"] for o in outcomes if o.example.expect == "kept"}
    assert len(langs) >= 5


def copy_rules(tmp_path: Path, change: tuple[str, str] | None = None) -> Path:
    text = (REPO / "rules" / "default.yaml").read_text()
    if change:
        assert change[0] in text
        text = text.replace(*change)
    folder = tmp_path / "rules"
    folder.mkdir()
    (folder / "rules.yaml").write_text(text)
    (folder / "default.examples.yaml").write_text((REPO / "rules" / "default.examples.yaml").read_text())
    (folder / "wordlists").symlink_to(REPO / "rules" / "wordlists")
    (folder / "urls").symlink_to(REPO / "rules" / "urls")
    (folder / "patterns").symlink_to(REPO / "rules" / "patterns")
    (tmp_path / "models").symlink_to(REPO / "models")
    return folder / "rules.yaml"


def test_check_cli_passes_on_the_default_rules(tmp_path, capsys):
    assert main(["check", str(copy_rules(tmp_path))]) == 0
    assert "33 of 33 examples hold" in capsys.readouterr().out


def test_flipping_a_threshold_fails_the_check_naming_example_and_rule(tmp_path, capsys):
    # base64 blobs are dropped at base64_ratio > 0.2; allowing 100% makes the base64 example slip through.
    path = copy_rules(tmp_path, ("base64_ratio: {max: 0.2, min_run: 64}", "base64_ratio: {max: 1.0, min_run: 64}"))
    assert main(["check", str(path)]) == 1
    out = capsys.readouterr().out
    assert "FAILED base64-blob: expected dropped by base64_ratio" in out
    assert "base64_ratio" in out and "32 of 33 examples hold" in out


def test_bad_example_is_a_config_error(tmp_path, capsys):
    path = tmp_path / "r.yaml"
    path.write_text("version: 1\norder: [word_count]\nrules: {word_count: {min: 1}}\n"
                    "examples:\n  - {id: x, text: hi, expect: dropped}\n")
    assert main(["check", str(path)]) == 2
    assert "examples[0]" in capsys.readouterr().err


def test_explain_prints_every_rule_in_order(capsys, ruleset):
    assert main(["explain", str(REPO / "rules" / "default.yaml"), "--text", "Home\nLogin"]) == 0
    out = capsys.readouterr().out
    assert "DROPPED by" in out
    table = out[out.index("rules in funnel order"):]
    positions = [table.index(name) for name in ruleset.order]
    assert positions == sorted(positions)


@pytest.mark.e2e
def test_explain_agrees_with_the_recorded_run(spark, ruleset, tmp_path):
    from data_platform.filter_run import FilterRun, run_filter
    from tests.conftest import SAMPLE

    out = tmp_path / "run"
    run_filter(spark, FilterRun([str(SAMPLE / "synthetic.jsonl"), str(SAMPLE / "pages.warc.gz")], str(out), ruleset))
    import pyarrow.dataset as ds

    recorded = {d["id"]: d for part in ("kept", "dropped")
                for d in ds.dataset(str(out / part), format="parquet").to_table().to_pylist()}
    ids = sorted(recorded)[:: max(1, len(recorded) // 12)]
    for doc_id in ids:
        again = run_docs(ruleset, [doc_from_run(out, doc_id)])[0]
        want = recorded[doc_id]
        assert again["drop_reason"] == want["drop_reason"], doc_id
        assert [(r["name"], r["value"], r["passed"]) for r in again["rules"]] == \
            [(r["name"], r["value"], r["passed"]) for r in want["rules"]], doc_id
