"""Quality scorers (hf, fasttext, head) against calling the models directly; the tag job with scorers, ensemble
and buckets end to end; rescue of rule-dropped documents in the funnel."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import REPO, raw_batch

WORDS = ("the of and river stone light water garden model data train cat dog house book music night city "
         "window paper tree road small green old new quick brown fox jumps over lazy").split()


def _texts(n: int, seed: int = 0) -> list[str]:
    rng = np.random.default_rng(seed)
    return [" ".join(rng.choice(WORDS, size=int(rng.integers(3, 120)))) for _ in range(n)] + ["", "x"]


def make_hf_model(folder: Path, num_labels: int = 1, max_len: int = 64) -> Path:
    """A tiny randomly initialised BERT regression (or classification) model in the FineWeb-Edu classifier's
    layout: config.json, model.safetensors, tokenizer.json (a WordPiece vocabulary trained here)."""
    import torch
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors, trainers
    from transformers import BertConfig, BertForSequenceClassification, BertTokenizerFast

    tok = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    tok.train_from_iterator(_texts(200, 1), trainers.WordPieceTrainer(vocab_size=200, special_tokens=specials))
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]",
        special_tokens=[("[CLS]", tok.token_to_id("[CLS]")), ("[SEP]", tok.token_to_id("[SEP]"))])
    fast = BertTokenizerFast(tokenizer_object=tok, model_max_length=max_len, pad_token="[PAD]", unk_token="[UNK]",
                             cls_token="[CLS]", sep_token="[SEP]", mask_token="[MASK]")
    torch.manual_seed(0)
    labels = {"id2label": {i: f"class_{i}" for i in range(num_labels)}} if num_labels > 1 else {}
    cfg = BertConfig(vocab_size=tok.get_vocab_size(), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                     intermediate_size=64, max_position_embeddings=max_len, num_labels=num_labels,
                     problem_type="regression" if num_labels == 1 else "single_label_classification", **labels)
    BertForSequenceClassification(cfg).save_pretrained(folder)
    fast.save_pretrained(folder)
    return folder


def direct_hf(folder: Path, texts: list[str]) -> np.ndarray:
    """The logits as transformers computes them, one padded batch, fp32."""
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(folder)
    model = AutoModelForSequenceClassification.from_pretrained(folder).eval()
    enc = tok(texts, truncation=True, padding=True, return_tensors="pt")
    with torch.inference_mode():
        return model(**enc).logits.float().numpy()


def make_fasttext_model(path: Path) -> Path:
    import fasttext

    rng = np.random.default_rng(3)
    lines = []
    for i in range(300):
        good = " ".join(rng.choice(WORDS[:15], size=12))
        bad = " ".join(rng.choice(WORDS[15:], size=12))
        pair = [f"__label__hq {good}", f"__label__lq {bad}"]
        lines += pair if i % 2 else pair[::-1]
    train = path.with_suffix(".txt")
    train.write_text("\n".join(lines) + "\n")
    fasttext.train_supervised(str(train), epoch=5, dim=8, thread=1, seed=0, verbose=0).save_model(str(path))
    return path


def direct_fasttext(path: Path, texts: list[str], label: str) -> np.ndarray:
    import fasttext

    model = fasttext.load_model(str(path))
    out = []
    for text in texts:  # the C++ predictor: fasttext-wheel's predict() wrapper breaks under numpy 2
        out.append(dict((name, p) for p, name in model.f.predict(" ".join(text.split()) + "\n", -1, 0.0, "strict"))
                   .get(label, 0.0))
    return np.array(out)


@pytest.fixture(scope="module")
def models(tmp_path_factory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("models")
    return {"edu": make_hf_model(base / "edu"), "classes": make_hf_model(base / "classes", num_labels=3),
            "ft": make_fasttext_model(base / "ft.bin")}


def test_hf_scores_equal_transformers_regression_and_classes(models):
    import torch

    from data_platform.tagging.hf_classifier import score_texts

    texts = _texts(40)
    got = score_texts(texts, str(models["edu"]), device="cpu", batch_tokens=512)  # several length batches
    assert np.abs(got - direct_hf(models["edu"], texts)[:, 0]).max() <= 1e-3
    probs = torch.softmax(torch.from_numpy(direct_hf(models["classes"], texts)), dim=1).numpy()
    expected = score_texts(texts, str(models["classes"]), device="cpu")
    assert np.abs(expected - probs @ np.arange(3)).max() <= 1e-3
    one = score_texts(texts, str(models["classes"]), device="cpu", label="class_2")
    assert np.abs(one - probs[:, 2]).max() <= 1e-3
    with pytest.raises(ValueError, match="no label 'hq'; its labels: class_0, class_1, class_2"):
        score_texts(texts, str(models["classes"]), device="cpu", label="hq")


def test_hf_truncates_at_the_model_maximum_or_max_tokens(models):
    from data_platform.tagging.hf_classifier import load, score_texts

    long = " ".join(WORDS * 20)
    assert load(str(models["edu"]), "cpu").limit == 64
    assert load(str(models["edu"]), "cpu", max_tokens=16).limit == 16
    first = " ".join(long.split()[:200])
    assert score_texts([long], str(models["edu"]), "cpu")[0] == pytest.approx(
        score_texts([first], str(models["edu"]), "cpu")[0], abs=1e-5)


def test_length_batches_cover_every_row_within_the_budget():
    from data_platform.tagging.hf_classifier import length_batches

    lengths = [5, 300, 17, 64, 64, 2, 511, 40]
    batches = length_batches(lengths, 600)
    assert sorted(int(i) for b in batches for i in b) == list(range(len(lengths)))
    for b in batches:
        width = -(-max(lengths[i] for i in b) // 8) * 8
        assert len(b) == 1 or len(b) * width <= 600


def test_missing_or_wrong_model_paths_are_one_line_errors(tmp_path):
    from data_platform.config import ConfigError, load_rules
    from data_platform.tagging.run import tag_settings

    (tmp_path / "empty").mkdir()
    for scorer, msg in [("{name: edu, kind: hf, path: nowhere}", r"Hugging Face model folder .*nowhere does not exist"),
                        ("{name: edu, kind: hf, path: empty}", r"empty is not a Hugging Face model folder: no "
                                                               r"config.json, tokenizer.json, model.safetensors"),
                        ("{name: ft, kind: fasttext, path: no.bin, label: __label__hq}",
                         r"fasttext model .*no.bin of quality scorer 'ft' does not exist")]:
        rules = tmp_path / "r.yaml"
        rules.write_text(f"order: []\nrules: {{}}\nquality:\n  scorers: [{scorer}]\n")
        with pytest.raises(FileNotFoundError, match=msg) as err:
            tag_settings(load_rules(rules))
        assert "\n" not in str(err.value)
        name = scorer.split(",")[0].split(": ")[1]
        rules.write_text(rules.read_text() + f"rescue: {{scorer: {name}, min_score: 1, rules: [word_count]}}\n")
        with pytest.raises(ConfigError, match=msg):  # the filter job checks the rescue scorer before Spark starts
            load_rules(rules)


def test_quality_section_errors_name_the_line(tmp_path):
    from data_platform.config import ConfigError, load_rules

    cases = [("quality:\n  scorers: [{name: ft, kind: fasttext, path: x}]\n", "needs the label"),
             ("quality:\n  scorers: [{name: a, kind: head, path: x}, {name: a, kind: head, path: y}]\n", "unique"),
             ("quality:\n  ensemble: {scorers: [nope]}\n", "'nope' is not a scorer"),
             ("quality:\n  buckets: {weight: tokens}\n", "needs tokenizer"),
             ("rescue: {scorer: edu, min_score: 3, rules: [word_count]}\n", r"r.yaml:3: rescue.scorer: 'edu' is not"),
             ("rescue: {scorer: head, min_score: 3, rules: [nope]}\n", r"rescue.rules\[0\]: unknown rule 'nope'")]
    for body, msg in cases:
        rules = tmp_path / "r.yaml"
        rules.write_text("order: []\nrules: {}\n" + body)
        with pytest.raises(ConfigError, match=msg):
            load_rules(rules)


def test_rescue_keeps_documents_dropped_only_by_listed_rules(tmp_path, models):
    from data_platform.config import load_rules
    from data_platform.funnel import process_batch
    from data_platform.tagging.scorers import Scorer, score

    rules = tmp_path / "r.yaml"
    rules.write_text(f"""order: [word_count, mean_word_length]
