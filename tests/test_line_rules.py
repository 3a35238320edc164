"""Line cleaning: each rule on known lines, attribution order, counts, and the false-positive traps."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from data_platform.clean.line_rules import RULE_ORDER, LineCleanConfig, clean_lines

CFG = LineCleanConfig(min_remaining_chars=0, min_remaining_share=0)
PROSE = "This is an ordinary sentence that ends properly."


def verdict(line: str, lang: str | None = "en", source: str = "web", cfg: LineCleanConfig = CFG) -> str | None:
    """The rule that removes ``line`` placed between two prose lines, or None when it is kept."""
    result = clean_lines(f"{PROSE}\n{line}\n{PROSE}", lang, source, cfg)
    assert len(result.removed) <= 1
    return next(iter(result.removed), None)


@pytest.mark.parametrize("line", ["12345", "-----", "| 1 | 2 | 3 |", "★★★ 4.5 ★★★", "😀😀😀", "© 2024"])
def test_symbols_only_removes_lines_without_letters(line):
    assert verdict(line) == "symbols_only"


@pytest.mark.parametrize("line", ["Chapter 1.", "Глава 1.", "第一章。", "x = 1."])
def test_symbols_only_keeps_a_letter_in_any_script(line):
    assert verdict(line) is None


def test_javascript():
    assert verdict("Please enable JavaScript to view the comments powered by Disqus.") == "javascript"
    assert verdict("Please enable your browser's scripts to continue.") is None


def test_lorem_ipsum():
    assert verdict("Lorem  ipsum dolor sit amet, consectetur adipiscing elit.") == "lorem_ipsum"
    assert verdict("Lorem was the name of the ship's cat.") is None


@pytest.mark.parametrize("line, lang", [
    ("We use cookies to improve your experience.", "en"),
    ("By continuing you agree to our Terms of Service.", "en"),
    ("Read our privacy policy.", "en"),
    ("Diese Website verwendet Cookies.", "de"),
    ("Datenschutz", "de"),
    ("Impressum | Datenschutz", "de"),
    ("Alle Cookies akzeptieren.", "de"),
    ("Consultez nos conditions d’utilisation.", "fr"),
    ("Politique de confidentialité", "fr"),
    ("Este sitio utiliza cookies.", "es"),
    ("Informativa sulla privacy.", "it"),
    ("Мы используем файлы cookie.", "ru"),
    ("本网站使用Cookie来改善您的浏览体验。", "zh"),
    ("隐私政策", "zh"),
    ("Cookie", "zh"),
    ("プライバシーポリシー", "ja"),
    ("本サービスの利用規約に同意してください。", "ja"),
    ("We use cookies to improve your experience.", "de"),  # English boilerplate on a German page
])
def test_policy_phrases(line, lang):
    assert verdict(line, lang) == "policy"


@pytest.mark.parametrize("line, lang", [
    ("We care deeply about the privacy of users and never sell their data to anyone.", "en"),
    ("I baked cookies for the whole family today.", "en"),
    ("Der Datenschutz ist in der Europäischen Union durch die DSGVO streng und einheitlich geregelt.", "de"),
    ("Diese Website verwendet Cookies.", "en"),  # German phrases only apply to German documents
])
def test_policy_needs_the_specific_phrase(line, lang):
    assert verdict(line, lang) is None


@pytest.mark.parametrize("line, lang", [
    ("Read more »", "en"),
    ("Click here.", "en"),
    ("Back to top ↑", "en"),
    ("© 2024 Example Inc. All rights reserved.", "en"),
    ("Log in", "en"),
    ("Weiterlesen", "de"),
    ("Lire la suite", "fr"),
    ("Leer más", "es"),
    ("Leggi tutto", "it"),
    ("Читать далее", "ru"),
    ("返回顶部", "zh"),
    ("阅读更多", "zh"),
    ("続きを読む", "ja"),
])
def test_navigation_short_lines(line, lang):
    assert verdict(line, lang) == "navigation"


@pytest.mark.parametrize("line", [
    "If you want to learn more about our history, click here and browse the archive.",  # more than 8 words
    "The catalog in the library lists every book.",  # "log in" only matches as whole words
])
def test_navigation_negatives(line):
    assert verdict(line) is None


@pytest.mark.parametrize("line", [
    "Ends with a quote\"", "Is it?", "Really!", "Wait…", "He said “yes.”", "(See the note above.)",
    "She said 'no'", "C’est fini »", "これで終わり。", "本当？", "「はい」", "『題名』",
])
def test_terminal_punctuation_kept(line):
    assert verdict(line) is None


@pytest.mark.parametrize("line", ["A heading without a full stop", "Contents:", "see (Table 1)"])
def test_no_terminal_punct_removed(line):
    assert verdict(line) == "no_terminal_punct"


def test_min_words_no_punct_keeps_long_unpunctuated_lines():
    cfg = LineCleanConfig(min_words_no_punct=6, min_remaining_chars=0, min_remaining_share=0)
    assert verdict("one two three four five six", cfg=cfg) is None
    assert verdict("one two three four five", cfg=cfg) == "no_terminal_punct"


def test_min_words_counts_words_or_surface_tokens():
    # "ALTER DATABASE ." and "16.1. Interactive Mode" are 3 whitespace tokens but 2 words ("." and "16.1." hold
    # no letter); C4 counts whitespace tokens (word_tokens: surface)
    words = LineCleanConfig(min_words=3, no_terminal_punct=False, min_remaining_chars=0, min_remaining_share=0)
    surface = words.model_copy(update={"word_tokens": "surface"})
    for line in ("ALTER DATABASE .", "16.1. Interactive Mode"):
        assert verdict(line, cfg=words) == "too_few_words" and verdict(line, cfg=surface) is None
    assert verdict("Interactive Mode", cfg=surface) == "too_few_words"
    assert verdict("我们今天去北京", "zh", cfg=surface) is None  # jieba: 我们 今天 去 北京, 4 tokens


def test_removed_line_goes_to_the_first_rule_in_order():
    assert RULE_ORDER == ("symbols_only", "javascript", "lorem_ipsum", "policy", "navigation", "no_terminal_punct",
                          "too_few_words")
    assert verdict("Please enable JavaScript") == "javascript"  # also lacks terminal punctuation
    assert verdict("Privacy Policy") == "policy"
    assert verdict("Read more") == "navigation"
    cfg = CFG.model_copy(update={"javascript": False})
    assert verdict("Please enable JavaScript", cfg=cfg) == "no_terminal_punct"


def test_counts_per_rule_and_kept_text():
    text = "\n".join([
        "Home",                                  # no_terminal_punct, 4 chars
        "Please enable JavaScript.",             # javascript, 25
        PROSE,
        "  ----  ",                              # symbols_only, 4 (stripped)
        "",
        "We use cookies.",                       # policy, 15
        "Read more",                             # navigation, 9
        PROSE,
        "Share",                                 # no_terminal_punct, 5
    ])
    result = clean_lines(text, "en", "web", CFG)
    assert result.removed == {
        "symbols_only": (1, 4), "javascript": (1, 25), "policy": (1, 15), "navigation": (1, 9),
        "no_terminal_punct": (2, 9),
    }
    assert list(result.removed) == [n for n in RULE_ORDER if n in result.removed]
    assert result.text == f"{PROSE}\n\n{PROSE}"
    assert result.too_little is False


def test_blank_lines_kept_and_text_untouched_without_removals():
    text = f"\n{PROSE}\n\n\n{PROSE}\n"
    result = clean_lines(text, "en", "web", CFG)
    assert result.text == text and result.removed == {}


def test_blank_lines_left_by_removals_are_collapsed():
    text = f"Menu\n\n{PROSE}\n\nRead more\n\n{PROSE}\n\nFooter links\n"
    assert clean_lines(text, "en", "web", CFG).text == f"{PROSE}\n\n{PROSE}"


def test_code_blocks_are_kept():
    code = "\n".join([
        "Here is the example.",
        "```javascript",
        "function f(x) {",
        "  // JavaScript: no punctuation here",
        "  return x",
        "}",
        "-----",
        "```",
        "And an indented block follows.",
        "    for i in range(3):",
        "        print(i)",
        "\tgoto end",
        "~~~",
        "1 2 3",
        "~~~",
        "Done.",
    ])
    result = clean_lines(code, "en", "web", CFG)
    assert result.text == code and result.removed == {}
    # keep_code off (C4): every line is judged. javascript: "```javascript" (13 chars) and the comment (34);
    # symbols_only: "}", "-----", "```", "~~~", "1 2 3", "~~~" (1+5+3+3+5+3 = 20); no end mark: "function f(x) {",
    # "return x", "for i in range(3):", "print(i)", "goto end" (15+8+18+8+8 = 57, stripped)
    judged = clean_lines(code, "en", "web", CFG.model_copy(update={"keep_code": False}))
    assert judged.text == "Here is the example.\nAnd an indented block follows.\nDone."
    assert judged.removed == {"symbols_only": (6, 20), "javascript": (2, 47), "no_terminal_punct": (5, 57)}


def test_inline_triple_backticks_do_not_open_a_fence():
    text = "Use ```code``` inline.\nA heading\nDone."
    assert clean_lines(text, "en", "web", CFG).removed == {"no_terminal_punct": (1, 9)}


POEM = "\n".join([
    "Shall I compare thee to a summer's day",
    "Thou art more lovely and more temperate",
    "Rough winds do shake the darling buds of May",
    "And summer's lease hath all too short a date.",
])


def test_poem_from_exempt_source_survives():
    cfg = LineCleanConfig(exempt_sources=["poetry/*"], min_remaining_chars=0, min_remaining_share=0)
    kept = clean_lines(POEM, "en", "poetry/x", cfg)
    assert kept.text == POEM and kept.removed == {}
    web = clean_lines(POEM, "en", "web", cfg)
    assert web.text == "And summer's lease hath all too short a date."
    assert web.removed["no_terminal_punct"][0] == 3


ZH = "第一章 春天\n春天来了，花都开了\n孩子们在公园里玩耍，老人们坐在长椅上聊天"
JA = "第一章 はじまり\n春が来て花が咲いた\n子供たちは公園で遊んでいる"


@pytest.mark.parametrize("text, lang", [(ZH, "zh"), (ZH, "zh-Hans"), (ZH, None), (JA, "ja"), (JA, None)])
def test_cjk_text_without_latin_punctuation_kept_intact(text, lang):
    result = clean_lines(text, lang, "web", CFG)
    assert result.text == text and result.removed == {}


def test_cjk_boilerplate_still_removed_in_exempt_languages():
    text = f"{ZH}\n返回顶部\n隐私政策"
    result = clean_lines(text, "zh", "web", CFG)
    assert result.text == ZH and result.removed == {"policy": (1, 4), "navigation": (1, 4)}


def test_too_little_by_characters_and_share():
    long_prose = " ".join([PROSE] * 6)  # 293 characters
    keep = clean_lines(f"{long_prose}\nRead more", "en", "web", LineCleanConfig())
    assert keep.too_little is False
    short = clean_lines(f"{PROSE}\nRead more", "en", "web", LineCleanConfig())
    assert short.too_little is True  # 48 characters remain < 200
    mostly_junk = "\n".join([PROSE] + ["Click here to subscribe"] * 10)
    share = clean_lines(mostly_junk, "en", "web", LineCleanConfig(min_remaining_chars=0))
    assert share.too_little is True  # 48 of 278 characters remain: 0.17 < 0.2
    assert clean_lines(mostly_junk, "en", "web", LineCleanConfig(min_remaining_chars=0,
                                                                 min_remaining_share=0.1)).too_little is False


def test_empty_document_has_too_little():
    assert clean_lines("", "en", "web", LineCleanConfig()).too_little is True
    assert clean_lines("", "en", "web", CFG).too_little is False


def test_disabled_stage_returns_text_unchanged():
    text = "Read more\n12345"
    result = clean_lines(text, "en", "web", LineCleanConfig(enabled=False))
    assert (result.text, result.removed, result.too_little) == (text, {}, False)


def test_config_is_strict_and_frozen():
    with pytest.raises(ValidationError):
        LineCleanConfig(no_such_rule=True)
    with pytest.raises(ValidationError):
        LineCleanConfig(min_remaining_share=1.5)
    with pytest.raises(ValidationError):
        CFG.enabled = False
