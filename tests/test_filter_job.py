"""The filter job on Spark (local[2]) over the bundled sample, and its command-line errors."""

from __future__ import annotations

import json
import subprocess
import sys

import pyarrow.dataset as ds
import pytest

from data_platform.filter_run import FilterRun, run_filter
from data_platform.io.job_output import COMPLETE_MARKER
from tests.conftest import REPO, SAMPLE

# The rule(s) each kind of labelled synthetic junk must fail (at least one of the set). An earlier rule in the
# funnel's order (often langid) may be the one recorded as drop_reason.
MUST_FAIL = {
    "boilerplate_spam": {"word_repetition", "char_repetition"},
    "keyword_stuffing": {"char_repetition", "flagged_word_ratio", "stopword_ratio"},
    "digit_table": {"digit_punct_line_ratio"},
    "base64_blob": {"base64_ratio"},
    "repeated_lines": {"word_repetition"},
    "very_short": {"word_count", "short_line_ratio"},
    "short_lines_menu": {"short_line_ratio"},
    "special_chars": {"special_char_ratio"},
}
# Kinds made of lines line cleaning removes (symbols-only lines, navigation leftovers).
LINE_CLEANED = {"digit_table", "special_chars", "short_lines_menu", "very_short"}


def table(path):
    return ds.dataset(str(path), format="parquet").to_table().to_pylist()


@pytest.fixture(scope="module")
def sample_run(spark, ruleset, tmp_path_factory):
    out = tmp_path_factory.mktemp("filter") / "out"
    stats = run_filter(spark, FilterRun([str(SAMPLE)], str(out), ruleset))
    return out, stats, table(out / "kept"), table(out / "dropped")


def test_accounting_holds_and_is_written(sample_run):
    out, stats, kept, dropped = sample_run
    # 160 pages + 36 synthetic + 8 non-blank bad lines + 16 WARC pages + 2 records of the truncated WARC
    assert stats["input_documents"] == 222
    assert len(kept) + len(dropped) == 222 and stats["accounting"]["ok"]
    assert json.loads((out / "stats.json").read_text())["kept"]["documents"] == len(kept)
    assert (out / COMPLETE_MARKER).exists() and not (out / "_staging").exists()


def test_funnel_stats_follow_priority_order(sample_run, ruleset):
    _, stats, _, dropped = sample_run
    reasons = [s["reason"] for s in stats["funnel"]]
    assert reasons[8:] == ruleset.order  # after the quarantine reasons
    counted = {s["reason"]: s["documents_dropped"] for s in stats["funnel"]}
    for reason in {d["drop_reason"] for d in dropped}:
        assert counted[reason] == sum(d["drop_reason"] == reason for d in dropped)
    assert stats["funnel"][-1]["documents_left"] == stats["kept"]["documents"]
    assert set(stats["by_lang"]) >= {"zh", "en", "de", "fr", "ja", "ru", "es", "it"}


def test_labelled_junk_is_dropped_by_the_right_rule(sample_run):
    _, _, kept, dropped = sample_run
    by_id = {d["id"]: d for d in dropped}
    synthetic = [d for d in kept + dropped if d["source"] == "synthetic"]
    for doc in synthetic:
        kind = dict(doc["meta"])["synthetic_kind"]
        if kind == "clean_control":
            assert doc["drop_reason"] is None, doc["id"]
        else:
            assert doc["id"] in by_id, doc["id"]
            if doc["drop_reason"] == "too_little_text":  # line cleaning removed its junk lines before the rules
                assert kind in LINE_CLEANED, doc["id"]
                continue
            failing = [r["name"] for r in doc["rules"] if not r["passed"]]
            assert MUST_FAIL[kind] & set(failing), (doc["id"], failing)
            assert failing[0] == doc["drop_reason"]  # the first failing rule in funnel order decides


def test_every_kept_document_passes_every_enforced_rule(sample_run, ruleset):
    _, _, kept, _ = sample_run
    assert len(kept) > 150
    for doc in kept:
        names = [r["name"] for r in doc["rules"]]
        assert set(names) == {n for n, _ in ruleset.resolve(doc["lang"], doc["source"]).rules}
        assert all(r["passed"] or not r["enforced"] for r in doc["rules"]), doc["id"]


