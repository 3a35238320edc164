"""The dev corpus builder: each injected noise kind, the heavy-tailed copy counts, the labels, the committed set."""

from __future__ import annotations

import base64
import gzip
import json
import random
import re
import statistics
import sys
from collections import Counter
from pathlib import Path

import pytest

from data_platform.clean.pii import redact
from data_platform.config import PiiConfig
from data_platform.io.records import FieldMap, parse_json_line

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
import build_dev_corpus as bd  # noqa: E402
import dev_noise as dn  # noqa: E402

SMALL = ROOT / "data" / "dev_corpus"
CFG = bd.load_config(bd.DEFAULT_CONFIG)
PAGE = ("Installing the package\nThe installer copies every file into the target folder and checks its size.\n"
        "Afterwards the system restarts and asks for the new password of the administrator account.\n"
        "Further options are described in the manual, chapter seven, together with common problems.")


def _docs(n: int, lang: str = "en") -> list[dict]:
    words = PAGE.split()
    out = []
    for i in range(n):
        rng = random.Random(i)
        lines = [" ".join(rng.choice(words) for _ in range(12)) for _ in range(8)]
        out.append({"id": f"pkg/doc{i}", "text": f"Title {i}\n" + "\n".join(lines), "lang": lang,
                    "source": "dev/test", "meta": {"package": "pkg", "version": "1", "licence": "MIT",
                                                   "path": f"doc{i}", "format": "man"}})
    return out


def _cfg(**changes: dict) -> bd.Config:
    data = CFG.model_dump()
    for key, value in changes.items():
        data[key] = {**data[key], **value} if isinstance(data[key], dict) else value
    return bd.Config.model_validate(data)


def _read(path: Path) -> list[dict]:
    with gzip.open(path, "rt", encoding="utf-8") as f:
        return [json.loads(line) for line in f]


# --------------------------------------------------------------------------------------------- insertions

def test_boilerplate_lines_go_on_top_and_bottom_and_keep_the_page_whole():
    text, added = dn.insert_boilerplate(PAGE, "en", random.Random(3), ["TOP {site}"], ["BOTTOM © {year}"], 6)
    lines = text.split("\n")
    assert len(added) == 6 and len(lines) == len(PAGE.split("\n")) + 6
    n_top = sum(line.startswith("TOP ") for line in added)
    assert all(line.startswith("TOP ") for line in lines[:n_top])
    assert "\n".join(lines[n_top:n_top + 4]) == PAGE
    assert all(re.fullmatch(r"BOTTOM © 20\d\d", line) for line in lines[n_top + 4:])
    assert "{" not in text


def test_menu_template_is_filled_with_the_pages_words():
    line = dn.boilerplate_lines(PAGE, "en", random.Random(1), ["Home | {menu}"], 1)[0]
    entries = line.split(" | ")
    page_words = {w.lower() for w in re.findall(r"\w+", PAGE)}
    assert entries[0] == "Home" and 3 <= len(entries) - 1 <= 6
    assert all(w.lower() in page_words for e in entries[1:] for w in e.split())


def test_base64_blob_is_inserted_at_a_line_break_and_decodes_to_the_configured_size():
    text, blob = dn.insert_base64(PAGE, random.Random(5), 1000, 2000)
    assert text.replace(blob + "\n", "").replace("\n" + blob, "") == PAGE
    blob_lines = blob.split("\n")
    assert all(len(line) == 76 for line in blob_lines[:-1]) and 0 < len(blob_lines[-1]) <= 76
    assert 1000 <= len(base64.b64decode("".join(blob_lines))) <= 2000


def test_pii_items_are_found_by_the_platforms_redaction_and_leave_the_words_alone():
    rng = random.Random(11)
    items = dn.pii_items(rng, 40)
    assert {("@" in i, i.startswith("+"), i.startswith("("), i.count(".") == 3 and "@" not in i) for i in items} \
        >= {(True, False, False, False), (False, True, False, False), (False, False, True, False),
            (False, False, False, True)}
    text = dn.insert_pii(PAGE, items[:4], rng)
    redacted, counts = redact(text, PiiConfig())
    assert sum(counts.values()) == 4
    assert re.sub(r"<\w+>", "", redacted).split() == PAGE.split()


def test_near_duplicate_changes_only_the_words_and_lines_asked_for():
    rng = random.Random(2)
    copy = dn.near_duplicate(PAGE, "en", rng, 3, 0, ["EXTRA"])
    a, b = PAGE.split(), copy.split()
    assert copy != PAGE and len(a) == len(b) and 1 <= sum(x != y for x, y in zip(a, b, strict=True)) <= 3
    with_line = dn.near_duplicate(PAGE, "en", random.Random(4), 0, 1, ["EXTRA"])
    assert abs(len(with_line.split("\n")) - len(PAGE.split("\n"))) == 1


