"""The closed-class stopword lists (rules/wordlists/stopwords) and stopword_ratio against ROOTS' definition."""

from __future__ import annotations

import re
import sys

import pyarrow as pa
import pytest
import yaml

from data_platform.langcodes import normalize_lang
from data_platform.rules import REGISTRY, DocBatch
from data_platform.rules.wordlists import load_stopwords
from data_platform.text import SPECIAL_CHARS
from tests.conftest import DEFAULT_RULES, REPO

FOLDER = REPO / "rules" / "wordlists" / "stopwords"
SUPPORTED = "zh en de fr ja ru es it pt nl pl sv da no cs ro hr tr vi id ar fa ko el ca uk".split()  # no: Bokmål
# Scripts where one character is a syllable or a morpheme, not a letter (zh/ja/ko are checked separately).
SYLLABIC = {"zh", "ja", "ko"}
BUILD = yaml.safe_load((FOLDER / "build.yaml").read_text(encoding="utf-8"))
SPECS = {normalize_lang(k): v or {} for k, v in BUILD["languages"].items()}  # nb (the sources' name) is "no" here


@pytest.fixture(scope="module")
def lists() -> dict[str, frozenset[str]]:
    return load_stopwords("wordlists/stopwords", REPO / "rules")


def ratio(texts: list[str], lang: str, stop: frozenset[str], spec: str = "wordlists/stopwords") -> list[float]:
    """The project's stopword_ratio with ``stop`` as the list of ``lang``."""
    rule = REGISTRY["stopword_ratio"]
    batch = DocBatch(pa.array(texts, pa.string()), lang, {"stopword_ratio": {spec: {lang: stop}}})
    return rule.compute(batch, rule.params(wordlist=spec)).values


def roots_stopword_ratio(document: str, stopwords: frozenset[str]) -> float:
    """BigScience ROOTS' stopword ratio as its filtering code defines it (no sentencepiece, no augmentation).

    get_words_from_document: split on " ", newline and tab, drop empty pieces, lower-case, strip the special
    characters from both ends, drop empty words; compute_stopwords_ratio: stopwords among the words / words,
    0 for no words, capped at 1 (the cap only bites with zh/vi word augmentation, which is not used here).
    """
    pieces = [p for p in re.split(" |\n|\t", document) if p]
    words = [w for w in (p.lower().strip("".join(SPECIAL_CHARS)) for p in pieces) if w]
    if not words:
        return 0.0
    return min(1.0, sum(w in stopwords for w in words) / len(words))


def test_every_supported_language_has_a_list_with_source_and_licence(lists):
    assert set(SUPPORTED) <= set(lists)
    for lang in lists:
        head = (FOLDER / f"{lang}.txt").read_text(encoding="utf-8").splitlines()[:5]
        assert head[1].startswith("# Sources:") and "MIT licence" in head[1], lang
        assert "CC BY-SA 4.0" in head[2], lang


def test_no_digits_no_spaces_and_single_letters_only_where_allowed(lists):
    for lang, words in lists.items():
        assert not [w for w in words if any(c.isdigit() or c.isspace() for c in w)], lang
        allowed = set(SPECS[lang].get("one_letter") or [])
        assert all(len(w) == 1 for w in allowed), lang
        if lang in SYLLABIC:
            # no Latin letters at all; Korean (split on spaces) keeps only the one-syllable words allowed
            assert not [w for w in words if re.search("[a-z]", w)], lang
            if lang == "ko":
                assert {w for w in words if len(w) == 1} <= allowed
            continue
        assert {w for w in words if len(w) == 1} <= allowed, lang


def test_single_letter_allow_lists_are_real_function_words(lists):
    # en keeps "a" and "i" only; fr its preposition and pronoun; the stopwordsiso lists held every letter
    assert {w for w in lists["en"] if len(w) == 1} == {"a", "i"}
    assert {"à", "y"} <= lists["fr"] and "b" not in lists["fr"]
    assert {"w", "i", "z"} <= lists["pl"] and "x" not in lists["pl"]


def test_sizes_are_sane_and_smaller_than_stopwordsiso(lists):
    import stopwordsiso

    for lang in SUPPORTED:
        assert 100 <= len(lists[lang]) <= 800, (lang, len(lists[lang]))
    assert 200 <= len(lists["en"]) <= 400  # ROOTS' English closed-class list has 301 words
    assert len(lists["en"]) < len(stopwordsiso.stopwords("en")) / 3  # stopwordsiso en: 1298


