"""Evaluation metrics beyond the loss (bits per byte, top-k), the multiple-choice task on fixed models, the
comparison's per-metric verdicts and per-document scores (``trainer.score``) joined with the input ids."""

from __future__ import annotations

import json
import math

import lxml.html
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import torch
from torch import nn

from tests.conftest import REPO, SAMPLE
from trainer import compare
from trainer import metrics as M
from trainer import tokenizer as T
from trainer.choice import build_items, documents, evaluate_choice
from trainer.config import load_config
from trainer.data import TokenStream
from trainer.model import IGNORE_INDEX
from trainer.score import load_run, main, score
from trainer.train import train

TINY = REPO / "trainer" / "configs" / "tiny.yaml"
EOS = 1

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_bits_per_byte_on_a_hand_computed_case():
    logits = torch.zeros(1, 3, 4)  # uniform over 4 tokens: ln 4 nats per target
    targets = torch.tensor([[1, 2, IGNORE_INDEX]])
    byte_len = torch.tensor([0, 3, 1, 2])  # the targets carry 3 + 1 bytes
    sums = M.batch_sums(logits, targets, byte_len).tolist()
    assert sums[M.NATS] == pytest.approx(2 * math.log(4)) and sums[M.TOKENS] == 2 and sums[M.BYTES] == 4
    # 2 ln 4 nats = 4 bits over 4 bytes
    out = M.summarize(sums, with_bytes=True)
    assert out["bits_per_byte"] == pytest.approx(1.0) and out["loss"] == pytest.approx(math.log(4))
    assert out["bytes"] == 4 and out["tokens"] == 2
    assert "bits_per_byte" not in M.summarize(sums, with_bytes=False)
    assert M.bits_per_byte(1.0, 0) is None


def test_topk_accuracy_on_constructed_logits():
    logits = torch.arange(8, 0, -1.0).expand(2, 4, 8)  # at every position token k has rank k (0 = best)
    targets = torch.tensor([[0, 2, 5, IGNORE_INDEX], [4, IGNORE_INDEX, IGNORE_INDEX, 7]])
    out = M.summarize(M.batch_sums(logits, targets, None).tolist(), False)
    # scored targets have ranks 0, 2, 5, 4, 7: one in the top 1, three (0, 2, 4) in the top 5
    assert out["tokens"] == 5 and out["top1"] == pytest.approx(1 / 5) and out["top5"] == pytest.approx(3 / 5)


def test_token_byte_lengths_count_the_utf8_bytes(tmp_path):
    texts = ["Grüße aus Köln", "数据清洗让模型更好", "emoji 🙂 and plain ascii text", "Привет, мир"] * 5
    path = tmp_path / "tok.json"
    T.build(texts, vocab_size=300).save(str(path))
    lengths = M.token_byte_lengths(path)
    tok = T.load(path)
    assert [lengths[tok.token_to_id(s)] for s in T.SPECIALS] == [0, 0, 0]
    for text in [*set(texts), "ünseen ЖЖ 🙂🙂"]:
        assert lengths[tok.encode(text, add_special_tokens=False).ids].sum() == len(text.encode("utf-8"))


class Bigram(nn.Module):
    """A fixed bigram model: the logits of the next token are a row of a table picked by the current token."""

    def __init__(self, table: torch.Tensor) -> None:
        super().__init__()
        self.table = nn.Parameter(table, requires_grad=False)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        return self.table[tokens]


def _stream(tmp_path, name: str, docs: list[list[int]]) -> TokenStream:
    np.save(tmp_path / f"{name}.npy", np.array([t for d in docs for t in [*d, EOS]], np.uint16))
    return TokenStream(tmp_path, [[f"{name}.npy", 0]], pad_id=2)


def _plain(item) -> tuple:
    return item.prefix.tolist(), [o.tolist() for o in item.options], item.answer


def test_choice_accuracy_of_a_fixed_bigram_model_equals_the_hand_count(tmp_path):
    rng = np.random.default_rng(0)
    vocab = 12
    streams = {c: _stream(tmp_path, c, [list(rng.integers(3, vocab, rng.integers(6, 14))) for _ in range(15)])
               for c in ("a", "b")}
    items = build_items(streams, EOS, n_items=20, prefix=4, continuation=3, seed=5)
    again = build_items(streams, EOS, n_items=20, prefix=4, continuation=3, seed=5)
    assert len(items) == 20 and [_plain(it) for it in items] == [_plain(it) for it in again]
    other = build_items(streams, EOS, n_items=20, prefix=4, continuation=3, seed=6)
    assert [_plain(it) for it in items] != [_plain(it) for it in other]
    assert all(len(it.options) == 4 and all(o.size == 3 for o in it.options) for it in items)
    docs = [d for c in ("a", "b") for d in documents(streams[c], EOS)]
    for it in items:  # the prefix and the true option are one document's first 7 tokens
        whole = np.concatenate([it.prefix, it.options[it.answer]])
        assert any(d.size >= 7 and np.array_equal(d[:7], whole) for d in docs)
    table = torch.log_softmax(torch.randn(vocab, vocab, generator=torch.Generator().manual_seed(1)), -1)
    right = 0
    for it in items:  # by hand: the sum of log P(next | current) over each option's tokens
        scores = []
        for opt in it.options:
            seq = [*it.prefix.tolist(), *opt.tolist()]
            scores.append(sum(table[seq[j - 1], seq[j]].item() for j in range(4, 7)))
        right += int(np.argmax(scores) == it.answer)
    assert 0 < right < 20  # the table is neither always right nor always wrong here
    result = evaluate_choice(Bigram(table), items, batch_size=7, device=torch.device("cpu"))
    assert result["correct"] == right and result["accuracy"] == pytest.approx(right / 20)
    assert result["chance"] == 0.25 and result["items"] == 20
    assert result["stderr"] == pytest.approx(math.sqrt(right / 20 * (1 - right / 20) / 20))


