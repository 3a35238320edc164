"""The trainer end to end on parquet made from the sample pages: tokenizer, packing, training, exact resume, CLIs."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from data_platform.yaml_lines import ConfigError
from tests.trainer_helpers import TINY, config, curve, records
from trainer import tokenizer as T
from trainer.data import TokenData
from trainer.model import IGNORE_INDEX
from trainer.pack import PackError, pack
from trainer.train import train

TEXTS = ["Hello, world!  Two  spaces\tand a tab\n\nand 2024-05-17 12:30.", "数据清洗让模型更好。第3版",
         "日本語のテキストです。", "Привет, мир! Ёжик 42.", "Grüße aus Köln: Straße, Maß.", "مرحبا بالعالم",
         "emoji 🙂👍🏽 and <|eos|> text", "trailing space "]


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def corpus(trainer_corpus):
    return trainer_corpus


@pytest.fixture(scope="module")
def tokens(trainer_tokens):
    return trainer_tokens


def test_tokenizer_round_trips_many_languages(corpus):
    tok = T.load(corpus["tokenizer"])
    for text in TEXTS:
        assert tok.decode(tok.encode(text, add_special_tokens=False).ids, skip_special_tokens=False) == text
    assert [tok.token_to_id(s) for s in T.SPECIALS] == [0, 1, 2]
    assert tok.encode("31415", add_special_tokens=False).tokens == ["3", "1", "4", "1", "5"]
    assert tok.token_to_id(T.EOS) not in tok.encode("a <|eos|> b", add_special_tokens=False).ids


def test_tokenizer_cli_trains_and_reports(corpus, tmp_path, capsys):
    out = tmp_path / "tok.json"
    kept = str(corpus["root"] / "kept")
    assert T.main(["train", "--inputs", kept, "--out", str(out), "--vocab-size", "300",
                   "--docs-per-source", "5"]) == 0
    assert "trained on 20 documents from 4 sources" in capsys.readouterr().out
    assert T.main(["report", "--tokenizer", str(out), "--inputs", kept, "--docs-per-lang", "2"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [ln.split()[0] for ln in lines[1:]] == ["de", "en", "es", "fr", "it", "ja", "ru", "zh"]
    assert all(1.0 < float(ln.split()[-1]) < 4.0 for ln in lines[1:])  # bytes per token
    assert T.main(["report", "--tokenizer", str(tmp_path / "none.json"), "--inputs", kept]) == 2
    assert capsys.readouterr().err.startswith("error: ")


def test_packing_never_loses_a_token(corpus, tokens):
    tok = T.load(corpus["tokenizer"])
    data = TokenData(tokens)
    docs = corpus["docs"]
    assert data.index["rows"] == len(docs) == 160
    for lang, group in docs.groupby("lang"):
        entry = data.index["channels"][lang]
        assert entry["heldout"]["docs"] == 3 and entry["train"]["docs"] == len(group) - 3
        found: dict[str, set] = {}
        for split in ("train", "heldout"):
            stream = data.stream(lang, split).tokens(0, entry[split]["tokens"])
            # the stream is the documents' tokens, each followed by EOS, shard after shard
            expected = []
            for i in range(3):
                for doc_id, text in docs.iloc[i::3].query("lang == @lang")[["id", "text"]].itertuples(index=False):
                    ids = tok.encode(text, add_special_tokens=False).ids + [1]
                    if len(stream) >= len(expected) + len(ids) and list(stream[len(expected):len(expected)
                                                                                 + len(ids)]) == ids:
                        expected += ids
                        found.setdefault(split, set()).add(doc_id)
            assert expected == list(stream)
        # every document is in exactly one split
        assert len(found["heldout"]) == 3 and len(found["train"]) == len(group) - 3
        assert found["train"] | found["heldout"] == set(group["id"])
        s = data.stream(lang, "train")
        for seq_len in (64, 37):
            pairs = [s.sequence(i, seq_len) for i in range(s.n_sequences(seq_len))]
            targets = np.concatenate([y[y != IGNORE_INDEX] for _, y in pairs])
            assert pairs[0][0][0] == s.tokens(0, 1)[0] and list(targets) == list(s.tokens(1, s.n_tokens))
            assert all(len(x) == len(y) == seq_len for x, y in pairs)


def test_pack_reuses_a_complete_folder_and_refuses_other_inputs(corpus, tokens):
    before = (tokens / "index.json").stat().st_mtime_ns
    pack([str(corpus["root"] / "kept")], corpus["tokenizer"], tokens, channel="lang", heldout_docs=3)
    assert (tokens / "index.json").stat().st_mtime_ns == before
    with pytest.raises(PackError, match="other inputs"):
        pack([str(corpus["root"] / "kept")], corpus["tokenizer"], tokens, channel="lang", heldout_docs=4)


# (id, lang, domain, quality_bucket, meta) in two files; texts are the ids repeated
TAGGED = [[("a0", "en", "code", 17, {"licence": "mit"}), ("a1", "en", "code", 17, {"licence": "gpl"}),
           ("a2", "en", "news", 3, {}), ("a3", "zh", "news", None, {"licence": "mit"}),
           ("a4", "zh", None, 17, None)],
          [("b0", "en", "code", 3, {"licence": "mit"}), ("b1", "zh", "news", 3, {"other": "x"})]]


@pytest.fixture(scope="module")
def tagged(tmp_path_factory):
    root = tmp_path_factory.mktemp("tagged")
    for i, rows in enumerate(TAGGED):
        table = pa.table({"id": [r[0] for r in rows], "text": [f"{r[0]} " * 5 for r in rows],
                          "source": ["web"] * len(rows), "lang": [r[1] for r in rows],
                          "domain": [r[2] for r in rows], "quality_bucket": pa.array([r[3] for r in rows], pa.int32()),
                          "meta": pa.array([None if r[4] is None else list(r[4].items()) for r in rows],
                                           pa.map_(pa.string(), pa.string()))})
        pq.write_table(table, root / f"part-{i}.parquet")
    return root


@pytest.mark.parametrize(("channel", "docs"), [
    ("lang+domain", {"en+code": 3, "en+news": 1, "zh+news": 2, "zh+none": 1}),
    ("licence", {"mit": 3, "gpl": 1, "none": 3}),  # a key of meta: missing key, empty map and null meta are none
    ("quality_bucket", {"17": 3, "3": 3, "none": 1}),
])
def test_a_channel_is_any_column_meta_key_or_combination(corpus, tagged, tmp_path, channel, docs):
    index = pack([str(tagged)], corpus["tokenizer"], tmp_path, channel=channel, heldout_docs=1, workers=1)
    assert {c: e["train"]["docs"] + e["heldout"]["docs"] for c, e in index["channels"].items()} == docs
    assert {c: e["heldout"]["docs"] for c, e in index["channels"].items()} == {c: int(n > 1) for c, n in docs.items()}
    assert index["fingerprint"]["channel"] == channel


def test_a_channel_neither_column_nor_meta_key_is_a_one_line_error(corpus, tagged, tmp_path, capsys):
    from trainer.inputs import InputError
    from trainer.pack import main

    with pytest.raises(InputError, match=r"part-0.parquet: channel column 'other' is neither a column nor a key "
                                         r"of meta \(columns: id, text, source, lang, domain, quality_bucket, meta\)"):
        pack([str(tagged / "part-0.parquet")], corpus["tokenizer"], tmp_path / "a", channel="other", workers=1)
    args = ["--inputs", str(corpus["root"] / "kept"), "--tokenizer", corpus["tokenizer"], "--out", str(tmp_path / "b"),
            "--workers", "1", "--channel", "lang+colour"]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "part-0.parquet: channel column 'colour' is neither" in err
    assert err.count("\n") == 1


def test_config_takes_a_channel_spec_and_number_keys(tokens, tmp_path):
    cfg = config(tokens, tmp_path, "data.channel=lang+quality_bucket", "data.weights={19: 3, en+3: 1}")
    assert cfg.data.channel == "lang+quality_bucket" and cfg.data.weights == {"19": 3.0, "en+3": 1.0}
    with pytest.raises(ConfigError, match=r"data.channel: Value error, channel 'lang\+': a column name, or several"):
        config(tokens, tmp_path, "data.channel=lang+")


def _eval_keys(out):
    return set().union(*(r for r in records(out) if r["kind"] == "eval"))


def test_resume_reproduces_the_uninterrupted_run(tokens, tmp_path):
    full = train(config(tokens, tmp_path / "full"))
    train(config(tokens, tmp_path / "cut"), stop_at=4)
    assert [s for s, _ in curve(tmp_path / "cut")] == [1, 2, 3, 4]
    resumed = train(config(tokens, tmp_path / "cut"))
    assert curve(tmp_path / "cut") == curve(tmp_path / "full") and len(curve(tmp_path / "full")) == 8
    assert curve(tmp_path / "cut", "eval", "loss") == curve(tmp_path / "full", "eval", "loss")
    assert resumed["eval"] == full["eval"] and resumed["step"] == 8
    assert set(full["eval"]["channels"]) == {"de", "en", "es", "fr", "it", "ja", "ru", "zh"}
    assert full["eval"]["overall"]["loss"] < np.log(300)
    overall = full["eval"]["overall"]
    assert 0 < overall["bits_per_byte"] < 8 and 0 <= overall["top1"] <= overall["top5"] <= 1
    assert full["eval"]["choice"]["items"] > 0 and full["eval"]["choice"]["chance"] == 0.25
    assert {"bits_per_byte", "top1", "top5", "bits_per_byte/en", "top5/zh"} <= _eval_keys(tmp_path / "full")
    assert sorted(p.name for p in (tmp_path / "full" / "checkpoints").iterdir()) == ["step_00000004",
                                                                                     "step_00000008"]
    assert (tmp_path / "full" / "tensorboard").is_dir() and full["tokens"] == 8 * 4 * 2 * 32


def test_weights_and_caps_reach_the_run(tokens, tmp_path):
    result = train(config(tokens, tmp_path / "mix", "run.steps=2", "eval.every=0",
                           "data.weights={zh: 4, en: 4, ja: 2, de: 4}", "data.caps={de: 0.15}"))
    assert result["mixture"] == pytest.approx({"zh": 0.34, "en": 0.34, "ja": 0.17, "de": 0.15})


def test_cli_errors_are_one_line(tokens, tmp_path, capsys):
    from trainer.train import main

    bad = tmp_path / "bad.yaml"
    bad.write_text(TINY.read_text().replace("  n_layers: 2", "  n_layer: 2"))
    assert main(["--config", str(bad)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {bad}:") and "model.n_layer" in err and err.count("\n") == 1
    assert main(["--config", str(TINY), "--set", f"data.tokens={tokens}", "--set", "data.inputs=[]",
                 "--set", f"run.out={tmp_path / 'r'}", "--set", "data.weights={klingon: 1}"]) == 2
    assert "no training data: klingon" in capsys.readouterr().err