def test_near_duplicate_of_unspaced_text_replaces_characters():
    zh = "列出指定文件的信息。\n如果没有指定排序方式，则按字母排序项目。"
    copy = dn.near_duplicate(zh, "zh", random.Random(1), 2, 0, [])
    assert len(copy) == len(zh) and 1 <= sum(x != y for x, y in zip(zh, copy, strict=True)) <= 2


# --------------------------------------------------------------------------------------------- copy counts

@pytest.mark.parametrize(("distribution", "alpha"), [("pareto", 1.5), ("zipf", 2.0)])
def test_copy_counts_are_heavy_tailed_seeded_and_capped(distribution, alpha):
    counts = [dn.copy_count(f"s/{i}", distribution, alpha, 300) for i in range(3000)]
    assert counts == [dn.copy_count(f"s/{i}", distribution, alpha, 300) for i in range(3000)]
    assert min(counts) >= 1 and max(counts) <= 300
    assert statistics.median(counts) <= 2 and max(counts) >= 50 * statistics.median(counts)
    share_one = counts.count(1) / len(counts)
    expected_one = 1 - 2 ** -alpha if distribution == "pareto" else 1 / 1.6449  # P(N=1): Pareto, Zipf(2)
    assert abs(share_one - expected_one) < 0.04


def test_smaller_alpha_gives_more_copies():
    def total(alpha: float) -> int:
        return sum(dn.copy_count(f"t/{i}", "pareto", alpha, 300) for i in range(2000))
    assert total(1.2) > 1.5 * total(2.5)


# --------------------------------------------------------------------------------------------- labels

def test_labels_name_exactly_what_was_injected():
    docs = _docs(600)
    originals = {d["id"]: d for d in docs}
    cfg = _cfg(pages={"keyword_spam": 0.1, "word_shuffle": 0.1, "menu_only": 0.1, "mojibake": 0.1},
               duplicates={"exact_rate": 0.1, "near_rate": 0.1})
    raw = bd.noised(docs, cfg)
    by_id = {r["id"]: r for r in raw}
    labels = Counter(label for r in raw for label in r["meta"]["noise"].split(","))
    assert set(labels) == {"clean", "keyword_spam", "word_shuffle", "menu_only", "boilerplate", "base64", "pii",
                           "exact_dup", "near_dup"}  # mojibake: ASCII pages do not change, so never labelled
    for r in raw:
        kinds = r["meta"]["noise"].split(",")
        if "dup_of" in r["meta"]:
            source = by_id[r["meta"]["dup_of"]]
            assert kinds == (source["meta"]["noise"].split(",") if source["meta"]["noise"] != "clean" else []) \
                + [kinds[-1]]
            assert (r["text"] == source["text"]) == (kinds[-1] == "exact_dup")
            continue
        original = originals[r["id"]]
        rng_kind = kinds[0] if kinds[0] in bd.PAGE_KINDS else None
        if kinds == ["clean"]:
            assert r["text"] == original["text"]
        elif rng_kind:
            assert len(kinds) == 1
            assert r["text"] == bd.PAGE_KINDS[rng_kind](original["text"], "en", bd._rng(cfg, rng_kind, r["id"]))
        else:
            assert set(kinds) <= {"boilerplate", "base64", "pii"}
            assert ("pii" in r["meta"]) == ("pii" in kinds)
            assert ("boilerplate_lines" in r["meta"]) == ("boilerplate" in kinds)
        copies = [c for c in raw if c["meta"].get("dup_of") == r["id"]]
        assert r["meta"].get("copies", 0) == len(copies)


def test_rates_are_met_and_output_is_reproducible():
    docs = _docs(3000)
    raw = bd.noised(docs, CFG)
    assert raw == bd.noised(docs, CFG)
    originals = [r for r in raw if "dup_of" not in r["meta"]]
    assert len(originals) == len(docs)
    share = Counter(k for r in originals for k in r["meta"]["noise"].split(","))
    for kind, rate in [("keyword_spam", CFG.pages["keyword_spam"]), ("word_shuffle", CFG.pages["word_shuffle"]),
                       ("menu_only", CFG.pages["menu_only"])]:
        assert abs(share[kind] / len(docs) - rate) < 0.015
    text_pages = len(docs) * (1 - sum(CFG.pages.values()))
    assert abs(share["boilerplate"] / text_pages - CFG.insertions.boilerplate.rate) < 0.04
    duplicated = sum("copies" in r["meta"] for r in originals)
    assert abs(duplicated / len(docs) - CFG.duplicates.exact_rate - CFG.duplicates.near_rate) < 0.02