def test_content_words_and_unmatchable_entries_are_out(lists):
    assert not {"big", "new", "year", "name", "show"} & lists["en"]
    assert not {"jahr", "zeit", "uhr"} & lists["de"]
    # entries are written as lower() leaves text: Greek final sigma (ς), German ß (wordfreq case-folds both)
    assert {"ίδιος", "αυτός"} <= lists["el"] and not [w for w in lists["el"] if w.endswith("σ")]
    assert "daß" in lists["de"]
    # zh/ja entries are single tokens of the project's segmenter; ko entries are whole space-separated words
    from data_platform.text import words

    assert all(words(w, "zh") == [w] for w in lists["zh"])
    assert all(words(w, "ja") == [w] for w in lists["ja"])
    assert not {"에서", "으로", "는"} & lists["ko"]  # particles are never a word of their own


def test_now_big_symbol_soup_no_longer_scores_high(lists):
    import stopwordsiso

    soup = "now big ### q ~~ z @@ k %% x ** j -- v"
    # words after stripping special characters: now big q z k x j v (8); stopwordsiso en lists all eight,
    # the closed-class list only "now" -> 1/8, under the English minimum of the default rules
    assert ratio([soup], "en", frozenset(stopwordsiso.stopwords("en")), "stopwordsiso") == [1.0]
    assert ratio([soup], "en", lists["en"]) == [pytest.approx(1 / 8)]
    default = yaml.safe_load(DEFAULT_RULES.read_text(encoding="utf-8"))
    assert 1 / 8 < default["languages"]["en"]["stopword_ratio"]["min"]


@pytest.mark.parametrize(("lang", "text", "expected"), [
    # the cat sat on the mat and it was happy: the, on, the, and, it, was -> 6 / 10
    ("en", "The cat sat on the mat, and it was happy.", 6 / 10),
    # l'homme est à la maison mais il n'y est pas ("!" strips to nothing): est à la mais il est pas -> 7 / 10
    ("fr", "L'homme est à la maison, mais il n'y est pas !", 7 / 10),
    # tab and newline split too: der hund und die katze sind im garten -> der und die sind im -> 5 / 8
    ("de", "Der Hund\tund die Katze\nsind im Garten.", 5 / 8),
    # "—" is a special character, so it is no word: я и ты мы друзья -> 4 / 5
    ("ru", "Я и ты — мы друзья.", 4 / 5),
    # el perro y el gato están en la casa -> el y el están en la -> 6 / 9
    ("es", "El perro y el gato están en la casa.", 6 / 9),
    ("en", "### ~~~ 123", 0.0),  # no words at all
])
def test_stopword_ratio_equals_the_roots_definition(lists, lang, text, expected):
    stop = lists[lang]
    assert roots_stopword_ratio(text, stop) == pytest.approx(expected)
    assert ratio([text], lang, stop) == [pytest.approx(expected)]


def test_zh_segmentation_differs_from_roots_but_the_ratio_definition_is_the_same(lists):
    # ROOTS split zh with a sentencepiece model and added word bigrams; the project uses jieba words. jieba gives
    # 我们 的 书 在 桌子 上: 6 words, stopwords 我们 的 在 上 -> 4 / 6. 上 is one of ROOTS' special characters,
    # which ROOTS strips from word edges (to nothing here: 5 words, 3 / 5); the project strips no letters.
    text = "我们的书在桌子上。"
    assert ratio([text], "zh", lists["zh"]) == [pytest.approx(4 / 6)]
    assert roots_stopword_ratio("我们 的 书 在 桌子 上 。", lists["zh"]) == pytest.approx(3 / 5)
    assert roots_stopword_ratio("我们 的 书 在 桌子 。", lists["zh"]) == pytest.approx(3 / 5)
    # ROOTS' whitespace split would see one word, which is no stopword
    assert roots_stopword_ratio(text, lists["zh"]) == 0.0


def test_committed_lists_are_what_the_build_script_makes():
    sys.path.insert(0, str(REPO / "scripts"))
    try:
        import build_stopwords
    finally:
        sys.path.pop(0)
    assert build_stopwords.main(["--check"]) == 0


def test_stopwordsiso_option_still_loads():
    lists = load_stopwords("stopwordsiso", REPO / "rules")
    assert "big" in lists["en"] and len(lists["en"]) > 1000
