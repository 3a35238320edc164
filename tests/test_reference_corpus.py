"""The reference corpus builder: man-page cleaning, the split, the junk generators, the committed small set."""

from __future__ import annotations

import base64
import gzip
import json
import random
import re
import shutil
import sys
from collections import Counter
from pathlib import Path

import pytest

from data_platform.io.records import FieldMap, parse_json_line

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
import build_reference as br  # noqa: E402
import build_sample as bs  # noqa: E402
import debian_text as dt  # noqa: E402
import noise  # noqa: E402

SMALL = ROOT / "data" / "reference"
EN = ("The quick brown fox jumps over the lazy dog.\nA second line with more words in it.\n\n"
      "Another paragraph follows here, long enough to count as one for the spam generator.\nLast line.")
ZH = "列出指定文件的信息。\n如果没有指定排序方式，则按字母排序项目。"


def _read(path: Path) -> list[dict]:
    with gzip.open(path, "rt", encoding="utf-8") as f:
        return [json.loads(line) for line in f]


def _rng() -> random.Random:
    return random.Random(7)


# --------------------------------------------------------------------------------------------- man pages

DEMO_MAN = rb""".TH DEMO 1 "2024" "demo 1.0" "User Commands"
.SH NAME
demo \- show a demo
.SH DESCRIPTION
.B demo
prints a line
of text.
.PP
A second paragraph.
"""


@pytest.mark.skipif(shutil.which("groff") is None, reason="groff not installed")
def test_man_page_renders_one_paragraph_a_line_without_header_and_footer():
    # groff fills "prints a line / of text." into one line (LL is huge), \- becomes "-", .B leaves no
    # overstrike, the header "DEMO(1) User Commands DEMO(1)" and the footer "demo 1.0 2024 DEMO(1)" go.
    assert dt.man_text(DEMO_MAN) == ("NAME\ndemo - show a demo\n\nDESCRIPTION\ndemo prints a line of text.\n\n"
                                     "A second paragraph.")
    assert dt.man_text(gzip.compress(DEMO_MAN)) == dt.man_text(DEMO_MAN)


def test_man_link_pages_are_skipped():
    assert dt.man_source(gzip.compress(b".so man1/other.1\n")) is None


def test_clean_man_output_on_rendered_text():
    rendered = "LS(1)      User Commands      LS(1)\n\n\n\nNAME\n       ls - list\n\n\n\n\nGNU 9.1   2022   LS(1)\n"
    assert dt.clean_man_output(rendered) == "NAME\nls - list"


def test_drawn_rules_and_tab_padding_of_the_wide_rendering_are_dropped():
    rendered = "LS(1)  User Commands  LS(1)\n\nNAME\n" + "_" * 20000 + "\nls" + " " * 19990 + "-1\n" + "-" * 5 + "\n"
    assert dt.clean_man_output(rendered) == "NAME\nls -1"


def test_mallard_keeps_blocks_and_drops_info():
    page = (b'<page xmlns="http://projectmallard.org/1.0/"><info><credit><name>A. Author</name></credit>'
            b'<desc>Summary</desc></info><title>Title</title><p>One <gui>paragraph</gui>.</p>'
            b'<steps><item><p>Step one.</p></item></steps></page>')
    assert dt.mallard_text(page) == "Title\nOne paragraph.\nStep one."
    assert dt.mallard_text(b"<page><p>unclosed") is None


def test_sections_cut_at_line_boundaries():
    text = "\n".join(f"line {i:03d} " + "x" * 90 for i in range(100))  # 100 lines of 99 chars + newline
    parts = dt.sections(text, max_chars=5_000, section_chars=2_000, min_chars=300)
    # a section closes once it reaches 2,000 chars: 20 lines of 100 = 2,000 -> 5 sections of 20 lines
    assert len(parts) == 5 and all(p.count("\n") == 19 for p in parts)
    assert "\n".join(parts) == text
    assert dt.sections("short", 5_000, 2_000, 300) == ["short"]


def test_untranslated_mallard_lines_are_dropped():
    text = "Ceci est une phrase française.\nYou can turn bounce keys on and off by clicking the icon."
    assert br.drop_untranslated(text, "fr") == "Ceci est une phrase française."


