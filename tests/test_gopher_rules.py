"""Gopher quality and repetition rules against values computed by hand, and the Gopher preset."""

from __future__ import annotations

import pyarrow as pa
import pytest
import yaml

from data_platform.config import load_rules
from data_platform.rules import REGISTRY, DocBatch
from tests.conftest import REPO


def compute(name: str, texts: list[str], lang: str = "en", resources=None, **params) -> list:
    rule = REGISTRY[name]
    batch = DocBatch(pa.array(texts, pa.string()), lang, resources or {})
    return list(rule.compute(batch, rule.params(**params)).values)


# Words (batch.words): "-", "#b", "...", "•", "12", "|" lose their symbols and digits; left: a, b, c, x.
SYMBOLS = "- a #b ...\n\n• c……\n  12 | x..."
ZH = "我们今天去北京。我们今天去北京。"  # jieba: 我们 今天 去 北京, twice; 16 characters


def test_word_rules():
    # mean length: (1 + 1 + 1 + 1) / 4; zh: 我们 今天 去 北京 twice -> (2 + 2 + 1 + 2) * 2 / 8
    assert compute("mean_word_length", [SYMBOLS, ""]) == [1.0, None]
    assert compute("mean_word_length", [ZH], "zh") == [pytest.approx(7 / 4)]
    # one "#" over 4 words
    assert compute("hash_word_ratio", [SYMBOLS, ""]) == [0.25, None]
    # ellipses "...", "……" (one run), "..." over 4 words; zh: one "……" over 8 words
    assert compute("ellipsis_word_ratio", [SYMBOLS, "a b", "x......y"]) == [0.75, 0.0, 1.0]
    assert compute("ellipsis_word_ratio", [ZH + "……"], "zh") == [1 / 8]


def test_line_rules():
    # 3 non-empty lines (the blank one is not a line): "- a" and "• c……" start with a bullet; all end with one
    assert compute("bullet_line_ratio", [SYMBOLS, ""]) == [pytest.approx(2 / 3), None]
    assert compute("bullet_line_ratio", [SYMBOLS], bullets=["•"]) == [pytest.approx(1 / 3)]
    assert compute("ellipsis_line_ratio", [SYMBOLS, "a... b\nc"]) == [1.0, 0.0]
    # spaces around a line do not matter; a bullet must be the line's first character
    assert compute("bullet_line_ratio", ["   * a  \nb * c"]) == [0.5]
    assert compute("ellipsis_line_ratio", ["a...   \nb"]) == [0.5]
    # Japanese list items start with ・; a Chinese line ends with ……
    assert compute("bullet_line_ratio", ["・東京\n・大阪\n関西"], "ja") == [pytest.approx(2 / 3)]
    assert compute("ellipsis_line_ratio", [ZH + "……\n北京"], "zh") == [0.5]


def test_alpha_word_ratio():
    # whitespace tokens: -, a, #b, ..., •, c……, 12, |, x... -> a, #b, c……, x... hold a letter: 4 / 9
    assert compute("alpha_word_ratio", [SYMBOLS, "", "déjà vu 2021"]) == [pytest.approx(4 / 9), None,
                                                                         pytest.approx(2 / 3)]
    assert compute("alpha_word_ratio", [ZH], "zh") == [None]


def test_stopword_count_lists_and_wordfreq():
    gopher = ["the", "be", "to", "of", "and", "that", "have", "with"]
    # distinct stopwords: the, of, and (the twice counts once)
    text = "The end of the road and a house"
    assert compute("stopword_count", [text, ""], words=gopher) == [3.0, 0.0]
    resources = {"stopword_count": REGISTRY["stopword_count"].load([REGISTRY["stopword_count"].params()], REPO)}
    # wordfreq's 8 most frequent English words: the, to, and, of, a, in, i, is -> the, of, and, a
    assert compute("stopword_count", [text], resources=resources) == [4.0]
    # zh: 的, 是 and 在 are among wordfreq's most frequent Chinese words; jieba gives them as words
    assert compute("stopword_count", ["这是我的书，他在家。"], "zh", resources=resources) == [3.0]
    assert compute("stopword_count", [ZH], "xx", resources=resources) == [None]
    # Norwegian is "no" here, "nb" in wordfreq, whose 8 most frequent words are i, og, er, det, å, på, som, til:
    # "er", "og", "som", "i" (not "en", the 9th, nor "dette")
    assert compute("stopword_count", ["Dette er en bok, og som i fjor."], "no", resources=resources) == [4.0]


