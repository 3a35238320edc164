"""Quality head and domain tags: the shipped head ranks held-out labelled texts, the training command reports,
the tag job writes columns/meta/stats, the funnel can threshold on the score."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

REPO = Path(__file__).resolve().parents[1]
HEAD = REPO / "models" / "quality" / "head.pt"
LABELLED = REPO / "models" / "quality" / "labelled.parquet"
PROSE = ("Public libraries have long served as quiet anchors in the life of a town. Long before the internet made "
         "information easy to find, a library card offered anyone access to books, newspapers and a warm place "
         "to read, and librarians helped people find what they needed.")
JUNK = ("Buy now!!! 70% off $$$ click here\nHome | Login | Cart\ncasino poker cheap casino bonus jackpot\n"
        "47 | 207.8 | 730")


def test_shipped_head_scores_correlate_with_held_out_labels():
    from data_platform.tagging.quality_head import score_texts
    from data_platform.tagging.train_quality import evaluate

    table = pq.read_table(LABELLED).to_pandas()
    test = table[table["split"] == "test"].iloc[::2]  # every other held-out row keeps the test short
    pred = score_texts(test["text"].tolist(), str(HEAD), device="cpu")
    metrics = evaluate(pred, test["score"].to_numpy(), 3.0)
    assert len(test) >= 50 and metrics["spearman"] > 0.8 and metrics["f1"] > 0.8
    assert pred.min() >= 0 and pred.max() <= 5


def test_training_command_reports_f1_and_confusion(tmp_path):
    import pyarrow as pa

    from data_platform.tagging.train_quality import main

    rng = np.random.default_rng(0)
    rows = [{"text": PROSE if i % 2 else JUNK + f" {i}", "score": 4.5 if i % 2 else 0.5,
             "split": "test" if i % 5 == 0 else "train"} for i in range(40)]
    rng.shuffle(rows)
    pq.write_table(pa.Table.from_pylist(rows), tmp_path / "lab.parquet")
    out = tmp_path / "head.pt"
    args = ["--epochs", "100", "--lr", "0.01", "--max-tokens", "64"]
    assert main(["--data", str(tmp_path / "lab.parquet"), "--out", str(out), *args]) == 0
    metrics = json.loads(out.with_suffix(".metrics.json").read_text())
    assert metrics["rows"] == 8 and metrics["f1"] == 1.0
    assert np.array(metrics["confusion"]).sum() == 8


def test_training_command_fine_tunes_the_encoder(tmp_path):
    import pyarrow as pa

    from data_platform.tagging.quality_head import encoder_of, load_head, score_texts
    from data_platform.tagging.train_quality import main

    rows = [{"text": PROSE[:80] if i % 2 else JUNK[:40], "score": 4.0 if i % 2 else 1.0,
             "split": "test" if i < 2 else "train"} for i in range(8)]
    pq.write_table(pa.Table.from_pylist(rows), tmp_path / "lab.parquet")
    out = tmp_path / "head.pt"
    args = ["--fine-tune-encoder", "--epochs", "1", "--max-tokens", "16", "--batch-size", "6"]
    assert main(["--data", str(tmp_path / "lab.parquet"), "--out", str(out), *args]) == 0
    assert load_head(str(out))[1]["encoder"] == "head-encoder"
    assert encoder_of(str(out)) == str(tmp_path / "head-encoder") and (tmp_path / "head-encoder").is_dir()
    assert score_texts(["some text"], str(out), device="cpu").shape == (1,)


def test_training_command_rejects_bad_input(tmp_path, capsys):
    import pyarrow as pa

    from data_platform.tagging.train_quality import main

    pq.write_table(pa.table({"text": ["a", "b"], "score": [1.0, 9.0]}), tmp_path / "bad.parquet")
    assert main(["--data", str(tmp_path / "bad.parquet"), "--out", str(tmp_path / "h.pt")]) == 2
    assert capsys.readouterr().err.startswith("error: ") and not (tmp_path / "h.pt").exists()


def test_domain_prototypes_classify_obvious_texts():
    from data_platform.semantic.encoder import embed_texts
    from data_platform.tagging.config import load_domains
    from data_platform.tagging.domains import centroids, classify

    examples = load_domains(REPO / "rules" / "tags" / "domains.yaml")
    names, cents = centroids(examples, lambda t: embed_texts(t, max_tokens=128, device="cpu"))
    docs = {"code": "import os\nfor name in os.listdir(path):\n    if name.endswith('.py'):\n        print(name)",
            "medical": "Take one tablet twice a day with food. Side effects may include nausea and headache; "
                       "tell your doctor if you are pregnant.",
            "ads_spam": "HUGE SALE!!! Cheap watches and handbags, 90% off, click now, free shipping, limited offer!",
            "legal": "The parties agree that any dispute arising under this contract shall be settled by "
                     "arbitration in accordance with the laws of the state."}
    got, conf = classify(embed_texts(list(docs.values()), max_tokens=128, device="cpu"), names, cents, 0.05)
    assert got == list(docs) and (conf > 1 / len(names)).all()


def test_domain_file_errors_name_the_line(tmp_path):
    from data_platform.tagging.config import load_domains
    from data_platform.yaml_lines import ConfigError

    bad = tmp_path / "d.yaml"
    bad.write_text("categories:\n  code: ['x']\n  news: []\n")
    with pytest.raises(ConfigError, match=r"d.yaml:1: categories: .*'news'"):
        load_domains(bad)


def test_quality_rule_thresholds_in_the_funnel(tmp_path):
    from data_platform.config import load_rules
    from data_platform.funnel import process_batch
    from tests.conftest import raw_batch

    rules = tmp_path / "q.yaml"
    rules.write_text(f"order: [quality_score]\nrules:\n  quality_score: {{min: 2.5, head: {HEAD}}}\n")
    out = process_batch(raw_batch([{"id": "prose", "text": PROSE, "lang": "en"},
                                   {"id": "junk", "text": JUNK, "lang": "en"}]), load_rules(rules)).to_pylist()
    verdict = {r["id"]: r["drop_reason"] for r in out}
    assert verdict == {"prose": None, "junk": "quality_score"}
    value = {r["id"]: r["rules"][0]["value"] for r in out}
    assert value["prose"] > 2.5 > value["junk"]


def test_tag_job_writes_columns_meta_and_stats(spark, tmp_path):
    from data_platform.config import load_rules
    from data_platform.tagging.run import run_tagging, tag_settings
    from jobs.tag import main

    src = tmp_path / "in.jsonl"
    docs = [{"id": "prose", "text": PROSE}, {"id": "junk", "text": JUNK},
            {"id": "code", "text": "def add(a, b):\n    return a + b\n\nprint(add(1, 2))"}]
    src.write_text("".join(json.dumps(d) + "\n" for d in docs) + '{"id": "empty", "text": ""}\n')
    settings = tag_settings(load_rules(REPO / "rules" / "default.yaml"))
    settings = dataclasses.replace(settings, embed=settings.embed.model_copy(update={"device": "cpu"}))
    stats = run_tagging(spark, [str(src)], str(tmp_path / "out"), settings)
    assert stats["accounting"]["ok"] and (tmp_path / "out" / "_COMPLETE").exists()
    kept = {r["id"]: r for r in spark.read.parquet(str(tmp_path / "out" / "kept")).collect()}
    assert set(kept) == {"prose", "junk", "code"}
    assert kept["prose"]["quality_score"] > kept["junk"]["quality_score"]
    assert kept["prose"]["quality_int"] == round(kept["prose"]["quality_score"])
    assert kept["code"]["domain"] == "code" and 0 < kept["code"]["domain_confidence"] <= 1
    assert dict(kept["prose"]["meta"])["domain"] == kept["prose"]["domain"]
    meta_score = float(dict(kept["prose"]["meta"])["quality_score"])
    assert meta_score == pytest.approx(kept["prose"]["quality_score"], abs=1e-3)
    assert sum(d["documents"] for d in stats["tags"]["domains"].values()) == 3
    assert stats["dropped"]["documents"] == 1  # the empty record, passed through with its reason
    assert main(["--config", str(tmp_path / "missing.yaml")]) == 2
