"""FineWeb, C4 and mC4 rules, the pattern and unigram rules, C4's line rules and the C4 preset: hand-computed values."""

from __future__ import annotations

import math
from pathlib import Path

import pyarrow as pa
import pytest
import wordfreq

from data_platform.clean.line_rules import LineCleanConfig, clean_lines
from data_platform.config import load_rules
from data_platform.rules import REGISTRY, DocBatch
from data_platform.rules.c4 import BadWordParams, bad_word_lists
from data_platform.rules.patterns import PatternParams, load_patterns
from data_platform.yaml_lines import ConfigError

REPO = Path(__file__).resolve().parents[1]


def compute(name: str, texts: list[str], lang: str = "en", resources=None, **params):
    rule = REGISTRY[name]
    return rule.compute(DocBatch(pa.array(texts, pa.string()), lang, resources or {}), rule.params(**params))


def values(name: str, texts: list[str], lang: str = "en", **params) -> list:
    return list(compute(name, texts, lang, **params).values)


# --- FineWeb -----------------------------------------------------------------------------------------------------

def test_line_punct_ratio():
    # non-blank lines: "Hello world.", "no end here", "Is it?" (blank and whitespace-only lines left out) -> 2/3
    assert values("line_punct_ratio", ["Hello world.\nno end here\n\n  \nIs it?"]) == [pytest.approx(2 / 3)]
    # as written, like FineWeb: "Done. " ends in a space -> 0/1; "Wow!" -> 1/1
    assert values("line_punct_ratio", ["Done. ", "Wow!"]) == [0.0, 1.0]
    # zh: 。 and ？ are sentence terminals, the second line has none -> 2/3
    assert values("line_punct_ratio", ["今天天气很好。\n我们去公园\n你好吗？"], "zh") == [pytest.approx(2 / 3)]
    assert values("line_punct_ratio", ["", "\n \n"]) == [None, None]


def test_fineweb_dup_line_char_ratio():
    # non-blank lines abc, abc, de, abc: the 2nd and 4th repeat -> 3 + 3 = 6 characters;
    # text "abc\nabc\n\nde\nabc" has 15 characters, 4 of them newlines -> 6 / 11
    assert values("fineweb_dup_line_char_ratio", ["abc\nabc\n\nde\nabc"]) == [pytest.approx(6 / 11)]
    # lines compared as written: "abc" and "abc " differ -> 0
    assert values("fineweb_dup_line_char_ratio", ["abc\nabc "]) == [0.0]
    # zh: 你好世界 repeated once -> 4 characters over 4 + 4 + 2 = 10
    assert values("fineweb_dup_line_char_ratio", ["你好世界\n你好世界\n再见"], "zh") == [pytest.approx(0.4)]
    assert values("fineweb_dup_line_char_ratio", ["", "\n\n"]) == [None, None]


def test_list_ratio():
    # 2 newlines, 6 words -> 1/3
    assert values("list_ratio", ["one two\nthree\nfour five six"]) == [pytest.approx(1 / 3)]
    # zh: jieba words 我们 去 北京 / 你好 -> 1 newline / 4 words
    assert values("list_ratio", ["我们去北京\n你好"], "zh") == [pytest.approx(1 / 4)]
    assert values("list_ratio", ["", "...\n---"]) == [None, None]  # no word


def test_short_line_ratio_inclusive_is_finewebs_at_most():
    text = "\n".join(["a" * 30, "b" * 31, "c" * 29])
    assert values("short_line_ratio", [text], line_chars=30) == [pytest.approx(1 / 3)]  # only 29 < 30
    assert values("short_line_ratio", [text], line_chars=30, inclusive=True) == [pytest.approx(2 / 3)]  # 29, 30 <= 30
    # zh: characters, not bytes: 30 Han characters is at most 30
    assert values("short_line_ratio", ["字" * 30 + "\n" + "字" * 31], "zh", line_chars=30, inclusive=True) == [0.5]
    assert values("short_line_ratio", [""], line_chars=30, inclusive=True) == [None]


# --- C4 and mC4 page rules -----------------------------------------------------------------------------------------

def test_sentence_count():
    # "One." "Two!" "Three?" end at a mark before whitespace; "Four" ends at the line end; "Five" at the text end
    assert values("sentence_count", ["One. Two! Three? Four\nFive"]) == [5.0]
    assert values("sentence_count", ["今天很好。我们走吧！真的吗？"], "zh") == [3.0]  # no spaces needed
    assert values("sentence_count", ["e.g. this"]) == [2.0]  # an abbreviation ends a sentence (NLTK's would not)
    assert values("sentence_count", ["", "  \n "]) == [0.0, 0.0]


def test_curly_bracket_count():
    assert values("curly_bracket_count", ["a {b} {{c}}", ""]) == [3.0, 0.0]  # three "{", none
    assert values("curly_bracket_count", ["代码｛全角｝不算{"], "zh") == [1.0]  # the full-width ｛ is not C4's "{"


