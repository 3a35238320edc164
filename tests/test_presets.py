"""The presets under rules/presets/: each loads, and carries the published thresholds of the pipeline it names.

The published values are written out here, not read from the files: FineWeb's from datatrove 0.10.1's filter
defaults and examples/fineweb.py (Gopher's from Rae et al. 2021, table A1), ROOTS' from
bigscience-workshop/data-preparation, preprocessing/training/01b_oscar_cleaning_and_filtering/
parameters_filtering.py. gopher.yaml and c4.yaml are checked by their own tests.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from data_platform.config import load_rules

PRESETS = Path(__file__).resolve().parents[1] / "rules" / "presets"

# rule -> (min, max), as enforced for an English web document
FINEWEB = {
    "langid": (0.65, None),
    "dup_para_ratio": (None, 0.30), "dup_para_char_ratio": (None, 0.20),
    "dup_line_ratio": (None, 0.30), "dup_line_char_ratio": (None, 0.20),
    "top_2gram_char_ratio": (None, 0.20), "top_3gram_char_ratio": (None, 0.18), "top_4gram_char_ratio": (None, 0.16),
    "dup_5gram_char_ratio": (None, 0.15), "dup_6gram_char_ratio": (None, 0.14), "dup_7gram_char_ratio": (None, 0.13),
    "dup_8gram_char_ratio": (None, 0.12), "dup_9gram_char_ratio": (None, 0.11), "dup_10gram_char_ratio": (None, 0.10),
    "word_count": (50, 100000), "mean_word_length": (3, 10),
    "hash_word_ratio": (None, 0.1), "ellipsis_word_ratio": (None, 0.1),
    "bullet_line_ratio": (None, 0.9), "ellipsis_line_ratio": (None, 0.3),
    "alpha_word_ratio": (0.8, None), "stopword_count": (2, None),
    "pattern_count": (None, 0), "curly_bracket_count": (None, 0), "sentence_count": (5, None),
    "line_punct_ratio": (0.12, None), "short_line_ratio": (None, 0.67),
    "fineweb_dup_line_char_ratio": (None, 0.01), "list_ratio": (None, 0.3),
}

# ROOTS: language -> (words min, words max, char-rep n, char-rep max, word-rep n, word-rep max, special max,
# stopwords min, flagged max, langid min); "default" applies to every language without an entry.
ROOTS = {
    "default": (10, 100000, 10, 0.2, 5, 0.3, 0.4, 0.1, 0.1, 0.70),
    "ar": (20, 100000, 10, 0.20, 5, 0.34, 0.30, 0.07, 0.03, 0.81),
    "bn": (33, 100000, 10, 0.13, 5, 0.21, 0.45, 0.002, 0.001, 0.95),
    "ca": (15, 100000, 10, 0.2, 5, 0.4, 0.25, 0.25, 0.1, 0.8),
    "en": (20, 100000, 10, 0.106, 5, 0.19, 0.4, 0.3, 0.01, 0.80),
    "es": (16, 100000, 10, 0.14, 5, 0.25, 0.34, 0.4, 0.01, 0.8),
    "eu": (8, 100000, 10, 0.20, 5, 0.40, 0.31, 0.05, 0.1, 0.70),
    "fr": (13, 100000, 10, 0.14, 5, 0.13, 0.34, 0.27, 0.008, 0.8),
    "hi": (38, 100000, 10, 0.18, 5, 0.47, 0.45, 0.01, 0.005, 0.90),
    "id": (15, 100000, 10, 0.15, 5, 0.20, 0.34, 0.15, 0.01, 0.7),
    "pt": (19, 100000, 10, 0.25, 5, 0.98, 0.35, 0.2, 0.007, 0.6),
    "ur": (25, 100000, 10, 0.19, 7, 0.5, 0.25, 0.01, 0.025, 0.90),
    "vi": (30, 100000, 10, 0.15, 5, 0.20, 0.34, 0.08, 0.005, 0.90),
    "zh": (1, 1000000, 3, 0.2, 5, 0.96, 0.3, 0.1691, 0.001, 0.85),
}


def _enforced(path: Path, lang: str, source: str = "web") -> dict:
    return dict(load_rules(path).resolve(lang, source).rules)


@pytest.mark.parametrize("path", sorted(PRESETS.glob("*.yaml")), ids=lambda p: p.name)
def test_every_preset_loads(path):
    assert load_rules(path).order  # load_rules raises ConfigError on any invalid key, rule or value


def test_fineweb_preset_has_the_published_thresholds_in_the_chain_order():
    rules = _enforced(PRESETS / "fineweb.yaml", "en")
    assert list(rules) == list(FINEWEB)  # the chain's order: language, Gopher rep., Gopher quality, C4, FineWeb
    assert {name: (p.min, p.max) for name, p in rules.items()} == FINEWEB
    assert all(p.mode == "drop" for p in rules.values())
    assert rules["langid"].allowed == ["en"]
    short = rules["short_line_ratio"]
    assert (short.line_chars, short.inclusive) == (30, True)  # FineWeb: a line of <= 30 characters is short
    assert rules["stopword_count"].words == ["the", "be", "to", "of", "and", "that", "have", "with"]
    assert rules["bullet_line_ratio"].bullets == ["•", "-"]  # datatrove's GopherQualityFilter
    assert rules["pattern_count"].categories == ["lorem_ipsum"]


def test_fineweb_preset_runs_c4_line_filters_as_fineweb_does():
    config = load_rules(PRESETS / "fineweb.yaml").config
    lines = config.clean.lines
    assert lines.enabled and lines.javascript and lines.policy and lines.strip_citations
    assert lines.min_words == 3
    assert not lines.lorem_ipsum  # C4 drops the page (pattern_count), it does not remove the line
    assert not lines.no_terminal_punct  # C4QualityFilter(filter_no_terminal_punct=False)
    assert not (lines.symbols_only or lines.navigation)  # not C4 rules
    assert (lines.min_remaining_chars, lines.min_remaining_share) == (0, 0)
    assert config.extract.favor_precision  # Trafilatura(favour_precision=True)
    assert not (config.normalize.collapse_spaces or config.normalize.remove_non_printable)
    assert config.normalize.max_word_chars == 1000  # C4's max_word_length (the word, not its line, goes)


@pytest.mark.parametrize("lang", sorted(ROOTS))
def test_roots_preset_has_the_published_thresholds_per_language(lang):
    words_min, words_max, char_n, char_max, word_n, word_max, special, stop, flagged, langid = ROOTS[lang]
    rules = _enforced(PRESETS / "roots.yaml", "xx" if lang == "default" else lang)
    assert list(rules) == ["word_count", "char_repetition", "word_repetition", "special_char_ratio",
                           "stopword_ratio", "flagged_word_ratio", "langid"]  # ROOTS' order of checks
    assert (rules["word_count"].min, rules["word_count"].max) == (words_min, words_max)
    assert (rules["char_repetition"].n, rules["char_repetition"].max) == (char_n, char_max)
    assert (rules["word_repetition"].n, rules["word_repetition"].max) == (word_n, word_max)
    assert rules["special_char_ratio"].max == special
    assert rules["stopword_ratio"].min == stop
    assert rules["flagged_word_ratio"].max == flagged
    assert rules["langid"].min == langid


def test_roots_preset_modifies_documents_as_roots_does():
    normalize = load_rules(PRESETS / "roots.yaml").config.normalize
    assert normalize.collapse_spaces and not normalize.unify_punctuation
    assert normalize.max_word_chars == 25  # en length_word_max_cutoff
    for word in ("http://x.org", "www.x", "site.com", "href=", "a//b"):
        assert normalize.junk_word_pattern and _removed(word, normalize)


def _removed(word: str, normalize) -> bool:
    import pyarrow as pa

    from data_platform.normalize import normalize_texts

    return normalize_texts(pa.array([f"keep {word} keep"]), normalize).to_pylist() == ["keep keep"]
