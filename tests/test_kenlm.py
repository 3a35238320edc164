"""KenLM perplexity: tokenisation, training with lmplz, the shipped models, model lookup."""

from __future__ import annotations

import gzip
import json
import random
from functools import lru_cache
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from data_platform.config import ExtractConfig
from data_platform.extract import extract_html
from data_platform.io import records as R
from data_platform.models import kenlm_model, kenlm_train
from data_platform.models.lm_text import lm_line, lm_tokens
from tests.conftest import REPO, SAMPLE

MODELS = REPO / "models" / "kenlm"
SHIPPED_LANGS = ("zh", "en", "de", "fr", "ja", "ru", "es", "it")


@lru_cache(maxsize=1)
def sample_texts() -> dict[str, list[str]]:
    """Extracted text of the sample pages per language, in file order."""
    texts: dict[str, list[str]] = {}
    with gzip.open(SAMPLE / "pages.jsonl.gz", "rb") as f:
        for line in f:
            row = R.parse_json_line(line.rstrip(b"\n"), "pages.jsonl.gz", R.FieldMap(), "sample")
            text = extract_html(row["html"], row["url"], ExtractConfig(), 30.0).text
            if text:
                texts.setdefault(row["lang"], []).append(text)
    return texts


def shuffled(text: str, lang: str, seed: int = 0) -> str:
    """The same tokens, shuffled within each line."""
    rng = random.Random(seed)
    lines = []
    for line in text.splitlines():
        tokens = lm_tokens(line, lang)
        rng.shuffle(tokens)
        lines.append(" ".join(tokens))
    return "\n".join(lines)


def keyboard_mash(lang: str, seed: int = 0) -> str:
    """Random letter strings (en) or random Han characters (zh), 20 lines."""
    rng = random.Random(seed)
    if lang == "zh":
        return "\n".join("".join(chr(rng.randint(0x4E00, 0x9FA5)) for _ in range(30)) for _ in range(20))
    return "\n".join(" ".join("".join(rng.choice("asdfghjklqwertyuiopzxcvbnm") for _ in range(rng.randint(2, 9)))
                              for _ in range(12)) for _ in range(20))


# ------------------------------------------------------------------------------------------------ tokenisation

def test_tokens_en():
    assert lm_tokens("Hello, World! It’s 2024 — “quoted”…", "en") == [
        "hello", ",", "world", "!", "it", "'", "s", "0000", "-", '"', "quoted", '"', ".", ".", "."]
    assert lm_line("  Größe:\t10 € <s>  ", "de") == "größe : 00 € < s >"
    assert lm_line(" \t ", "en") == ""


def test_tokens_zh():
    assert lm_tokens("我们在2024年发布了Debian 12。你好，世界！【注】《书》", "zh") == [
        "我", "们", "在", "0000", "年", "发", "布", "了", "debian", "00", ".", "你", "好", ",", "世", "界", "!",
        "[", "注", "]", "<", "书", ">"]
    assert lm_line("中文（测试）：“好”、对；", "zh-CN") == '中 文 ( 测 试 ) : " 好 " , 对 ;'


def test_tokens_ja():
    assert lm_tokens("日本語のテキスト、ＡＢＣ１２３です。「引用」ｶﾀｶﾅ", "ja") == [
        "日", "本", "語", "の", "テ", "キ", "ス", "ト", ",", "abc000", "で", "す", ".", '"', "引", "用", '"',
        "カ", "タ", "カ", "ナ"]


# ------------------------------------------------------------------------------------------------ training

def _tools_or_skip() -> None:
    try:
        kenlm_train.find_tool("lmplz")
    except kenlm_train.TrainError:
        pytest.skip("KenLM's lmplz is not installed (bash scripts/build_kenlm.sh)")