def test_long_line_count():
    # lines as written: "abcde" 5, "abcd" 4, "  abc" 5, "xxxxxxx" 7 -> three of at least 5
    assert values("long_line_count", ["abcde\nabcd\n  abc\nxxxxxxx"], line_chars=5) == [3.0]
    assert values("long_line_count", ["你好世界啊\n你好"], "zh", line_chars=5) == [1.0]  # characters
    assert values("long_line_count", ["", "x" * 199 + "\n" + "y" * 200]) == [0.0, 1.0]  # mC4's 200 by default


@pytest.fixture
def bad_words(tmp_path):
    for lang, words in {"en": "porn\nbad phrase\nxxx\n# a comment\n", "zh": "色情\n"}.items():
        (tmp_path / "bw" / lang).mkdir(parents=True)
        (tmp_path / "bw" / lang / "porn.txt").write_text(words, encoding="utf-8")
    return {"bad_word_count": bad_word_lists([BadWordParams(wordlists="bw")], tmp_path)}


def test_bad_word_count(bad_words):
    text = "Porn, porn and pornography; a bad phrase. xxx-rated"
    # Porn, porn (case-insensitive), bad phrase, xxx (before "-"); "pornography" is another word -> 4
    got = compute("bad_word_count", [text, "porn porn", "Clean text.", ""], resources=bad_words, wordlists="bw")
    assert got.values == [4.0, 2.0, 0.0, 0.0]  # adjacent words both count
    assert got.details[0] == "bad phrase×1, porn×2, xxx×1"
    # zh: substrings, no word boundaries -> 2
    zh = compute("bad_word_count", ["这是色情网站，色情内容"], "zh", resources=bad_words, wordlists="bw")
    assert zh.values == [2.0]
    de = compute("bad_word_count", ["porn"], "de", resources=bad_words, wordlists="bw")
    assert de.values == [None] and "no bad-word list" in de.details[0]


# --- pattern_count -------------------------------------------------------------------------------------------------

def test_pattern_count_with_the_shipped_patterns():
    resources = {"pattern_count": load_patterns([PatternParams()], REPO / "rules")}
    text = "This website uses cookies. Lorem ipsum dolor.\n404 Page Not Found"
    # one match in each of cookie_consent, lorem_ipsum and error_page (case-insensitive) -> 3
    got = compute("pattern_count", [text, "An ordinary page.", ""], resources=resources)
    assert got.values == [3.0, 0.0, 0.0]
    assert got.details == ["cookie_consent×1, error_page×1, lorem_ipsum×1", None, None]
    zh = compute("pattern_count", ["对不起，页面不存在。页面不存在"], "zh", resources=resources,
                 categories=["error_page"])
    assert zh.values == [2.0] and zh.details == ["error_page×2"]


def test_pattern_count_case_and_categories(tmp_path):
    (tmp_path / "p").mkdir()
    (tmp_path / "p" / "spam.txt").write_text("# spam words\nbuy now\n\nfree (?:money|cash)\n", encoding="utf-8")
    resources = {"pattern_count": load_patterns([PatternParams(patterns="p")], tmp_path)}
    text = "BUY NOW: free cash, free money"  # buy now, free cash, free money -> 3
    assert values_with(resources, text, patterns="p") == [3.0]
    assert values_with(resources, text, patterns="p", ignore_case=False) == [2.0]  # BUY NOW is upper case


def values_with(resources, text, **params):
    return list(compute("pattern_count", [text], resources=resources, **params).values)


