"""Removal-rate alarms: shares against the documents reaching a stage, stop before _COMPLETE, or warn."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from pydantic import ValidationError

from data_platform.alarms import DEDUP_DEFAULTS, Alarms, RemovalAlarm, check
from data_platform.dedup.config import DedupConfig
from data_platform.dedup.run import run_dedup
from data_platform.io.job_output import COMPLETE_MARKER
from tests.conftest import REPO

FUNNEL = {"funnel": [
    {"reason": "malformed_record", "documents_dropped": 10, "documents_left": 990},
    {"reason": "word_count", "documents_dropped": 600, "documents_left": 390},
    {"reason": "duplicate_exact", "documents_dropped": 5, "documents_left": 385},
]}


def test_share_is_of_the_documents_reaching_the_stage():
    alarms = Alarms.model_validate(DEDUP_DEFAULTS.over({"expect": {"word_count": {"max_removed_share": 0.6}}}))
    entries = check(FUNNEL, ["malformed_record", "word_count"], alarms)
    assert entries == [
        {"stage": "malformed_record", "reaching": 1000, "removed": 10, "share": 0.01, "max_removed_share": 0.5,
         "alarm": False},
        {"stage": "word_count", "reaching": 990, "removed": 600, "share": round(600 / 990, 6),
         "max_removed_share": 0.6, "alarm": True},
    ]
    few = Alarms(min_documents=991, expect=alarms.expect)
    assert [e["alarm"] for e in check(FUNNEL, ["word_count"], few)] == [False]


def test_rule_files_name_known_stages_and_merge_over_defaults():
    cfg = DedupConfig.model_validate({"alarms": {"expect": {"duplicate_sentences": {"max_removed_share": 0.1}}}})
    assert cfg.alarms.limit("duplicate_sentences") == 0.1 and cfg.alarms.limit("duplicate_exact") == 0.9
    with pytest.raises(ValidationError, match=r"unknown stages \['duplicate_sentence'\]"):
        DedupConfig.model_validate({"alarms": {"expect": {"duplicate_sentence": {"max_removed_share": 0.1}}}})


def corpus_with_copies(folder, n: int, copies: int):
    """``n`` documents of which ``copies`` are the same text (exact duplicates of each other)."""
    folder.mkdir()
    lines = [{"id": f"d{i:04d}", "text": "the same page again and again" if i < copies else f"page number {i}"}
             for i in range(n)]
    (folder / "docs.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines))
    return folder


def test_dedup_removing_95_percent_stops_before_complete(spark, tmp_path):
    folder = corpus_with_copies(tmp_path / "in", 200, 191)  # 190 of 200 dropped as exact duplicates: 95%
    out = tmp_path / "out"
    with pytest.raises(RemovalAlarm, match=r"^stage duplicate_exact removed 95\.0% of the 200 documents reaching "
                                            r"it \(190\), above its alarm at 90%"):
        run_dedup(spark, [str(folder)], str(out), DedupConfig())
    assert not (out / COMPLETE_MARKER).exists()
    stats = json.loads((out / "stats.json").read_text())
    assert [e["stage"] for e in stats["alarms"]["stages"] if e["alarm"]] == ["duplicate_exact"]


def test_on_alarm_warn_completes(spark, tmp_path, capsys):
    folder = corpus_with_copies(tmp_path / "in", 200, 191)
    cfg = DedupConfig.model_validate({"alarms": {"on_alarm": "warn"}})
    stats = run_dedup(spark, [str(folder)], str(tmp_path / "out"), cfg)
    assert (tmp_path / "out" / COMPLETE_MARKER).exists() and stats["kept"]["documents"] == 10
    assert "warning: stage duplicate_exact removed 95.0%" in capsys.readouterr().err


@pytest.mark.e2e
def test_filter_cli_names_the_stage_in_one_line(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    good = json.dumps({"id": "ok", "text": "A short but perfectly fine document about rivers and bridges."})
    (folder / "docs.jsonl").write_text("".join(f"{{broken {i}\n" for i in range(190)) + (good + "\n") * 10)
    job = [sys.executable, str(REPO / "jobs" / "filter.py"), "--input", str(folder), "--output", str(tmp_path / "o")]
    proc = subprocess.run(job, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert proc.stderr.strip().splitlines()[-1].startswith(
        "error: stage malformed_record removed 95.0% of the 200 documents reaching it (190), above its alarm at 5%")
    assert not (tmp_path / "o" / COMPLETE_MARKER).exists()
    warned = subprocess.run([*job, "--on-alarm", "warn"], capture_output=True, text=True, timeout=300)
    assert warned.returncode == 0 and "warning: stage malformed_record removed 95.0%" in warned.stderr
    assert (tmp_path / "o" / COMPLETE_MARKER).exists()