@pytest.mark.e2e
@pytest.mark.parametrize("lang", ["en", "zh"])
def test_train_and_score(tmp_path: Path, lang: str, capsys):
    _tools_or_skip()
    pages = sample_texts()[lang]
    train, held_out = pages[:-3], pages[-3:]
    corpus = tmp_path / f"{lang}.jsonl"
    corpus.write_text("".join(json.dumps({"text": t}, ensure_ascii=False) + "\n" for t in train), encoding="utf-8")

    assert kenlm_train.main(["--input", str(corpus), "--lang", lang, "--output", str(tmp_path / "lm")]) == 0
    assert f"{len(train)} documents" in capsys.readouterr().out
    path = kenlm_model.find_models(tmp_path / "lm")[lang]
    assert path == tmp_path / "lm" / f"{lang}.binary"

    fluent = kenlm_model.doc_perplexities(path, held_out, lang)
    mixed = kenlm_model.doc_perplexities(path, [shuffled(t, lang) for t in held_out], lang)
    junk = kenlm_model.doc_perplexity(kenlm_model.load(str(path)), keyboard_mash(lang), lang)
    assert all(f < m for f, m in zip(fluent, mixed, strict=True)), (fluent, mixed)
    assert max(fluent) < junk, (fluent, junk)


def test_read_documents(tmp_path: Path):
    paragraphs, per_line = tmp_path / "p.txt.gz", tmp_path / "l.txt"
    with gzip.open(paragraphs, "wt", encoding="utf-8") as f:
        f.write("doc one\nsecond line\n\n\ndoc two\n")
    per_line.write_text("doc one\ndoc two\ndoc three\n", encoding="utf-8")
    table = tmp_path / "t.parquet"
    pq.write_table(pa.table({"body": ["a b", None, "c"]}), table)

    assert list(kenlm_train.read_documents(paragraphs, "text")) == ["doc one\nsecond line\n", "doc two\n"]
    assert list(kenlm_train.read_documents(per_line, "text")) == ["doc one\n", "doc two\n", "doc three\n"]
    assert list(kenlm_train.read_documents(table, "body")) == ["a b", "c"]
    with pytest.raises(kenlm_train.TrainError, match="no column 'text'"):
        list(kenlm_train.read_documents(table, "text"))


def test_train_errors(tmp_path: Path, monkeypatch, capsys):
    _tools_or_skip()
    assert kenlm_train.main(["--input", str(tmp_path / "nope.txt"), "--lang", "en", "--output", str(tmp_path)]) == 2
    assert "input not found" in capsys.readouterr().err

    monkeypatch.setattr(kenlm_train.shutil, "which", lambda name: None)
    monkeypatch.setattr(kenlm_train.sys, "executable", str(tmp_path / "python"))
    assert kenlm_train.main(["--input", str(tmp_path / "x.txt"), "--lang", "en", "--output", str(tmp_path)]) == 2
    assert "scripts/build_kenlm.sh" in capsys.readouterr().err


# ------------------------------------------------------------------------------------------------ shipped models

@pytest.mark.parametrize("lang", SHIPPED_LANGS)
def test_shipped_model_exists(lang: str):
    path = kenlm_model.find_models(MODELS)[lang]
    assert path.suffix == ".binary"
    assert path.stat().st_size < 2_000_000


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_shipped_model_ranks_clean_below_shuffled(lang: str):
    path = kenlm_model.find_models(MODELS)[lang]
    page = sample_texts()[lang][0]
    clean, mixed = kenlm_model.doc_perplexities(path, [page, shuffled(page, lang)], lang)
    assert clean < mixed / 2, (clean, mixed)


def test_find_models_missing_language_and_folder(tmp_path: Path):
    assert "xx" not in kenlm_model.find_models(MODELS)
    with pytest.raises(FileNotFoundError, match="KenLM model folder .* does not exist"):
        kenlm_model.find_models(tmp_path / "nowhere")


def test_no_tokens_no_perplexity():
    model = kenlm_model.load(str(kenlm_model.find_models(MODELS)["en"]))
    assert kenlm_model.doc_perplexity(model, "\n \n\t", "en") is None