def test_choice_picks_the_continuation_a_model_prefers(tmp_path):
    docs = [[k] * 8 for k in range(3, 11)]  # document k repeats token k: its true continuation repeats it too
    streams = {"c": _stream(tmp_path, "c", docs)}
    items = build_items(streams, EOS, n_items=8, prefix=3, continuation=2, seed=0)
    assert len(items) == 8 and sorted({int(it.prefix[0]) for it in items}) == list(range(3, 11))
    cpu = torch.device("cpu")
    repeat = torch.full((12, 12), -5.0).fill_diagonal_(0.0)  # the next token is the current one
    assert evaluate_choice(Bigram(repeat), items, 5, cpu)["accuracy"] == 1.0
    assert evaluate_choice(Bigram(-repeat), items, 5, cpu)["accuracy"] == 0.0
    assert build_items(streams, EOS, n_items=8, prefix=5, continuation=4, seed=0) == []  # no document of 9


def _final(loss, top1, choice, bpb=True):
    overall = {"loss": loss, "ppl": math.exp(loss), "top1": top1, "top5": top1 + 0.2}
    if bpb:
        overall["bits_per_byte"] = loss / 2
    return {"eval": {"overall": overall, "channels": {"en": dict(overall)},
                     "choice": {"accuracy": choice, "chance": 0.25}}}