rules:
  word_count: {{min: 50}}
  mean_word_length: {{min: 3.5}}
quality:
  scorers: [{{name: ft, kind: fasttext, path: {models['ft']}, label: __label__hq}}]
rescue: {{scorer: ft, min_score: 0.9, rules: [word_count]}}
""")
    good, bad = " ".join(WORDS[:15]), " ".join(WORDS[15:])
    ruleset = load_rules(rules)
    ft = ruleset.resources["rescue"]
    assert isinstance(ft, Scorer) and score([good], ft)[0] > 0.9 > score([bad], ft)[0]
    docs = [{"id": "short-good", "text": good}, {"id": "short-bad", "text": bad},
            {"id": "short-good-short-words", "text": "the of and cat dog the of and cat dog"},
            {"id": "long", "text": " ".join([good] * 5)}]
    out = {r["id"]: r for r in process_batch(raw_batch([{**d, "lang": "en"} for d in docs]), ruleset).to_pylist()}
    assert out["short-good"]["drop_reason"] is None
    assert dict(out["short-good"]["meta"])["rescued_from"] == "word_count"
    assert float(dict(out["short-good"]["meta"])["rescue_score"]) >= 0.9
    assert not out["short-good"]["rules"][0]["passed"]  # the rule's own verdict stays recorded
    assert out["short-bad"]["drop_reason"] == "word_count"
    assert out["short-good-short-words"]["drop_reason"] == "word_count"  # also failed mean_word_length: not listed
    assert out["long"]["drop_reason"] is None and "rescued_from" not in dict(out["long"]["meta"])


@pytest.mark.e2e
def test_tag_job_scores_equal_direct_calls_with_ensemble_and_buckets(tmp_path, models, spark):
    from data_platform.tagging.hf_classifier import score_texts

    texts = _texts(60, 7)
    src = tmp_path / "in.jsonl"
    src.write_text("".join(json.dumps({"id": f"d{i:03d}", "text": t}) + "\n" for i, t in enumerate(texts)))
    rules = tmp_path / "rules.yaml"
    rules.write_text(f"""order: []