def test_line_and_paragraph_duplicates():
    text = "the cat sat\nthe cat sat\n\nhello\n\nthe cat sat\nthe cat sat"  # 11+1+11+2+5+2+11+1+11 = 55 characters
    # lines: 5 non-empty, 3 repeat the first ("the cat sat", 11 characters each)
    assert compute("dup_line_ratio", [text, "", "a\nb"]) == [3 / 5, None, 0.0]
    assert compute("dup_line_char_ratio", [text]) == [pytest.approx(33 / 55)]
    # paragraphs: "the cat sat\nthe cat sat" (23 characters), "hello", and the first again
    assert compute("dup_para_ratio", [text, ""]) == [pytest.approx(1 / 3), None]
    assert compute("dup_para_char_ratio", [text]) == [pytest.approx(23 / 55)]
    assert compute("dup_line_ratio", ["北京\n北京\n上海"], "zh") == [pytest.approx(1 / 3)]


def test_top_ngram_char_ratio():
    # "a b c a b c" (11 characters): "a b" occurs twice, first of the most frequent -> words 0, 1, 3, 4
    assert compute("top_2gram_char_ratio", ["a b c a b c", "", "a b"]) == [pytest.approx(4 / 11), None, 0.0]
    # "x x x x" (7 characters): "x x" at 0, 1 and 2 overlap; the 4 words count once -> 4 / 7
    assert compute("top_2gram_char_ratio", ["x x x x"]) == [pytest.approx(4 / 7)]
    # zh: (我们, 今天) twice -> 我们 今天 我们 今天 = 8 of 16 characters
    assert compute("top_2gram_char_ratio", [ZH], "zh") == [0.5]
    # 3-grams of "a b c a b c": "a b c" twice -> all 6 words; 4-grams all distinct
    assert compute("top_3gram_char_ratio", ["a b c a b c"]) == [pytest.approx(6 / 11)]
    assert compute("top_4gram_char_ratio", ["a b c a b c"]) == [0.0]


def test_dup_ngram_char_ratio():
    # 6 words twice (12 words of 3 characters, 11 spaces: 47 characters); the 5-grams at 6 and 7 repeat those at
    # 0 and 1 -> words 6..11, 18 characters
    text = "one two six ten red sky one two six ten red sky"
    assert compute("dup_5gram_char_ratio", [text, "", "a b c"]) == [pytest.approx(18 / 47), None, 0.0]
    # 6-grams: the one at 6 repeats the one at 0 -> the same 6 words
    assert compute("dup_6gram_char_ratio", [text]) == [pytest.approx(18 / 47)]
    assert compute("dup_7gram_char_ratio", [text]) == [0.0]
    for n in (8, 9, 10):
        assert compute(f"dup_{n}gram_char_ratio", [text]) == [0.0]
    # zh: 我们 今天 去 北京 four times (32 characters); the 5-grams at 4..11 repeat those 4 words earlier, so the
    # last three copies (7 characters each) are covered -> 21 / 32; twice only: no 5-gram repeats
    assert compute("dup_5gram_char_ratio", [ZH * 2, ZH], "zh") == [pytest.approx(21 / 32), 0.0]


def test_ngrams_never_cross_documents():
    # each document alone has no repeated 5-gram; together they would
    assert compute("dup_5gram_char_ratio", ["a b c d e", "a b c d e"]) == [0.0, 0.0]
    assert compute("top_2gram_char_ratio", ["a b", "a b"]) == [0.0, 0.0]