def test_compare_verdicts_follow_each_metrics_direction():
    base = [_final(3.0, 0.30, 0.40), _final(3.1, 0.31, 0.42)]
    better = [_final(2.5, 0.40, 0.60), _final(2.6, 0.41, 0.62)]
    result = compare.compare({"base": base, "new": better})
    m = result["deltas"]["new"]["metrics"]
    assert {k: v["verdict"] for k, v in m.items()} == {k: compare.BETTER for k in (
        "loss", "ppl", "bits_per_byte", "top1", "top5", compare.CHOICE)}
    assert m["top1"]["delta"] == pytest.approx(0.10) and m["loss"]["delta"] == pytest.approx(-0.5)
    assert result["deltas"]["new"]["overall"] == m["loss"]  # the loss verdict keeps its place
    assert result["deltas"]["new"]["channel_metrics"]["en"]["top5"]["verdict"] == compare.BETTER
    worse = compare.compare({"new": better, "base": base})["deltas"]["base"]["metrics"]
    assert {v["verdict"] for v in worse.values()} == {compare.WORSE}
    assert compare.verdict([0.3, 0.31], [0.2, 0.21], higher_better=True)["verdict"] == compare.WORSE
    no_bpb = compare.compare({"base": base, "old": [_final(3.0, 0.3, 0.4, bpb=False)] * 2})
    assert "bits_per_byte" not in no_bpb["versions"]["old"]["overall"]
    assert "bits_per_byte" not in no_bpb["deltas"]["old"]["metrics"]
    md = compare._metrics_table(result)
    assert "| choice acc. | 0.4100 ± 0.0141 | 0.6100 ± 0.0141 | +0.2000 (better) |" in md
    assert any("chance 0.25" in ln for ln in md)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A tiny model trained 4 steps on 40 sample pages (CPU), and the pages as parquet."""
    root = tmp_path_factory.mktemp("score")
    pages = pd.read_json(SAMPLE / "pages.jsonl.gz", lines=True).iloc[:40]
    pages["text"] = [lxml.html.fromstring(h.encode()).text_content()[:800] for h in pages["html"]]
    docs = pages[["id", "text", "source", "lang"]]
    docs.loc[docs.index[3], "text"] = ""  # an empty document scores with bits_per_byte null
    docs.loc[docs.index[5], "text"] = "A short page."
    pq.write_table(pa.Table.from_pandas(docs, preserve_index=False), root / "docs.parquet")
    T.build(docs["text"], vocab_size=300).save(str(root / "tok.json"))
    cfg = load_config(TINY, [f"data.inputs=[{root / 'docs.parquet'}]", f"data.tokenizer={root / 'tok.json'}",
                             f"data.tokens={root / 'tokens'}", "data.heldout_docs=3", "data.workers=1",
                             f"run.out={root / 'run'}", "run.steps=4", "data.micro_batch=4", "data.grad_accum=1",
                             "data.seq_len=32", "log.progress=false", "eval.max_sequences=4"])
    result = train(cfg)
    return {"root": root, "docs": docs, "result": result}


def test_training_records_every_metric(trained):
    ev = trained["result"]["eval"]
    assert 0 < ev["overall"]["bits_per_byte"] < 10 and 0 <= ev["overall"]["top1"] <= ev["overall"]["top5"] <= 1
    assert ev["choice"]["items"] > 0 and 0 <= ev["choice"]["accuracy"] <= 1
    final = json.loads((trained["root"] / "run" / "final.json").read_text())
    assert final["eval"]["choice"] == ev["choice"]
    rows = [json.loads(ln) for ln in (trained["root"] / "run" / "metrics.jsonl").read_text().splitlines()]
    assert any(r["kind"] == "choice" and r["accuracy"] == ev["choice"]["accuracy"] for r in rows)


def test_score_joins_one_to_one_with_the_input_ids(trained, tmp_path):
    root, docs = trained["root"], trained["docs"]
    out = tmp_path / "scores.parquet"
    assert main(["--run", str(root / "run"), "--input", str(root / "docs.parquet"), "--out", str(out),
                 "--batch-size", "5"]) == 0
    scores = pq.read_table(out).to_pandas()
    assert list(scores["id"]) == list(docs["id"]) and scores["id"].is_unique
    joined = docs.merge(scores, on="id", validate="one_to_one")
    assert len(joined) == len(docs)
    assert list(joined["n_bytes"]) == [len(t.encode("utf-8")) for t in docs["text"]]
    tok = T.load(root / "tok.json")
    assert list(joined["n_tokens"]) == [len(tok.encode(t, add_special_tokens=False).ids) + 1 for t in docs["text"]]
    empty = joined.iloc[3]
    assert empty["n_tokens"] == 1 and empty["n_bytes"] == 0 and pd.isna(empty["bits_per_byte"])
    full = joined.drop(index=3)
    assert np.allclose(full["bits_per_byte"], full["loss"] * full["n_tokens"] / math.log(2) / full["n_bytes"])
    # by hand with the final checkpoint: the tokens after an EOS, then EOS, in windows of data.seq_len 32
    _, model, ckpt = load_run(root / "run")
    assert ckpt.name == "step_00000004"
    for row in (full.iloc[4], full.iloc[0]):  # "A short page." (one window), a long page (several)
        seq = torch.tensor([[EOS, *tok.encode(row["text"], add_special_tokens=False).ids, EOS]])
        with torch.no_grad():
            cuts = [seq[:, i:i + 33] for i in range(0, seq.shape[1] - 1, 32)]
            nats = sum(model(w[:, :-1], w[:, 1:], reduction="sum").item() for w in cuts)
        assert row["loss"] == pytest.approx(nats / (seq.shape[1] - 1), rel=1e-5)
    assert full.iloc[4]["n_tokens"] <= 32 < full.iloc[0]["n_tokens"]


def test_score_reads_jsonl_and_windows_long_documents(trained, tmp_path):
    root, docs = trained["root"], trained["docs"]
    jsonl = tmp_path / "docs.jsonl"
    jsonl.write_text("".join(json.dumps({"id": i, "text": t}) + "\n" for i, t in docs[["id", "text"]].values))
    a, b = tmp_path / "a.parquet", tmp_path / "b.parquet"
    score(root / "run", [str(jsonl)], a, batch_size=3)
    score(root / "run", [str(root / "docs.parquet")], b, batch_size=64)  # other batches, same scores
    sa, sb = pq.read_table(a).to_pandas(), pq.read_table(b).to_pandas()
    assert list(sa["id"]) == list(sb["id"]) and np.allclose(sa["loss"], sb["loss"], rtol=1e-5)
    assert sa["n_tokens"].max() > 32  # long documents span several windows


def test_score_errors_are_one_line(trained, tmp_path, capsys):
    root = trained["root"]
    no_text = tmp_path / "ids.parquet"
    pq.write_table(pa.table({"id": ["a"], "body": ["x"]}), no_text)
    (tmp_path / "empty_run").mkdir()
    (tmp_path / "empty_run" / "config.json").write_text((root / "run" / "config.json").read_text())
    cases = [(["--run", str(tmp_path / "nope")], "no config.json"),
             (["--run", str(tmp_path / "empty_run")], "no complete checkpoint"),
             (["--run", str(root / "run"), "--input", str(no_text)], "no column text"),
             (["--run", str(root / "run"), "--input", str(tmp_path / "missing.parquet")], "no parquet or JSON"),
             (["--run", str(root / "run"), "--tokenizer", str(tmp_path / "t.json")], "no tokenizer file")]
    for args, message in cases:
        full = ["--input", str(root / "docs.parquet"), "--out", str(tmp_path / "o.parquet"), *args]
        assert main(full) == 2
        err = capsys.readouterr().err
        assert err.startswith("error: ") and message in err and err.count("\n") == 1, err
