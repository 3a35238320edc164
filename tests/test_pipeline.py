"""The pipeline job: filter -> dedup -> shards on a small known corpus; accounting across stages, resume after an
interruption with byte-identical shards, a changed threshold rerunning that stage and the later ones only."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from data_platform.io.job_output import COMPLETE_MARKER
from data_platform.pipeline.recipe import load_recipe
from data_platform.pipeline.runner import run_pipeline
from data_platform.pipeline.shards import ShardsConfig, plan, run_shards, safe_name
from data_platform.yaml_lines import ConfigError
from tests.conftest import REPO

RULES = """\
order: [word_count, char_repetition]
rules:
  word_count: {min: %(min_words)d}
  char_repetition: {max: 0.5, n: 10}
"""

RECIPE = """\
name: tiny
inputs: [docs.jsonl]
stages:
  - name: filter
    kind: filter
    rules: rules.yaml
  - name: dedup
    kind: dedup
    dedup:
      minhash: {num_perm: 64, threshold: %(threshold)s}
      sentences: {enabled: false}
  - name: shards
    kind: shards
    shards: {target_documents: 3}
card: {licences: [made up for the test]}
"""


def _words(i: int, n: int) -> str:
    """``n`` distinct letter-only words for document ``i`` (dedup normalizes digits, so no digits here)."""
    return " ".join(hashlib.sha1(f"{i}-{j}".encode()).hexdigest().translate(_LETTERS)[:8] for j in range(n))


_LETTERS = str.maketrans("0123456789", "ghijklmnop")


def corpus() -> list[dict]:
    """12 distinct documents in two sources (one with a '/') and two languages, 2 exact copies, 1 near
    duplicate (one word changed out of 60), 3 too short (< 5 words)."""
    docs = [{"id": f"d{i:02d}", "text": _words(i, 60), "source": "web/forum" if i % 2 else "books",
             "lang": "en" if i < 8 else "de"} for i in range(12)]
    docs += [{**docs[0], "id": "z-copy-a"}, {**docs[3], "id": "z-copy-b"}]
    docs.append({**docs[5], "id": "z-near", "text": docs[5]["text"].replace(_words(5, 31).split()[30], "changed")})
    docs += [{"id": f"short{i}", "text": "too short", "source": "books", "lang": "en"} for i in range(3)]
    return docs


def write_recipe(folder, min_words: int = 5, threshold: float = 0.8) -> str:
    (folder / "rules.yaml").write_text(RULES % {"min_words": min_words})
    (folder / "recipe.yaml").write_text(RECIPE % {"threshold": threshold})
    return str(folder / "recipe.yaml")


def shard_hashes(out) -> dict[str, str]:
    man = json.loads((out / "manifest.json").read_text())
    return {s["path"]: hashlib.sha256((out / s["path"]).read_bytes()).hexdigest() for s in man["shards"]}


@pytest.fixture(scope="module")
def run(spark, tmp_path_factory):
    folder = tmp_path_factory.mktemp("pipeline")
    with open(folder / "docs.jsonl", "w") as f:
        f.writelines(json.dumps(d) + "\n" for d in corpus())
    out = folder / "out"
    stats = run_pipeline(spark, load_recipe(write_recipe(folder)), str(out), log=lambda _: None)
    return folder, out, stats


def test_accounting_across_the_whole_pipeline(run):
    _, out, stats = run
    filt, dedup, shards = stats["stages"]
    assert (filt["documents_in"], filt["documents_out"], filt["dropped_by_reason"]["word_count"]["documents"]) \
        == (18, 15, 3)
    assert dedup["documents_in"] == 15 and dedup["documents_out"] == 12
    assert dedup["dropped_by_reason"]["duplicate_exact"]["documents"] == 2
    assert dedup["dropped_by_reason"]["duplicate_minhash"]["documents"] == 1
    assert shards["documents_in"] == shards["documents_out"] == 12
    acc = stats["accounting"]
    assert acc["ok"] and acc["input"] == 18 == acc["dropped"] + acc["kept"] and acc["shard_documents"] == 12
    # each stage's own stats.json says the same
    for st in stats["stages"]:
        own = json.loads((out / st["folder"] / "stats.json").read_text())
        assert own["input_documents"] == st["documents_in"] and own["kept"]["documents"] == st["documents_out"]
    assert json.loads((out / "stats.json").read_text())["accounting"]["ok"]
    assert (out / COMPLETE_MARKER).exists() and "Pipeline report" in (out / "report.html").read_text()
    assert stats["stages"][0]["by_source"]["books"]["documents_in"] == 10


def test_shards_manifest_and_card(run):
    _, out, stats = run
    man = json.loads((out / "manifest.json").read_text())
    ids, chars = [], 0
    for s in man["shards"]:
        path = out / s["path"]
        table = pq.read_table(path)
        rows = table.to_pylist()
        assert len(rows) == s["documents"] > 0 and sum(len(r["text"]) for r in rows) == s["characters"]
        assert {r["source"] for r in rows} == {s["source"]} and {r["lang"] for r in rows} == {s["lang"]}
        assert [r["id"] for r in rows] == sorted(r["id"] for r in rows)
        assert hashlib.sha256(path.read_bytes()).hexdigest() == s["sha256"] and path.stat().st_size == s["bytes"]
        assert path.parent.parent.name == safe_name(s["source"])
        ids += [r["id"] for r in rows]
        chars += s["characters"]
    assert sorted(ids) == [f"d{i:02d}" for i in range(12)]  # duplicates and short documents gone
    assert man["totals"] == {"shards": len(man["shards"]), "documents": 12, "characters": chars,
                             "bytes": sum(s["bytes"] for s in man["shards"])}
    assert len(man["shards"]) >= 4 and man["by_source"]["web/forum"]["documents"] == 6
    assert set(man["by_lang"]) == {"en", "de"}
    assert man["version"] == stats["version"] and len(man["version"]["id"]) == 16
    card = (out / "README.md").read_text()
    assert man["version"]["id"] in card and "made up for the test" in card and "| dedup | dedup | 15 | 12 |" in card


def test_interrupted_run_recomputes_only_later_stages(spark, run):
    folder, out, _ = run
    before = shard_hashes(out)
    (out / "stages" / "01-dedup" / COMPLETE_MARKER).unlink()  # killed while dedup was writing
    stats = run_pipeline(spark, load_recipe(folder / "recipe.yaml"), str(out), log=lambda _: None)
    assert stats["run"]["stages_skipped"] == ["filter"] and stats["run"]["stages_run"] == ["dedup", "shards"]
    assert shard_hashes(out) == before
    again = run_pipeline(spark, load_recipe(folder / "recipe.yaml"), str(out), log=lambda _: None)
    assert again["run"]["stages_run"] == [] and again["version"] == stats["version"]


def test_changed_threshold_reruns_that_stage_and_later(spark, run):
    folder, out, first = run
    stats = run_pipeline(spark, load_recipe(write_recipe(folder, threshold=0.7)), str(out), log=lambda _: None)
    assert stats["run"]["stages_skipped"] == ["filter"] and stats["run"]["stages_run"] == ["dedup", "shards"]
    assert stats["version"]["id"] != first["version"]["id"] and stats["accounting"]["ok"]


def test_rule_file_contents_are_in_the_fingerprint(tmp_path):
    """Editing the rule file the filter stage points at (same path) changes that stage's fingerprint."""
    from data_platform.pipeline.fingerprint import digest

    before = digest(load_recipe(write_recipe(tmp_path)).stages[0].config)
    assert digest(load_recipe(write_recipe(tmp_path)).stages[0].config) == before
    assert digest(load_recipe(write_recipe(tmp_path, min_words=70)).stages[0].config) != before