def test_a_bad_pattern_is_a_one_line_error_naming_file_and_line(tmp_path):
    (tmp_path / "p").mkdir()
    (tmp_path / "p" / "broken.txt").write_text("# fine\nok\n(unclosed\n", encoding="utf-8")
    rule_file = tmp_path / "r.yaml"
    rule_file.write_text("order: [pattern_count]\nrules:\n  pattern_count: {max: 0, patterns: p}\n", encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_rules(rule_file)
    message = str(err.value)
    assert "\n" not in message and "broken.txt:3" in message and "(unclosed" in message


# --- unigram_logprob -----------------------------------------------------------------------------------------------

def log10_freq(word: str, lang: str) -> float:
    return math.log10(wordfreq.get_frequency_dict(lang, "best")[word])


def test_unigram_logprob():
    # the words "the", "cat": mean of their log10 frequencies; "zzqxv" is unknown -> floor -9
    expected = (log10_freq("the", "en") + log10_freq("cat", "en")) / 2
    assert values("unigram_logprob", ["The cat."]) == [pytest.approx(expected)]
    assert values("unigram_logprob", ["the zzqxv"]) == [pytest.approx((log10_freq("the", "en") - 9) / 2)]
    assert values("unigram_logprob", ["the zzqxv"], floor=-12) == [pytest.approx((log10_freq("the", "en") - 12) / 2)]
    # Norwegian: "no" here, wordfreq's "nb" list
    assert values("unigram_logprob", ["og"], lang="no") == [pytest.approx(log10_freq("og", "nb"))]
    # zh: jieba words 我们 去 北京
    zh = sum(log10_freq(w, "zh") for w in ("我们", "去", "北京")) / 3
    assert values("unigram_logprob", ["我们去北京。"], "zh") == [pytest.approx(zh)]
    assert values("unigram_logprob", ["", "..."]) == [None, None]
    unknown = compute("unigram_logprob", ["words"], "xx")
    assert unknown.values == [None] and "no 'best' list for language 'xx'" in unknown.details[0]


# --- C4 line rules -------------------------------------------------------------------------------------------------

C4_LINES = LineCleanConfig(no_terminal_punct=True, strip_citations=True, ellipsis_not_terminal=True, min_words=3,
                           min_remaining_chars=0, min_remaining_share=0)
OFF = LineCleanConfig(no_terminal_punct=True, min_remaining_chars=0, min_remaining_share=0)


def test_citation_stripped_before_the_line_is_judged():
    line = "Paris is the capital of France.[3]"
    assert clean_lines(line, "en", "web", OFF).removed == {"no_terminal_punct": (1, 34)}  # today: ends in "]"
    result = clean_lines(line, "en", "web", C4_LINES)
    assert result.text == "Paris is the capital of France."
    assert result.removed == {"citations": (1, 3)}  # one line rewritten, "[3]" = 3 characters


def test_citation_only_lines_and_other_forms():
    text = "Early life [edit]\n[edit]\nIt was built in 1889.[citation needed]\nSee the list a[0].\n    x = a[0]"
    result = clean_lines(text, "en", "web", C4_LINES)
    # stripped: " [edit]" 7 (the line is stripped after), "[edit]" 6, "[citation needed]" 17, "[0]" 3 -> 4 lines, 33;
    # "Early life" then has no end mark (10 chars); the "[edit]" line held nothing else and goes;
    # C4's pattern cannot tell an index from a citation ("See the list a."), but an indented code line is never touched
    assert result.text == "It was built in 1889.\nSee the list a.\n    x = a[0]"
    assert result.removed == {"citations": (4, 33), "no_terminal_punct": (1, 10)}


def test_trailing_ellipsis_is_no_end_mark():
    for line in ("And then the story went on...", "And then the story went on…"):
        assert clean_lines(line, "en", "web", OFF).removed == {}  # today: "." / "…" end the line
        assert "no_terminal_punct" in clean_lines(line, "en", "web", C4_LINES).removed
    assert clean_lines("He stopped. Then he left.", "en", "web", C4_LINES).removed == {}


def test_too_few_words():
    text = "Two words.\nThree words here."
    result = clean_lines(text, "en", "web", C4_LINES)
    assert result.text == "Three words here." and result.removed == {"too_few_words": (1, 10)}
    # zh: jieba words 你好 (1) and 今天 很 好 (3); terminal punctuation is exempt for zh, word count is not
    zh = clean_lines("你好。\n今天很好。", "zh", "web", C4_LINES)
    assert zh.text == "今天很好。" and zh.removed == {"too_few_words": (1, 3)}
    assert clean_lines("", "en", "web", C4_LINES).removed == {}


def test_new_line_keys_default_to_todays_behaviour():
    cfg = LineCleanConfig()
    assert (cfg.strip_citations, cfg.ellipsis_not_terminal, cfg.min_words) == (False, False, 0)


# --- presets and the default file ----------------------------------------------------------------------------------

def test_c4_preset_loads_with_c4s_values():
    ruleset = load_rules(REPO / "rules" / "presets" / "c4.yaml")
    lines = ruleset.config.clean.lines
    assert (lines.no_terminal_punct, lines.ellipsis_not_terminal, lines.strip_citations, lines.min_words) == (
        True, True, True, 3)
    assert (lines.javascript, lines.policy, lines.terminal_punct_exempt_langs) == (True, True, [])
    rules = ruleset.config.rules
    assert rules["sentence_count"]["min"] == 5
    assert rules["curly_bracket_count"]["max"] == 0 and rules["bad_word_count"]["max"] == 0
    assert rules["pattern_count"]["categories"] == ["lorem_ipsum"]
    assert rules["langid"]["min"] == 0.99 and rules["langid"]["allowed"] == ["en"]
    assert all(r.get("mode", "drop") == "drop" for r in rules.values())
    assert ruleset.config.dedup.sentences.span == 3


def test_default_file_has_the_new_rules_at_the_published_thresholds():
    rules = load_rules(REPO / "rules" / "default.yaml").config.rules
    published = {"line_punct_ratio": ("min", 0.12), "fineweb_dup_line_char_ratio": ("max", 0.01),
                 "list_ratio": ("max", 0.3), "sentence_count": ("min", 5), "bad_word_count": ("max", 0),
                 "curly_bracket_count": ("max", 0), "long_line_count": ("min", 3), "pattern_count": ("max", 0)}
    enforced = {"line_punct_ratio"}  # calibration showed it helps (bench/results/reference_drops.md)
    for name, (bound, value) in published.items():
        assert rules[name][bound] == value and rules[name].get("mode", "drop") == (
            "drop" if name in enforced else "tag"), name
    assert rules["unigram_logprob"]["mode"] == "tag"
