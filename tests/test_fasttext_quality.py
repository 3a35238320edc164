"""The fastText quality classifier: training and its held-out report, probabilities as fastText computes them, the
errors, the training command, and the shipped model on committed reference data."""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from data_platform.models import fasttext_quality as fq
from tests.conftest import REPO
from trainer.inputs import read_jsonl_gz

SHIPPED = REPO / "models" / "quality" / "fasttext"
COMMON = "the a of and to in is for on with".split()
PROSE = "river library committee budget reading spring garden museum village teacher winter harvest".split()
SPAM = "cheap pills casino click free winner bonus viagra deal offer crypto subscribe".split()
SMALL = {"epoch": 10, "dim": 16, "bucket": 20_000, "lr": 0.5, "seed": 3}
SMALL_ARGS = ["--epoch", "10", "--dim", "16", "--bucket", "20000", "--lr", "0.5", "--seed", "3"]


def synthetic(words: list[str], n: int, seed: int) -> list[str]:
    """``n`` documents of two lines, each word from ``words`` or the common words."""
    rng = random.Random(seed)
    line = lambda: " ".join(rng.choice(words if rng.random() < 0.6 else COMMON) for _ in range(12))  # noqa: E731
    return [f"{line()}.\n{line()}." for _ in range(n)]


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("fq")
    pos, neg = folder / "pos.jsonl", folder / "neg.parquet"
    pos.write_text("".join(json.dumps({"text": t}) + "\n" for t in synthetic(PROSE, 200, 1)), encoding="utf-8")
    pq.write_table(pa.table({"text": synthetic(SPAM, 200, 2)}), neg)
    return folder, pos, neg


@pytest.fixture(scope="module")
def trained(inputs):
    folder, pos, neg = inputs
    report = fq.train([str(pos)], [str(neg)], folder / "q.bin", **SMALL)
    return report, fq.load_model(str(folder / "q.bin"))


def test_held_out_report_of_separable_classes(trained):
    report, _ = trained
    assert report["train"] == {"positives": 180, "negatives": 180}
    held = report["held_out"]
    assert (held["positives"], held["negatives"]) == (20, 20)
    assert held["positive"]["f1"] >= 0.95 and held["negative"]["f1"] >= 0.95 and held["auc"] >= 0.99
    assert json.loads(Path(f"{report['model']}.metrics.json").read_text()) == report


def test_probability_is_fasttexts_own_for_the_label(trained):
    _, model = trained
    texts = synthetic(PROSE, 5, 7) + synthetic(SPAM, 5, 8) + ["", "words it never saw"]
    got = fq.label_probability(model, texts, "__label__hq")
    assert got.dtype == np.float32 and got.shape == (len(texts),)
    direct = [dict((lab, p) for p, lab in model.f.predict(fq.document_line(t) + "\n", -1, 0.0, "strict"))
              for t in texts]
    assert np.abs(got - [d["__label__hq"] for d in direct]).max() <= 1e-6
    # independent of predict: softmax of the output matrix times the averaged input vectors (plus fastText's 1e-5)
    logits = np.stack([model.get_sentence_vector(fq.document_line(t)) for t in texts]) @ model.get_output_matrix().T
    softmax = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    assert np.abs(got - softmax[:, model.get_labels().index("__label__hq")] - 1e-5).max() <= 1e-5


def test_binary_probabilities_sum_to_one_and_newlines_do_not_matter(trained):
    _, model = trained
    texts = synthetic(PROSE, 10, 9) + synthetic(SPAM, 10, 10)
    hq, lq = (fq.label_probability(model, texts, label) for label in ("__label__hq", "__label__lq"))
    assert np.abs(hq + lq - 1).max() <= 1e-4
    assert (hq[:10] > 0.5).all() and (hq[10:] < 0.5).all()
    flat = fq.label_probability(model, [" ".join(t.split()) for t in texts], "__label__hq")
    assert np.array_equal(hq, flat)