def test_recipe_errors_name_file_line_and_key(tmp_path):
    path = write_recipe(tmp_path, threshold=1.5)
    with pytest.raises(ConfigError, match=r"recipe.yaml:10: stages\[1\]\.dedup\.minhash\.threshold: "):
        load_recipe(path)
    (tmp_path / "bad.yaml").write_text("name: x\ninputs: [a]\nstages:\n  - {name: s, kind: nope}\n")
    with pytest.raises(ConfigError, match=r"bad.yaml:4: stages\[0\]\.kind: unknown stage kind 'nope'"):
        load_recipe(tmp_path / "bad.yaml")
    (tmp_path / "order.yaml").write_text("name: x\ninputs: [a]\nstages:\n  - {name: s, kind: shards}\n"
                                         "  - {name: f, kind: filter, rules: r.yaml}\n")
    with pytest.raises(ConfigError, match=r"order.yaml:4: stages\[0\]\.kind: a shards stage must be the last"):
        load_recipe(tmp_path / "order.yaml")


def test_job_reports_a_bad_recipe_in_one_line(tmp_path):
    (tmp_path / "r.yaml").write_text("name: x\ninputs: [a]\nstages:\n  - {name: s, kind: shards, shards: "
                                     "{target_bytes: lots}}\n")
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run([sys.executable, str(REPO / "jobs" / "pipeline.py"), "--config", str(tmp_path / "r.yaml")],
                          capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        f"error: {tmp_path / 'r.yaml'}:4: stages[0].shards.target_bytes: Value error, a size such as 256MB, "
        "1GiB or 5000000"]