def test_bad_input_lands_in_dropped_with_reasons(sample_run):
    _, _, kept, dropped = sample_run
    reasons = {d["id"]: d["drop_reason"] for d in dropped}
    assert reasons["bad/notext-1"] == "empty_text" and reasons["bad/empty-1"] == "empty_text"
    assert reasons["bad/binary-1"] == "binary_content"
    assert reasons["bad/html-notext-1"] == "extract_failed"
    malformed = [d for d in dropped if d["drop_reason"] == "malformed_record"]
    assert len(malformed) == 4  # bad JSON, bad UTF-8, a JSON list, the truncated WARC record
    assert any("truncated WARC" in d["drop_detail"] for d in malformed)
    html_kept = [d for d in kept if d["source"].startswith("debian-doc/")]
    assert all(dict(d["meta"]).get("title") for d in html_kept)  # title kept from extraction


@pytest.mark.e2e
def test_kept_output_passes_the_funnel_again(spark, ruleset, sample_run, tmp_path):
    out, _, kept, _ = sample_run
    stats = run_filter(spark, FilterRun([str(out / "kept")], str(tmp_path / "again"), ruleset))
    assert stats["input_documents"] == len(kept) and stats["kept"]["documents"] == len(kept)


def test_html_files_and_overwrite_protection(spark, ruleset, tmp_path):
    pages = tmp_path / "pages"
    pages.mkdir()
    body = ("<p>Debian is a free operating system made by volunteers from all over the world. It ships tens of "
            "thousands of packages, and every release is tested for many months before it is declared stable. "
            "Users can install it on laptops, servers and small boards alike.</p>")
    (pages / "a.html").write_text(f"<html><head><title>A</title></head><body>{body}</body></html>")
    (pages / "b.htm").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00binary")
    (pages / "notes.txt").write_text("ignored: not a known format inside a folder")
    stats = run_filter(spark, FilterRun([str(pages)], str(tmp_path / "o"), ruleset, source="local-html"))
    assert stats["input_documents"] == 2 and stats["kept"]["documents"] == 1
    assert stats["run"]["ignored_files"][0].endswith("notes.txt")
    from data_platform.io.job_output import OutputExistsError

    with pytest.raises(OutputExistsError):
        run_filter(spark, FilterRun([str(pages)], str(tmp_path / "o"), ruleset, overwrite=False))


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(REPO / "jobs" / "filter.py"), *args], capture_output=True, text=True,
                          timeout=300)


def test_cli_bad_rule_file_fails_before_spark(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("version: 1\norder: [word_count]\nrules:\n  word_count: {min: many}\n")
    proc = run_cli("--rules", str(bad), "--output", str(tmp_path / "o"))
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert proc.stderr.strip() == (f"error: {bad}:4: rules.word_count.min: "
                                   "Input should be a valid number, unable to parse string as a number")


@pytest.mark.e2e
def test_cli_missing_input_is_one_line(tmp_path):
    proc = run_cli("--input", str(tmp_path / "nowhere"), "--output", str(tmp_path / "o"))
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert f"error: input not found: {tmp_path / 'nowhere'}" in proc.stderr.strip().splitlines()[-1]


def test_unknown_format_is_a_clear_error(spark, ruleset, tmp_path):
    from data_platform.io.spark_io import InputError

    notes = tmp_path / "notes.txt"
    notes.write_text("plain text")
    with pytest.raises(InputError, match=r"unknown input format for .*notes.txt; pass --format"):
        run_filter(spark, FilterRun([str(notes)], str(tmp_path / "o"), ruleset))


def test_job_output_is_complete_only_after_finish(spark, tmp_path):
    from data_platform.io.hadoop_fs import write_text
    from data_platform.io.job_output import JobOutput

    out = tmp_path / "o"
    with pytest.raises(RuntimeError, match="killed"), JobOutput(spark, str(out)) as job:
        write_text(spark, job.file("kept"), "partial")
        raise RuntimeError("killed")
    assert (out / "kept").exists() and not (out / COMPLETE_MARKER).exists()
    with JobOutput(spark, str(out), overwrite=False) as job:  # an interrupted run is no completed run: cleared
        assert not (out / "kept").exists() and (out / "_checkpoints").is_dir()
        job.finish({"input_documents": 3, "accounting": {"ok": True}}, shards=1)
    assert json.loads((out / COMPLETE_MARKER).read_text()) == {"input_documents": 3, "shards": 1}
    assert json.loads((out / "stats.json").read_text())["input_documents"] == 3
    assert not (out / "_checkpoints").exists()