def test_mojibake_label_only_where_the_text_changed():
    doc = _docs(1)[0]
    doc["text"] += "\nGrüße für die Übersetzung"
    cfg = _cfg(pages={"keyword_spam": 0, "word_shuffle": 0, "menu_only": 0, "mojibake": 0.99})
    page = bd.make_page({**doc, "meta": {**doc["meta"], "noise": "clean"}}, cfg)
    assert page["meta"]["noise"] == "mojibake" and "Ã¼" in page["text"]


def test_identical_outputs_byte_for_byte(tmp_path):
    docs = _docs(50)
    built = bd.Built(raw=bd.noised(docs, CFG), heldout=_docs(3), clean=docs)
    pkgs = {"pkg": bd.DebPackage("pkg", "1", "MIT", tmp_path)}
    for out in (tmp_path / "a", tmp_path / "b"):
        bd.write_outputs(out, built, pkgs, CFG)
    for name in ("raw/part-00000.jsonl.gz", "heldout.jsonl.gz", "stats.json", "packages.json"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()


# --------------------------------------------------------------------------------------------- sources, config

def test_heldout_families_and_sample_text_are_kept_out_of_the_corpus():
    corpus, heldout = bd.split_sources(CFG.heldout.families)
    assert {s.family for s in heldout} == set(CFG.heldout.families)
    assert not {s.family for s in corpus} & {s.family for s in heldout}
    assert not any(bd.used_by_sample(s) for s in corpus + heldout)
    assert len({s.lang for s in corpus}) >= 8


def test_used_by_sample_knows_the_samples_packages():
    guide = [s for s in bd.br.sources() if s.package == "installation-guide-amd64"]
    assert {s.lang for s in guide if bd.used_by_sample(s)} == set()  # the reference already leaves them out
    sample_lang = bd.br.Source("installation-guide-amd64", "installation-guide", "de",
                               "usr/share/doc/installation-guide-amd64/de", "*.html", "html")
    assert bd.used_by_sample(sample_lang)
    assert bd.used_by_sample(bd.br.Source("debian-faq-de", "debian-faq", "de", "x", "*", "html"))


def test_bad_config_is_one_line_error(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text(bd.DEFAULT_CONFIG.read_text().replace("keyword_spam: 0.03", "keyword_spam: 0.95"))
    assert bd.main(["--config", str(bad), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and "sum to less than 1" in err and "\n" not in err


# --------------------------------------------------------------------------------------------- the committed set

def _small_records() -> list[dict]:
    return [r for part in sorted((SMALL / "raw").glob("part-*.jsonl.gz")) for r in _read(part)]


def test_small_set_is_read_by_the_projects_jsonl_reader():
    fields = FieldMap()
    for path in [*sorted((SMALL / "raw").glob("part-*.jsonl.gz")), SMALL / "heldout.jsonl.gz"]:
        with gzip.open(path, "rb") as f:
            rows = [parse_json_line(line, path.name, fields, "default") for line in f]
        assert rows and all(r["drop_reason"] is None and r["text"] and r["lang"] for r in rows)
        assert all(dict(r["meta"])["noise"] for r in rows)


def test_small_set_counts_match_its_stats_and_labels():
    raw, heldout = _small_records(), _read(SMALL / "heldout.jsonl.gz")
    stats = json.loads((SMALL / "stats.json").read_text())
    assert sum(r["documents"] for r in stats["raw"].values()) == len(raw)
    assert sum(r["documents"] for r in stats["heldout"].values()) == len(heldout)
    assert len(stats["clean"]) >= 8
    assert Counter(k for r in raw for k in r["meta"]["noise"].split(",")) == stats["noise_labels"]
    ids = {r["id"] for r in raw}
    assert len(ids) == len(raw) and all(r["meta"]["dup_of"] in ids for r in raw if "dup_of" in r["meta"])
    assert {r["meta"]["noise"] for r in heldout} == {"clean"}


def test_small_heldout_shares_no_package_family_with_the_corpus():
    packages = json.loads((SMALL / "packages.json").read_text())
    corpus = {p["package"] for p in packages["corpus"]}
    heldout = {p["package"] for p in packages["heldout"]}
    assert corpus and heldout and not corpus & heldout
    raw_families = {r["source"].split("/", 1)[1] for r in _small_records()}
    held_families = {r["source"].split("/", 1)[1] for r in _read(SMALL / "heldout.jsonl.gz")}
    assert held_families == set(CFG.heldout.families) and not raw_families & held_families


def test_drawn_table_rules_are_cut():
    text = "│ name │ value │\n├" + "─" * 20000 + "┼" + "─" * 300 + "┤\n└───┘\nSee ......................... page 4"
    assert bd.squeeze_rules(text) == "│ name │ value │\nSee ... page 4"