def test_shard_plan_and_names():
    cfg = ShardsConfig(target_bytes="1KB", target_documents=10)
    groups = plan([{"source": "b", "lang": "en", "documents": 25, "bytes": 500},
                   {"source": "a", "lang": "de", "documents": 2, "bytes": 2500}], cfg)
    assert [(g["source"], g["shards"], g["offset"]) for g in groups] == [("a", 3, 0), ("b", 3, 3)]
    assert ShardsConfig(target_bytes="256MB").target_bytes == 256 * 10**6
    assert safe_name("books") == "books" and safe_name(None) == "unknown"
    assert safe_name("a/b") != safe_name("a_b") and safe_name("a/b").startswith("a_b-")


def test_shards_carry_the_listed_and_the_quality_prefixed_columns(spark, tmp_path):
    rows = [{"id": f"d{i}", "text": "x" * i, "url": None, "source": "web", "lang": "en", "n_chars": i,
             "quality_bucket": i % 2, "quality_kenlm": 0.5, "domain": "news", "extra": 1} for i in range(4)]
    pq.write_table(pa.Table.from_pylist(rows), tmp_path / "in.parquet")
    stats = run_shards(spark, [str(tmp_path / "in.parquet")], str(tmp_path / "out"), ShardsConfig())
    written = [*ShardsConfig().columns, "domain", "quality_bucket", "quality_kenlm"]
    assert stats["shards"]["columns"] == written
    shards = json.loads((tmp_path / "out" / "shards.json").read_text())
    table = pa.concat_tables(pq.read_table(tmp_path / "out" / s["path"]) for s in shards)
    assert table.column_names == written and sorted(table["quality_bucket"].to_pylist()) == [0, 0, 1, 1]


@pytest.mark.e2e
def test_semantic_and_tag_stages_in_a_recipe(spark, tmp_path):
    """filter -> semantic -> tag -> shards: the two exact copies leave as duplicate_semantic (the near copy, one
    random letter-string word changed of 60, stays: MiniLM puts it below cosine 0.93), the shards carry the
    quality and domain columns, and the accounting holds across the four stages."""
    with open(tmp_path / "docs.jsonl", "w") as f:
        f.writelines(json.dumps(d) + "\n" for d in corpus())
    (tmp_path / "rules.yaml").write_text(RULES % {"min_words": 5})
    rules = REPO / "rules" / "default.yaml"
    (tmp_path / "recipe.yaml").write_text(
        "name: neural\ninputs: [docs.jsonl]\nstages:\n  - {name: filter, kind: filter, rules: rules.yaml}\n"
        f"  - {{name: semantic, kind: semantic, rules: {rules}}}\n  - {{name: tag, kind: tag, rules: {rules}}}\n"
        "  - {name: shards, kind: shards}\n")
    out = tmp_path / "out"
    stats = run_pipeline(spark, load_recipe(tmp_path / "recipe.yaml"), str(out), log=lambda _: None)
    filt, sem, tag, shards = stats["stages"]
    assert (filt["documents_out"], sem["documents_in"]) == (15, 15)
    assert sem["dropped_by_reason"]["duplicate_semantic"]["documents"] == 2 and sem["documents_out"] == 13
    assert tag["documents_in"] == tag["documents_out"] == shards["documents_out"] == 13
    assert stats["accounting"]["ok"] and stats["accounting"]["shard_documents"] == 13
    man = json.loads((out / "manifest.json").read_text())
    rows = [r for s in man["shards"] for r in pq.read_table(out / s["path"]).to_pylist()]
    assert sorted(r["id"] for r in rows) == [*(f"d{i:02d}" for i in range(12)), "z-near"]
    assert all(0 <= r["quality_score"] <= 5 and r["domain"] for r in rows)


def test_drop_reasons_are_ordered_by_stage_kind():
    from data_platform import schema as S

    pre = list(S.PRE_RULE_REASONS)
    dups = ["duplicate_exact", "duplicate_minhash", "duplicate_paragraphs", "duplicate_sentences"]
    assert S.drop_reason_order("filter", ["word_count"]) == [*pre, "word_count"]
    assert S.drop_reason_order("dedup") == [*pre, *dups]
    assert S.drop_reason_order("semantic") == S.drop_reason_order("tag") == [*pre, *dups, "duplicate_semantic"]
    with pytest.raises(KeyError, match="no stage kind 'shards'"):
        S.drop_reason_order("shards")