# Rae et al. 2021, table A1 (and appendix A.1.1 for the quality filter).
TABLE_A1 = {
    "word_count": (50, 100000), "mean_word_length": (3, 10), "hash_word_ratio": (None, 0.1),
    "ellipsis_word_ratio": (None, 0.1), "bullet_line_ratio": (None, 0.9), "ellipsis_line_ratio": (None, 0.3),
    "alpha_word_ratio": (0.8, None), "stopword_count": (2, None),
    "dup_line_ratio": (None, 0.30), "dup_para_ratio": (None, 0.30), "dup_line_char_ratio": (None, 0.20),
    "dup_para_char_ratio": (None, 0.20), "top_2gram_char_ratio": (None, 0.20), "top_3gram_char_ratio": (None, 0.18),
    "top_4gram_char_ratio": (None, 0.16), "dup_5gram_char_ratio": (None, 0.15), "dup_6gram_char_ratio": (None, 0.14),
    "dup_7gram_char_ratio": (None, 0.13), "dup_8gram_char_ratio": (None, 0.12), "dup_9gram_char_ratio": (None, 0.11),
    "dup_10gram_char_ratio": (None, 0.10),
}


def test_gopher_preset_has_table_a1_thresholds_enforced():
    ruleset = load_rules(REPO / "rules" / "presets" / "gopher.yaml")
    rules = dict(ruleset.resolve("en", "web").rules)
    assert list(rules) == list(TABLE_A1)
    for name, (low, high) in TABLE_A1.items():
        assert (rules[name].min, rules[name].max, rules[name].mode) == (low, high, "drop"), name
    assert rules["stopword_count"].words == ["the", "be", "to", "of", "and", "that", "have", "with"]


def test_default_file_has_gopher_rules_with_table_a1_bounds():
    data = yaml.safe_load((REPO / "rules" / "default.yaml").read_text(encoding="utf-8"))
    gopher = [n for n in TABLE_A1 if n != "word_count"]
    after_funnel = data["order"][data["order"].index("perplexity") + 1:]  # appended after the team's funnel
    assert set(gopher) <= set(after_funnel)
    enforced = {"alpha_word_ratio", "stopword_count"}  # calibration showed they help (languages: calibrated)
    for name in gopher:
        entry = data["rules"][name]
        mode = "drop" if name in enforced else "tag"
        assert entry.get("mode", "drop") == mode and (entry.get("min"), entry.get("max")) == TABLE_A1[name], name


def _reference(words: list[str], n: int, top: bool) -> int:
    """Word characters covered, counted plainly: the top n-gram's occurrences, or the repeats of earlier n-grams."""
    grams = [tuple(words[i : i + n]) for i in range(len(words) - n + 1)]
    if top:
        best = max(grams, key=grams.count, default=None)  # max keeps the first of equally frequent ones
        starts = [i for i, g in enumerate(grams) if best is not None and grams.count(best) > 1 and g == best]
    else:
        starts = [i for i, g in enumerate(grams) if g in grams[:i]]
    covered = {j for i in starts for j in range(i, i + n)}
    return sum(len(words[j]) for j in covered)


def test_ngram_rules_match_a_plain_reference_on_random_documents():
    import random

    rng = random.Random(7)
    vocab = ["a", "bb", "ccc", "dddd", "ee"]
    texts = [" ".join(rng.choice(vocab) for _ in range(rng.randint(0, 40))) for _ in range(60)]
    shared = DocBatch(pa.array(texts, pa.string()), "en", {})  # one batch for all: the rules share its hashes
    for n, top in [(2, True), (3, True), (4, True), (5, False), (6, False), (8, False), (10, False), (7, False),
                   (3, True)]:  # increasing, then smaller n again
        name = f"top_{n}gram_char_ratio" if top else f"dup_{n}gram_char_ratio"
        expected = [pytest.approx(_reference(t.split(), n, top) / len(t)) if t else None for t in texts]
        assert compute(name, texts) == expected, name
        assert list(REGISTRY[name].compute(shared, REGISTRY[name].params()).values) == expected, name


def test_alpha_word_ratio_with_spacy_tokens_counts_punctuation_as_words():
    text = "Hello, world. (foo) e.g. x"
    # whitespace tokens: Hello, world. (foo) e.g. x -> all 5 hold a letter = 1.0
    assert compute("alpha_word_ratio", [text]) == [pytest.approx(1.0)]
    # spaCy: Hello , world . ( foo ) e.g. x -> 9 tokens, 5 with a letter (Hello world foo e.g. x) = 5/9
    assert compute("alpha_word_ratio", [text], tokens="spacy") == [pytest.approx(5 / 9)]
    assert compute("alpha_word_ratio", [""], tokens="spacy") == [None]
