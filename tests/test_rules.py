"""Each rule against values computed by hand."""

from __future__ import annotations

import math
import random
import re
from collections import Counter

import pyarrow as pa
import pytest

from data_platform.rules import REGISTRY, DocBatch
from data_platform.text import words
from tests.conftest import REPO


def compute(name: str, texts: list[str], lang: str = "en", resources=None, **params):
    rule = REGISTRY[name]
    batch = DocBatch(pa.array(texts, pa.string()), lang, resources or {})
    return rule.compute(batch, rule.params(**params))


def test_char_repetition_roots_definition():
    values = compute("char_repetition", ["abc" * 14, "The quick brown fox jumps over the lazy dog.", "short", ""],
                     n=10).values
    # "abc"*14 (42 chars): 33 overlapping 10-grams, 3 distinct, each repeated (11 times).
    # k = min(floor(sqrt(3)), 3 repeated) = 1 -> 11 / 33. No repeat: k = min(sqrt(N), 0) = 0. No 10-gram: 0.
    assert values == [pytest.approx(11 / 33), 0.0, 0.0, 0.0]
    # "aaaaab": 3-grams aaa x3, aab once -> distinct 2, repeated 1 -> k=1 -> 3/4.
    assert compute("char_repetition", ["aaaaab"], n=3).values == [pytest.approx(3 / 4)]


def test_word_repetition_roots_definition():
    # 7 word 5-grams; "a b c d e" occurs twice (both occurrences count) -> 2/7; four words: no 5-gram -> 0
    values = compute("word_repetition", ["a b c d e a b c d e x", "only four words here"], n=5).values
    assert values == [pytest.approx(2 / 7), 0.0]


def _roots_char(text: str, n: int) -> float:
    """ROOTS' character repetition ratio, counted plainly."""
    counts = Counter(text[i : i + n] for i in range(len(text) - n + 1))
    freqs = sorted(counts.values(), reverse=True)
    k = min(int(math.sqrt(len(freqs))), sum(f > 1 for f in freqs))
    return sum(freqs[:k]) / sum(freqs) if freqs else 0.0


def _roots_word(ws: list[str], n: int) -> float:
    counts = Counter(tuple(ws[i : i + n]) for i in range(len(ws) - n + 1))
    return sum(f for f in counts.values() if f > 1) / sum(counts.values()) if counts else 0.0


def test_repetition_rules_match_a_plain_count_on_random_documents():
    # batch-wide hashing must give each document exactly its own Counter-based value (documents never mix)
    rng = random.Random(3)
    texts = ["".join(rng.choice("ab c日") for _ in range(rng.randint(0, 60))) for _ in range(80)] * 2
    for n in (1, 3, 10):
        assert compute("char_repetition", texts, n=n).values == [pytest.approx(_roots_char(t, n)) for t in texts]
    for n in (2, 5):
        expected = [pytest.approx(_roots_word(words(t, "en"), n)) for t in texts]
        assert compute("word_repetition", texts, n=n).values == expected


def test_word_repetition_rule_lowercases_and_strips_punctuation():
    text = "The cat sat down. the CAT sat down!"  # words: the cat sat down the cat sat down
    # 2-grams: the-cat x2, cat-sat x2, sat-down x2, down-the x1 -> 6/7
    assert compute("word_repetition", [text], n=2).values[0] == pytest.approx(6 / 7)


def test_word_count_space_separated_and_cjk():
    assert compute("word_count", ["Hello, world!  It's 2024 -- fine."]).values == [4.0]  # "2024" and "--" vanish
    # jieba: 我们 / 今天 / 去 / 北京 / 旅游 (punctuation is not a word)
    assert compute("word_count", ["我们今天去北京旅游。"], lang="zh").values == [5.0]
    # MeCab + IPA dictionary: 私 / は / 東京 / に / 住ん / で / い / ます
    assert words("私は東京に住んでいます。", "ja") == ["私", "は", "東京", "に", "住ん", "で", "い", "ます"]


