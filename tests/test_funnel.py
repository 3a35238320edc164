"""Funnel semantics: every rule computed, priority order decides the reason, tag mode, quarantine paths."""

from __future__ import annotations

import textwrap

import pytest

from data_platform.config import load_rules
from data_platform.funnel import funnel_order, process_batch
from tests.conftest import raw_batch

GOOD_EN = ("The committee met on Tuesday to discuss the budget for the new library, and after a long debate "
           "the members agreed that the reading room should open in the spring of next year with longer hours.")

RULES = """\
version: 1
order: [word_count, special_char_ratio, short_line_ratio]
rules:
  word_count: {min: 5}
  special_char_ratio: {max: 0.3}
  short_line_ratio: {max: 0.5, line_chars: 20}
sources:
  "tagged-*":
    word_count: {mode: tag}
"""


@pytest.fixture()
def small_rules(tmp_path):
    path = tmp_path / "r.yaml"
    path.write_text(RULES)
    return load_rules(path)


def run(rules, *docs):
    out = process_batch(raw_batch(list(docs)), rules).to_pylist()
    return {d["id"]: d for d in out}


def test_first_failing_rule_in_order_is_the_reason(small_rules):
    # fails word_count (2 words) AND special_char_ratio AND short_line_ratio: the first in order wins
    out = run(small_rules, {"id": "a", "text": "!!! ### ok go", "source": "web", "lang": "en"})
    doc = out["a"]
    assert doc["drop_reason"] == "word_count"
    assert [r["name"] for r in doc["rules"]] == ["word_count", "special_char_ratio", "short_line_ratio"]
    assert [r["passed"] for r in doc["rules"]] == [False, False, False]
    assert doc["drop_detail"].startswith("word_count=2 < min 5")


def test_reordering_changes_only_the_reason(small_rules, tmp_path):
    path = tmp_path / "r2.yaml"
    path.write_text(RULES.replace("[word_count, special_char_ratio, short_line_ratio]",
                                  "[special_char_ratio, word_count, short_line_ratio]"))
    out = run(load_rules(path), {"id": "a", "text": "!!! ### ok go", "source": "web", "lang": "en"})
    assert out["a"]["drop_reason"] == "special_char_ratio"


def test_kept_document_carries_all_values(small_rules):
    doc = run(small_rules, {"id": "k", "text": GOOD_EN, "source": "web", "lang": "en"})["k"]
    assert doc["drop_reason"] is None and all(r["passed"] for r in doc["rules"])
    assert doc["rules"][0]["value"] == 36.0 and doc["n_chars"] == len(GOOD_EN)


def test_tag_mode_records_without_dropping(small_rules):
    doc = run(small_rules, {"id": "t", "text": "Supercalifragilisticexpialidocious antidisestablishmentarianism.",
                            "source": "tagged-x", "lang": "en"})["t"]
    wc = doc["rules"][0]
    assert wc["name"] == "word_count" and not wc["passed"] and not wc["enforced"]
    assert doc["drop_reason"] is None


def test_pre_rule_quarantine_reasons(small_rules):
    big = "word " * 1_100_000  # 5.5 M characters > limits.max_text_chars (5 M)
    out = run(
        small_rules,
        {"id": "empty", "text": "   "},
        {"id": "none"},
        {"id": "long", "text": big},
        {"id": "bin", "text": "\x00\x01\x02\ufffd\ufffd" * 50 + "abc"},
        {"id": "html-bad", "html": "<html><body><div><script>var x=1;</script><<<>>></div"},
        {"id": "html-ok", "html": f"<html><body><nav>Home</nav><article><p>{GOOD_EN}</p></article></body></html>",
         "source": "web", "lang": "en"},
        {"id": "pre", "text": "raw line", "reason": "malformed_record", "detail": "invalid JSON"},
    )
    assert out["empty"]["drop_reason"] == "empty_text"
    assert out["none"]["drop_reason"] == "empty_text"
    assert out["long"]["drop_reason"] == "too_long" and len(out["long"]["text"]) == len(big)
    assert out["bin"]["drop_reason"] == "binary_content"
    assert out["html-bad"]["drop_reason"] == "extract_failed" and "<script>" in out["html-bad"]["text"]
    assert out["html-ok"]["drop_reason"] is None and out["html-ok"]["text"] == GOOD_EN
    assert out["pre"]["drop_reason"] == "malformed_record" and out["pre"]["rules"] == []


def test_twenty_megabyte_document_is_quarantined_not_lost(ruleset):
    text = ("x" * 99 + "\n") * 200_000  # 20 MB
    doc = process_batch(raw_batch([{"id": "huge", "text": text}]), ruleset).to_pylist()[0]
    assert doc["drop_reason"] == "too_long" and doc["n_chars"] == 20_000_000


def test_normalization_runs_before_rules(tmp_path):
    path = tmp_path / "n.yaml"
    path.write_text(textwrap.dedent("""\
        version: 1
        normalize: {unify_punctuation: true}
        output: {keep_text_before: true}
        order: [word_count]
        rules: {word_count: {min: 1}}
        """))
    doc = process_batch(raw_batch([{"id": "n", "text": "Hi\x07  there！\u200b"}]), load_rules(path)).to_pylist()[0]
    assert doc["text"] == "Hi there!" and doc["text_before_normalize"] == "Hi\x07  there！\u200b"


def test_funnel_order_lists_quarantine_then_rules(ruleset):
    order = funnel_order(ruleset)
    quarantine = ["malformed_record", "url_blocked", "too_long", "extract_failed", "binary_content", "empty_text",
                  "too_little_text", "contaminated"]
    assert order[: len(quarantine)] == quarantine and order[len(quarantine):] == ruleset.order


def test_rule_judges_the_extracted_text_when_asked(tmp_path):
    # Line cleaning removes the two 1-word lines; word_count sees 3 words of the cleaned text ("one two three")
    # and 5 of the extracted text; the same rule on both versions in one file (a language override).
    path = tmp_path / "x.yaml"
    path.write_text(textwrap.dedent("""\
        version: 1
        clean: {lines: {min_words: 2, navigation: false, symbols_only: false, javascript: false, policy: false,
                        lorem_ipsum: false, no_terminal_punct: false, min_remaining_chars: 0,
                        min_remaining_share: 0}}
        order: [word_count]
        rules: {word_count: {min: 4}}
        languages: {fr: {word_count: {text: extracted}}}
        """))
    rules = load_rules(path)
    text = "Home\none two three\nMenu"
    out = run(rules, {"id": "cleaned", "text": text, "lang": "en"}, {"id": "extracted", "text": text, "lang": "fr"})
    assert out["cleaned"]["text"] == out["extracted"]["text"] == "one two three"
    assert out["cleaned"]["rules"][0]["value"] == 3 and out["cleaned"]["drop_reason"] == "word_count"
    assert out["extracted"]["rules"][0]["value"] == 5 and out["extracted"]["drop_reason"] is None