# --------------------------------------------------------------------------------------------- split

def test_split_is_a_stable_hash_of_the_id():
    # sha256(b"manpages/usr/share/man/man1/ls.1.gz") starts with byte 0x4a (even -> calib); recomputed here:
    import hashlib

    for doc_id in ("manpages/usr/share/man/man1/ls.1.gz", "x", "gnome-user-docs/a.page#2"):
        expected = "calib" if hashlib.sha256(doc_id.encode()).digest()[0] % 2 == 0 else "holdout"
        assert br.split_of(doc_id) == expected == br.split_of(doc_id)
    shares = Counter(br.split_of(f"pkg/doc-{i}") for i in range(4_000))
    assert 0.45 < shares["calib"] / 4_000 < 0.55


# --------------------------------------------------------------------------------------------- noise

def test_word_shuffle_keeps_the_multiset_of_words_and_the_line_lengths():
    out = noise.word_shuffle(EN, "en", _rng())
    assert sorted(out.split()) == sorted(EN.split()) and out != EN
    assert [len(line.split()) for line in out.splitlines()] == [len(line.split()) for line in EN.split("\n") if line]
    assert noise.word_shuffle(EN, "en", _rng()) == out  # seeded
    zh = noise.word_shuffle(ZH, "zh", _rng())
    assert sorted("".join(zh.split())) == sorted("".join(ZH.split()))


def test_repeated_lines_repeat_input_lines():
    out = noise.repeated_lines(EN, "en", _rng()).splitlines()
    counts = Counter(out)
    assert set(counts) <= {line for line in EN.splitlines() if line}
    assert 2 <= len(counts) <= 4 and min(counts.values()) >= 10


def test_paragraph_spam_repeats_one_paragraph():
    parts = noise.paragraph_spam(EN, "en", _rng()).split("\n\n")
    assert 8 <= len(parts) <= 20 and len(set(parts)) == 1 and parts[0] in EN


def test_nav_menu_is_short_entries_of_the_documents_words():
    out = noise.nav_menu(EN, "en", _rng())
    vocab = {w.strip(".,").lower() for w in EN.split()}
    entries = [e for line in out.splitlines() for e in re.split(r" [|·»/-] ", line)]
    assert len(entries) >= 20 and all(1 <= len(e.split()) <= 3 for e in entries)
    assert {w.lower() for e in entries for w in e.split()} <= vocab


def test_boilerplate_holds_one_real_line_in_footer_structure():
    lines = noise.boilerplate(EN, "en", _rng()).splitlines()
    assert len(lines) >= 16 and sum(line in EN.splitlines() for line in lines) >= 1
    assert any(s in "\n".join(lines) for s in ("©", "https://", "@", "[ OK ]", "›", " | "))


def test_keyword_spam_repeats_a_few_frequent_words():
    text = "filter filter filter corpus corpus tokens tokens tokens tokens quality " * 3
    words = [w for line in noise.keyword_spam(text, "en", _rng()).splitlines() for w in line.replace(",", "").split()]
    assert set(words) <= {"filter", "corpus", "tokens", "quality"} and len(words) >= 80  # >= 10 lines x 4 x 2


def test_symbol_soup_is_mostly_symbols():
    out = noise.symbol_soup(EN, "en", _rng())
    assert sum(c.isalnum() for c in out) / len(out.replace(" ", "").replace("\n", "")) < 0.5


def test_mojibake_reads_utf8_bytes_as_windows_1252():
    # é = C3 A9 -> "Ã" + "©"; 中 = E4 B8 AD -> "ä" + "¸" + soft hyphen (0xAD); 0x81 is unassigned in cp1252 -> U+0081
    assert noise.mojibake("café 中", "fr", _rng()) == "cafÃ© ä¸\u00ad"
    assert noise.mojibake("\u0441", "ru", _rng()) == "Ñ\u0081"  # с = D1 81


def test_base64_blob_is_decodable_base64_after_one_line():
    lines = noise.base64_blob(EN, "en", _rng()).splitlines()
    assert lines[0] in EN.splitlines()
    blob = base64.b64decode("".join(lines[1:]), validate=True)
    assert 3_000 <= len(blob) <= 12_000 and all(len(line) <= 76 for line in lines[1:])