rules: {{}}
domains: {{enabled: false}}
quality:
  scorers:
    - {{name: edu, kind: hf, path: {models['edu']}, device: cpu}}
    - {{name: dclm, kind: fasttext, path: {models['ft']}, label: __label__hq}}
  ensemble: {{method: max}}
  buckets: {{n: 4, score: ensemble, weight: bytes}}
""")
    out = tmp_path / "out"
    run = subprocess.run([sys.executable, str(REPO / "jobs" / "tag.py"), "--config", str(rules), "--input", str(src),
                          "--output", str(out), "--master", "local[2]"], capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    rows = sorted(spark.read.parquet(str(out / "kept")).collect(), key=lambda r: r["id"])
    got = {k: np.array([r[k] for r in rows], np.float64) for k in ("quality_edu", "quality_dclm", "quality_ensemble")}
    assert len(rows) == len(texts) - 1  # the empty text was dropped by the reader
    ordered = [texts[int(r["id"][1:])] for r in rows]
    assert np.abs(got["quality_edu"] - direct_hf(models["edu"], ordered)[:, 0]).max() <= 1e-3
    assert np.abs(got["quality_dclm"] - direct_fasttext(models["ft"], ordered, "__label__hq")).max() <= 1e-3
    assert np.abs(got["quality_edu"] - score_texts(ordered, str(models["edu"]), "cpu")).max() <= 1e-5
    pct = {k: _midrank(got[k]) for k in ("quality_edu", "quality_dclm")}
    assert np.abs(got["quality_ensemble"] - np.maximum(pct["quality_edu"], pct["quality_dclm"])).max() <= 1e-6
    assert [r["quality_score"] for r in rows] == pytest.approx(list(got["quality_ensemble"]))
    weights = np.array([len(t.encode()) for t in ordered], np.float64)
    assert [r["quality_bucket"] for r in rows] == _buckets(got["quality_ensemble"], weights, 4)
    stats = json.loads((out / "stats.json").read_text())
    assert sum(stats["tags"]["buckets"]["documents"].values()) == len(rows)
    assert len(stats["tags"]["buckets"]["boundaries"]) == 3
    assert dict(rows[0]["meta"])["quality_bucket"] == str(rows[0]["quality_bucket"])


def _midrank(x: np.ndarray) -> np.ndarray:
    return np.array([((x < v).sum() + (x == v).sum() / 2) / len(x) for v in x])


def _buckets(score: np.ndarray, weight: np.ndarray, n: int) -> list[int]:
    total = weight.sum()
    return [min(n - 1, int(n * weight[score < s].sum() / total)) for s in score]


def test_filter_job_counts_rescued_documents_in_stats_and_report(spark, tmp_path, models):
    from data_platform.config import load_rules
    from data_platform.filter_run import FilterRun, run_filter

    rules = tmp_path / "r.yaml"
    rules.write_text(f"""order: [word_count]
rules:
  word_count: {{min: 50}}
quality:
  scorers: [{{name: ft, kind: fasttext, path: {models['ft']}, label: __label__hq}}]
rescue: {{scorer: ft, min_score: 0.9, rules: [word_count]}}
""")
    src = tmp_path / "in.jsonl"
    docs = [{"id": "good", "text": " ".join(WORDS[:15])}, {"id": "bad", "text": " ".join(WORDS[15:])}]
    src.write_text("".join(json.dumps(d) + "\n" for d in docs))
    stats = run_filter(spark, FilterRun([str(src)], str(tmp_path / "out"), load_rules(rules)))
    assert stats["kept"]["documents"] == 1 and stats["accounting"]["ok"]
    assert stats["cleaning"]["rescued"] == {"word_count": {"documents": 1, "examples": ["good"]}}
    page = (tmp_path / "out" / "report.html").read_text()
    assert "Rescued" in page and "<td>word_count</td>" in page
