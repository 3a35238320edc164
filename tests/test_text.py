"""The CJK definitions of ``text.py``: the language sets and the character classes, known characters in and out."""

import re

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from data_platform import text as T

HAN, KANA, HANGUL = "中", "か", "한"
COMPAT, MARK, JAMO, EXT_B, AINU = "\uf900", "々", "ㄱ", "\U00020000", "ㇰ"
HALFWIDTH_KANA, CHOON = "ｶ", "ー"
LATIN, CYRILLIC, DIGIT, SPACE = "a", "ж", "7", " "


def _in(chars: str, char: str) -> bool:
    return re.fullmatch(f"[{chars}]", char) is not None


def _in_re2(char: str) -> bool:
    return pc.match_substring_regex(pa.array([char]), f"^[{T.CJK_SCRIPTS_RE2}]$")[0].as_py()


def test_language_sets():
    assert T.UNSPACED_LANGS == {"zh", "ja"}
    assert T.CHAR_TOKEN_LANGS == T.UNSPACED_LANGS | {"ko"}


@pytest.mark.parametrize("char", [HAN, KANA, HANGUL, COMPAT, "\u3400", "\u9fff", "ア", "ん"])
def test_cjk_chars_hold_the_main_blocks(char):
    assert _in(T.CJK_CHARS, char) and _in(T.CJK_CHARS_EXTENDED, char)


@pytest.mark.parametrize("char", [LATIN, CYRILLIC, DIGIT, SPACE, "。", "「", MARK, JAMO, EXT_B, AINU, HALFWIDTH_KANA])
def test_cjk_chars_leave_out(char):
    assert not _in(T.CJK_CHARS, char)


def test_decontamination_tokens_are_cjk_characters_and_words():
    from data_platform.decontam import tokens

    # 々 and a compatibility ideograph are characters of their own; a Latin run stops at CJK
    expected = ["人", "々", "は", "東", "京", "へ", "abc", "東", "京", "ab", "c", "12"]
    assert tokens("人々は東京へabc東京 Ab_c 12") == expected
    assert tokens(f"{COMPAT}字 x") == [COMPAT, "字", "x"]


@pytest.mark.parametrize("char", [MARK, "〆", "〇", JAMO, "\u1100", EXT_B, "\U0003134f", AINU])
def test_extended_class_adds_marks_jamo_and_supplementary_ideographs(char):
    assert _in(T.CJK_CHARS_EXTENDED, char) and not _in(T.CJK_CHARS, char)


@pytest.mark.parametrize("char", [LATIN, DIGIT, "。", HALFWIDTH_KANA, "\U00031350"])
def test_extended_class_leaves_out(char):
    assert not _in(T.CJK_CHARS_EXTENDED, char)


@pytest.mark.parametrize("char, inside", [
    (HAN, True), (KANA, True), ("ア", True), (HANGUL, True), (COMPAT, True), (MARK, True), (JAMO, True),
    (EXT_B, True), (HALFWIDTH_KANA, True),  # Script property: half-width katakana is Katakana
    (CHOON, False), ("・", False), ("。", False),  # script Common, though inside the Katakana / CJK blocks
    (LATIN, False), (CYRILLIC, False), (DIGIT, False),
])
def test_re2_script_class(char, inside):
    assert _in_re2(char) is inside


def test_re2_and_block_classes_differ_where_documented():
    assert _in(T.CJK_CHARS, CHOON) and not _in_re2(CHOON)
    assert _in_re2(HALFWIDTH_KANA) and not _in(T.CJK_CHARS_EXTENDED, HALFWIDTH_KANA)


def test_script_lang_uses_han_and_kana_blocks():
    assert T.script_lang("中文文本，没有假名。" * 5) == "zh"
    assert T.script_lang("日本語のテキストです。" * 5) == "ja"
    assert T.script_lang("한국어 텍스트입니다." * 5) is None
    assert T.script_lang("\uf900" * 20) == "zh"  # compatibility ideographs count as Han


def test_words_of_unspaced_languages_need_a_letter_or_digit():
    assert T.words("今天 ※ 天气", "zh") == ["今天", "天气"]
    assert T.words("hello ※ world", "en") == ["hello", "※", "world"]


def test_words_keep_letters_that_roots_lists_as_special():
    # 一 上 ン ø ı Г ه are in ROOTS' special characters; stripped from word edges they cut real words
    assert T.words("一个人上班。", "zh") == ["一个", "人", "上班"]
    assert T.words("ワインとパン", "ja") == ["ワイン", "と", "パン"]
    assert T.words("Где sø altı خانه «quoted», 12", "en") == ["где", "sø", "altı", "خانه", "quoted"]
    assert T.count_special("一上ン") == 3  # special_char_ratio still counts them, as ROOTS does