def test_short_line_ratio_ignores_blank_lines():
    text = "short\n\nthis line is certainly long enough\nab\n   \nanother line that is long enough"
    assert compute("short_line_ratio", [text], line_chars=20).values == [pytest.approx(2 / 4)]


def test_special_char_ratio_counts_emoji_and_digits():
    text = "ab 12!🎰"  # specials: space, 1, 2, !, 🎰 -> 5 of 7
    assert compute("special_char_ratio", [text]).values == [pytest.approx(5 / 7)]


def test_digit_punct_line_ratio():
    text = "12 | 34 | 56\n-----\nA real line\n3.14\n\n"
    assert compute("digit_punct_line_ratio", [text]).values == [pytest.approx(3 / 4)]


def test_base64_ratio_and_line_lengths():
    blob = "QUJD" * 40  # 160 base64 chars
    text = "see: " + blob
    assert compute("base64_ratio", [text], min_run=64).values[0] == pytest.approx(160 / 165)
    assert compute("base64_ratio", ["nothing encoded here"], min_run=64).values == [0.0]
    assert compute("max_line_length", ["ab\nabcd\n\n"]).values == [4.0]
    assert compute("mean_line_length", ["ab\nabcd\n\n"]).values == [3.0]
    assert compute("mean_line_length", [""]).values == [None]


def test_stopword_ratio_and_missing_list():
    res = {"stopword_ratio": {"stopwordsiso": {"en": frozenset({"the", "of"})}}}
    assert compute("stopword_ratio", ["The end of the story"], resources=res).values == [pytest.approx(3 / 5)]
    missing = compute("stopword_ratio", ["texte"], lang="xx", resources=res)
    assert missing.values == [None] and "no stopword list" in missing.details[0]


def test_flagged_words_category_priority():
    lists = {"en": {"gambling": frozenset({"casino"}), "porn": frozenset({"xxx"})},
             "zh": {"gambling": frozenset({"赌场"})}}
    res = {"flagged_word_ratio": {"wordlists/flagged": lists}}
    scores = compute("flagged_word_ratio", ["casino xxx casino and more words here"], resources=res,
                     categories=["porn", "gambling"])
    assert scores.values[0] == pytest.approx(3 / 7)
    assert scores.details[0].startswith("category=porn")
    zh = compute("flagged_word_ratio", ["这个赌场很大"], lang="zh", resources=res, categories=["gambling"])
    assert zh.values[0] > 0 and "赌场" in zh.details[0]



def readme_rule_names() -> set[str]:
    """The rule names in the first column of README.md's rule table (``| rule | value | parameters |``)."""
    table = (REPO / "README.md").read_text(encoding="utf-8").split("| rule | value | parameters |\n", 1)[1]
    rows = table.split("\n\n", 1)[0].splitlines()[1:]  # after the |---| line, up to the blank line
    return {name for row in rows for name in re.findall(r"`([a-z0-9_]+)`", row.split("|")[1])}


def test_every_rule_has_a_readme_row_and_a_test():
    """Exercised = the rule's name appears in a tests/test_*.py file as a quoted string (``compute("name", ...)``,
    ``REGISTRY["name"]``) or as a rule-file key (``name: {...}`` in a YAML text the test loads)."""
    assert set(REGISTRY) - readme_rule_names() == set(), "rules without a row in README.md's rule table"
    assert readme_rule_names() - set(REGISTRY) == set(), "README.md's rule table names rules that do not exist"
    tests = [p.read_text(encoding="utf-8") for p in (REPO / "tests").glob("test_*.py")]
    untested = [n for n in REGISTRY if not any(re.search(rf"[\"']{n}[\"']|\b{n}:", t) for t in tests)]
    assert untested == []


def test_views_are_computed_once_per_batch():
    import pyarrow as pa

    from data_platform.rules import DocBatch

    calls = []
    batch = DocBatch(pa.array(["a\nb", "c"]), "en")

    def split(text: str) -> list[str]:
        calls.append(text)
        return text.split("\n")

    assert batch.view("lines", split) == [["a", "b"], ["c"]]
    assert batch.view("lines", split) == [["a", "b"], ["c"]]
    assert calls == ["a\nb", "c"]
