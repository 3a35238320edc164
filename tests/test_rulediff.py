"""What-if diff between two rule files: known inputs, known changed documents."""

from __future__ import annotations

import json

from data_platform.config import load_rules
from data_platform.funnel import process_batch
from data_platform.io import records as R
from data_platform.rulediff import NEWLY_DROPPED, NEWLY_KEPT, SAME, diff_batch
from tests.conftest import SAMPLE

RULES = """\
version: 1
order: [word_count, special_char_ratio, word_repetition]
rules:
  word_count: {min: 20}
  special_char_ratio: {max: 0.3}
  word_repetition: {max: 0.3}
"""


def sample_batch():
    lines = (SAMPLE / "synthetic.jsonl").read_bytes().splitlines()
    return R.to_batch([R.parse_json_line(ln, "synthetic.jsonl", R.FieldMap(), "synthetic") for ln in lines])


def rules(tmp_path, name: str, text: str):
    path = tmp_path / name
    path.write_text(text)
    return load_rules(path)


def test_diff_of_a_file_with_itself_is_empty(tmp_path, ruleset):
    rows = diff_batch(sample_batch(), ruleset, ruleset).to_pylist()
    assert len(rows) == 36 and all(r["change"] == SAME for r in rows)


def test_diff_job_of_a_file_with_itself_has_no_groups(spark, tmp_path, ruleset):
    from data_platform.rulediff import run_diff

    summary = run_diff(spark, ruleset, ruleset, [str(SAMPLE / "synthetic.jsonl")], str(tmp_path / "diff"))
    assert summary["documents"] == 36 and summary["groups"] == []


def test_single_threshold_change_lists_exactly_the_documents_between_thresholds(tmp_path):
    old = rules(tmp_path, "old.yaml", RULES)
    new = rules(tmp_path, "new.yaml", RULES.replace("word_count: {min: 20}", "word_count: {min: 60}"))
    batch = sample_batch()
    counted = {d["id"]: d["rules"][0]["value"] for d in process_batch(batch, old).to_pylist() if d["rules"]}
    expected = {i for i, wc in counted.items() if 20 <= wc < 60}
    assert expected  # the sample has documents in that band
    rows = diff_batch(batch, old, new).to_pylist()
    changed = {r["id"] for r in rows if r["change"] != SAME}
    assert changed == expected
    assert all(r["change"] == NEWLY_DROPPED and r["rule"] == "word_count" for r in rows if r["id"] in changed)
    back = diff_batch(batch, new, old).to_pylist()  # and the reverse edit keeps exactly them again
    assert {r["id"] for r in back if r["change"] == NEWLY_KEPT} == expected


def test_value_parameters_are_recomputed_not_reused(tmp_path):
    old = rules(tmp_path, "old.yaml", RULES)
    new = rules(tmp_path, "new.yaml", RULES.replace("word_repetition: {max: 0.3}", "word_repetition: {max: 0.3, n: 1}"))
    rows = diff_batch(sample_batch(), old, new).to_pylist()
    # with n = 1 every repeated word counts: prose that passed at n = 5 now fails
    assert any(r["change"] == NEWLY_DROPPED and r["rule"] == "word_repetition" for r in rows)
    full = {d["id"]: d["drop_reason"] for d in process_batch(sample_batch(), new).to_pylist()}
    assert all(r["new_reason"] == full[r["id"]] for r in rows)


def test_diff_job_writes_summary_and_page(spark, tmp_path):
    from data_platform.rulediff import run_diff

    old = rules(tmp_path, "old.yaml", RULES)
    new = rules(tmp_path, "new.yaml", RULES.replace("word_count: {min: 20}", "word_count: {min: 60}"))
    summary = run_diff(spark, old, new, [str(SAMPLE / "synthetic.jsonl")], str(tmp_path / "diff"))
    expected = diff_batch(sample_batch(), old, new).to_pylist()
    assert summary["documents"] == 36
    assert summary["changed"][NEWLY_DROPPED] == sum(r["change"] == NEWLY_DROPPED for r in expected)
    page = (tmp_path / "diff" / "diff.html").read_text()
    assert "newly_dropped · word_count" in page and "<script" not in page
    assert json.loads((tmp_path / "diff" / "diff.json").read_text())["groups"][0]["rule"] == "word_count"


def test_line_cleaning_change_is_diffed_with_each_files_cleaning(tmp_path):
    # Only clean.lines differs: with min_words 3 the 2-word line goes, leaving 3 words < word_count's min 4.
    base = "version: 1\norder: [word_count]\nrules: {word_count: {min: 4}}\n"
    old = rules(tmp_path, "old.yaml", base)
    new = rules(tmp_path, "new.yaml", base + "clean: {lines: {min_words: 3, min_remaining_chars: 0, "
                                             "min_remaining_share: 0}}\n")
    batch = R.to_batch([R.parse_json_line(b'{"id": "d", "text": "one two three.\\nSee more."}', "x.jsonl",
                                          R.FieldMap(), "x")])
    [row] = diff_batch(batch, old, new).to_pylist()
    assert row["change"] == NEWLY_DROPPED and row["rule"] == "word_count"