def test_a_three_label_model_gives_every_label(tmp_path):
    docs = {name: synthetic(words, 60, i) for i, (name, words) in enumerate(
        (("a", PROSE), ("b", SPAM), ("c", [w.upper() for w in PROSE])))}
    (tmp_path / "train.txt").write_text("".join(f"__label__{k} {fq.document_line(t)}\n"
                                                for k, ts in docs.items() for t in ts), encoding="utf-8")
    import fasttext

    fasttext.train_supervised(input=str(tmp_path / "train.txt"), epoch=10, dim=8, bucket=5_000, thread=1,
                              verbose=0).save_model(str(tmp_path / "m.bin"))
    model = fq.load_model(str(tmp_path / "m.bin"))
    probs = np.stack([fq.label_probability(model, docs["c"][:5], f"__label__{k}") for k in "abc"])
    assert np.abs(probs.sum(axis=0) - 1).max() <= 1e-4 and (probs.argmax(axis=0) == 2).all()


def test_missing_or_unreadable_model_is_a_one_line_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="does-not-exist.bin") as missing:
        fq.load_model(str(tmp_path / "does-not-exist.bin"))
    (tmp_path / "junk.bin").write_bytes(b"not a model\n" * 10)
    with pytest.raises(ValueError, match="junk.bin") as unreadable:
        fq.load_model(str(tmp_path / "junk.bin"))
    assert "\n" not in str(missing.value) and "\n" not in str(unreadable.value)


def test_unknown_label_lists_the_models_labels(trained):
    with pytest.raises(ValueError, match="__label__hq, __label__lq|__label__lq, __label__hq"):
        fq.label_probability(trained[1], ["text"], "__label__good")


def test_command_trains_from_jsonl_parquet_and_text(inputs, tmp_path, capsys):
    _, pos, neg = inputs
    (tmp_path / "more").mkdir()
    (tmp_path / "more" / "neg.txt").write_text("".join(" ".join(t.split()) + "\n" for t in synthetic(SPAM, 20, 4)))
    out = tmp_path / "cli.ftz"
    code = fq.main(["train", "--positive", str(pos), "--negative", str(neg), str(tmp_path / "more"), "--out",
                    str(out), "--label", "__label__good", "--other", "__label__bad", "--quantize", *SMALL_ARGS])
    printed = capsys.readouterr().out
    assert code == 0 and "held out 20 + 22" in printed and str(out) in printed
    report = json.loads(out.with_name("cli.ftz.metrics.json").read_text())
    assert report["train"] == {"positives": 180, "negatives": 198} and report["hyperparameters"]["quantize"]
    model = fq.load_model(str(out))
    assert sorted(model.get_labels()) == ["__label__bad", "__label__good"]
    assert fq.label_probability(model, synthetic(PROSE, 1, 11), "__label__good")[0] > 0.5


def test_command_errors_are_one_line(tmp_path, capsys):
    assert fq.main(["train", "--positive", str(tmp_path / "none*.jsonl"), "--negative", str(tmp_path),
                    "--out", str(tmp_path / "m.bin")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "none*.jsonl" in err and err.count("\n") == 1


def test_shipped_model_scores_clean_reference_above_its_junk():
    """On the committed holdout documents (never trained on) and the junk made from each; word salad and repeated
    text are left out: a bag of word and character n-grams does not see them (the model card)."""
    model = fq.load_model(str(SHIPPED / "quality.ftz"))
    reference = REPO / "data" / "reference"
    clean = [d for d in read_jsonl_gz(reference / "reference.jsonl.gz") if d["meta"]["split"] == "holdout"]
    junk = {d["meta"]["from"]: d for d in read_jsonl_gz(reference / "junk-holdout.jsonl.gz")}
    pairs = [(d, junk[d["id"]]) for d in clean
             if junk[d["id"]]["meta"]["junk"] not in ("paragraph_spam", "repeated_lines", "word_shuffle")]
    hq = fq.label_probability(model, [d["text"] for d, _ in pairs], "__label__hq")
    lq = fq.label_probability(model, [j["text"] for _, j in pairs], "__label__hq")
    assert len(pairs) > 200 and np.median(hq) > 0.9 and (hq > 0.5).mean() > 0.95 and np.median(lq) < 0.1
    assert (hq > lq).mean() > 0.95  # a document above the junk made from it