def test_short_fragment_is_a_few_words():
    assert 3 <= len(noise.short_fragment(EN, "en", _rng()).split()) <= 8
    assert EN.startswith(noise.short_fragment(EN, "en", _rng()))
    assert 5 <= len(noise.short_fragment(ZH, "zh", _rng())) <= 20


def test_junk_set_labels_every_document_and_deals_every_kind_per_language():
    docs = [{"id": f"p/{lang}/{i}", "text": EN if lang == "en" else ZH, "lang": lang, "source": "reference/x",
             "meta": {"package": "p", "split": "calib"}} for lang in ("en", "zh") for i in range(len(noise.KINDS))]
    junk = noise.junk_set(docs, seed=1)
    assert len(junk) == len(docs) and junk == noise.junk_set(docs, seed=1)
    for lang in ("en", "zh"):
        assert sorted(j["meta"]["junk"] for j in junk if j["lang"] == lang) == sorted(noise.KINDS)
    assert all(j["id"] == f"junk/{j['meta']['junk']}/{j['meta']['from']}" and j["text"] for j in junk)


# --------------------------------------------------------------------------------------------- committed set

def _missing_langs() -> set[str]:
    m = re.search(r"Languages without a source in Debian 12: ([a-z, ]+)\.", (SMALL / "README.md").read_text())
    return set(m.group(1).split(", ")) if m else set()


def test_small_set_has_every_language_with_both_splits():
    docs = _read(SMALL / "reference.jsonl.gz")
    per = Counter((d["lang"], d["meta"]["split"]) for d in docs)
    for lang in set(br.LANGS) - _missing_langs():
        assert per[(lang, "calib")] == per[(lang, "holdout")] == br.SMALL_PER_SPLIT, lang
    assert len(br.LANGS) - len(_missing_langs()) >= 24
    assert all(d["meta"]["split"] == br.split_of(d["id"].split("#")[0]) and len(d["text"]) >= br.MIN_CHARS
               for d in docs)


def test_small_set_is_readable_by_the_jsonl_reader_and_small():
    for name in ("reference.jsonl.gz", "junk-calib.jsonl.gz", "junk-holdout.jsonl.gz"):
        with gzip.open(SMALL / name, "rb") as f:
            rows = [parse_json_line(line.rstrip(b"\n"), name, FieldMap(), "x") for line in f]
        assert rows and all(r["drop_reason"] is None and r["text"] and r["lang"] for r in rows), name
    assert sum(p.stat().st_size for p in SMALL.iterdir()) < 3_000_000


def test_small_junk_sets_are_labelled_and_come_from_their_split():
    ref = {d["id"]: d for d in _read(SMALL / "reference.jsonl.gz")}
    for split in ("calib", "holdout"):
        junk = _read(SMALL / f"junk-{split}.jsonl.gz")
        assert len(junk) == sum(d["meta"]["split"] == split for d in ref.values())
        assert all(j["meta"]["junk"] in noise.KINDS and ref[j["meta"]["from"]]["meta"]["split"] == split
                   and j["lang"] == ref[j["meta"]["from"]]["lang"] for j in junk)


def test_small_readme_lists_every_package_with_version_and_licence():
    readme = (SMALL / "README.md").read_text(encoding="utf-8")
    packages = json.loads((SMALL / "packages.json").read_text(encoding="utf-8"))
    used = {d["meta"]["package"] for d in _read(SMALL / "reference.jsonl.gz")}
    assert used == {p["package"] for p in packages}
    for p in packages:
        assert f"| `{p['package']}` | {p['version']} | {p['licence']} |" in readme
    sample = (ROOT / "data" / "sample" / "README.md").read_text(encoding="utf-8")
    shared = {name for name in used if re.search(rf"^\| {re.escape(name)} \|", sample, re.M)}
    assert shared <= {"installation-guide-amd64"}  # no text of data/sample: of its packages, only other languages
    ig_langs = {d["lang"] for d in _read(SMALL / "reference.jsonl.gz") if d["meta"]["package"] in shared}
    assert ig_langs <= set(br.INSTALL_GUIDE_LANGS) and not ig_langs & set(bs.INSTALL_GUIDE_LANG_DIRS.values())
