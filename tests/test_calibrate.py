"""Threshold calibration (``dp-rules calibrate``): known corpora, hand-computed quantiles, bad input. No Spark.

Quantiles are numpy's default (linear): for sorted values x_0..x_{n-1}, the q quantile sits at position
h = q·(n-1) and equals x_⌊h⌋ + (h - ⌊h⌋)·(x_⌊h⌋+1 - x_⌊h⌋).
"""

from __future__ import annotations

import gzip
import json
import textwrap
from contextlib import nullcontext

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml

from data_platform.calibrate import propose
from data_platform.config import load_rules
from data_platform.rules.__main__ import main

RULES = textwrap.dedent("""\
    version: 1
    order: [word_count, digit_punct_line_ratio, special_char_ratio]
    rules:
      word_count: {min: 1}
      digit_punct_line_ratio: {max: 0.5, mode: tag}   # a tag-mode rule is calibrated too
      special_char_ratio: {}                          # enabled, no bound: reported, not proposed
    languages:
      en: {word_count: {max: 100000}}                 # en has both bounds, fr only the min
    """)


def doc(i: str, lang: str | None, words: int, letter_lines: int, digit_lines: int) -> dict:
    """``words`` words spread over ``letter_lines`` lines, then ``digit_lines`` lines without a letter: word_count
    = words (digits are no words) and digit_punct_line_ratio = digit_lines / all lines."""
    per, extra = divmod(words, letter_lines)
    lines = [" ".join(["apple"] * (per + (k < extra))) for k in range(letter_lines)] + ["12 34"] * digit_lines
    return {"id": i, "text": "\n".join(lines), **({"lang": lang} if lang else {})}


# en: doc i (1..10) has 10·i words and i-1 of its 10 lines without a letter -> word_count 10, 20, ..., 100 and
# digit_punct_line_ratio 0, 0.1, ..., 0.9.
EN = [doc(f"en{i}", "en", 10 * i, 11 - i, i - 1) for i in range(1, 11)]
# fr: 4 lines each, digit lines 0,0,1,1,2,3 -> ratios 0, 0, 0.25, 0.25, 0.5, 0.75; words 5, 7, ..., 15.
FR = [doc(f"fr{i}", "fr", 5 + 2 * i, 4 - k, k) for i, k in enumerate([0, 0, 1, 1, 2, 3])]
DE = [doc(f"de{i}", "de", 20, 2, 0) for i in range(2)]  # 2 < --min-docs 5: skipped
# en junk: word_count 2, 40, 50, 300; ratio 0, 0.9, 0, 0.
JUNK = [doc("j1", "en", 2, 1, 0), doc("j2", "en", 40, 1, 9), doc("j3", "en", 50, 10, 0), doc("j4", "en", 300, 2, 0)]


def write_jsonl(path, docs, compress=False) -> str:
    data = "".join(json.dumps(d) + "\n" for d in docs).encode()
    path.write_bytes(gzip.compress(data, mtime=0) if compress else data)
    return str(path)


@pytest.fixture()
def corpus(tmp_path):
    (tmp_path / "rules.yaml").write_text(RULES)
    ref = write_jsonl(tmp_path / "ref.jsonl.gz", EN + FR + DE, compress=True)
    junk = tmp_path / "junk.parquet"
    pq.write_table(pa.Table.from_pylist(JUNK), junk)
    return tmp_path, ["calibrate", str(tmp_path / "rules.yaml"), "--reference", ref, "--junk", str(junk),
                      "--quantile", "0.1", "--min-docs", "5"]


def run(args, out, html=None) -> dict:
    assert main([*args, "--out", str(out), *(["--html", str(html)] if html else [])]) == 0
    return yaml.safe_load(out.read_text())


def test_thresholds_are_the_hand_computed_quantiles(corpus, capsys):
    tmp, args = corpus
    got = run(args, tmp / "out.yaml")
    # en word_count: n=10, min at h=0.1·9=0.9 -> 10 + 0.9·10 = 19; max at h=0.9·9=8.1 -> 90 + 0.1·10 = 91.
    # en ratio: max at h=8.1 -> 0.8 + 0.1·(0.9-0.8) = 0.81.
    # fr word_count (min only): n=6, h=0.1·5=0.5 -> 5 + 0.5·2 = 6; fr ratio max: h=0.9·5=4.5 -> 0.5 + 0.5·0.25 = 0.625.
    assert got == {"languages": {
        "en": {"word_count": {"min": 19.0, "max": 91.0}, "digit_punct_line_ratio": {"max": 0.81}},
        "fr": {"word_count": {"min": 6.0}, "digit_punct_line_ratio": {"max": 0.625}}}}
    warn = capsys.readouterr().err
    assert "language 'de' has 2 documents reaching the rules, fewer than --min-docs 5; skipped" in warn
    assert "ref.jsonl.gz" in warn


def test_comments_give_drop_and_catch_shares(corpus):
    tmp, args = corpus
    run(args, tmp / "out.yaml")
    text = (tmp / "out.yaml").read_text()
    # en word_count: reference 10 (< 19) and 100 (> 91) dropped = 2 of 10; junk 2 and 300 caught = 2 of 4.
    assert ("# word_count min at q=0.1, max at q=0.9 (file: min 1, max 100000): drops 20.0% (2 of 10) of "
            "reference, catches 50.0% (2 of 4) of junk") in text
    # en ratio: only 0.9 > 0.81 -> 1 of 10; junk j2 (0.9) -> 1 of 4. Together: en1, en10; junk j1, j2, j4.
    assert "drops 10.0% (1 of 10) of reference, catches 25.0% (1 of 4) of junk" in text
    assert "# all bounds below together: drop 20.0% (2 of 10) of reference, catch 75.0% (3 of 4) of junk" in text
    # fr: 5 < 6 -> 1 of 6; 0.75 > 0.625 -> 1 of 6; no French junk.
    assert "# word_count min at q=0.1 (file: min 1): drops 16.7% (1 of 6) of reference, no junk documents\n" in text
    assert "# all bounds below together: drop 33.3% (2 of 6) of reference, no junk documents\n" in text
    assert text.count("# not proposed: special_char_ratio (no min or max in the rule file)") == 2


def test_enforced_only_and_never_tighten(corpus):
    tmp, args = corpus
    # enforced only: the tag-mode ratio gets no proposal; word_count as before (en 19..91, fr min 6)
    got = run([*args, "--enforced-only"], tmp / "enf.yaml")
    assert got == {"languages": {"en": {"word_count": {"min": 19.0, "max": 91.0}}, "fr": {"word_count": {"min": 6.0}}}}
    # never tighten: the file's min 1 and max 100000 are more lenient than 19 / 91 (and fr's 6), so they stay;
    # the ratio's max 0.5 is stricter than the quantile 0.81 (0.625 in fr), so it moves there
    got = run([*args, "--never-tighten"], tmp / "loose.yaml")
    assert got == {"languages": {
        "en": {"word_count": {"min": 1.0, "max": 100000.0}, "digit_punct_line_ratio": {"max": 0.81}},
        "fr": {"word_count": {"min": 1.0}, "digit_punct_line_ratio": {"max": 0.625}}}}
    text = (tmp / "loose.yaml").read_text()
    assert "# word_count min kept (q=0.1 gives 19), max kept (q=0.9 gives 91) (file: min 1, max 100000)" in text


def test_where_keeps_the_documents_of_one_split(tmp_path):
    (tmp_path / "rules.yaml").write_text(RULES)
    # en1..en10 alternate between splits; calib holds en1, en3, ..., en9: word_count 10, 30, 50, 70, 90
    docs = [{**d, "meta": {"split": "calib" if i % 2 == 0 else "holdout"}} for i, d in enumerate(EN)]
    ref = write_jsonl(tmp_path / "ref.jsonl", docs)
    junk = write_jsonl(tmp_path / "junk.jsonl", [{**d, "meta": {"split": "calib"}} for d in JUNK])
    args = ["calibrate", str(tmp_path / "rules.yaml"), "--reference", ref, "--junk", junk, "--quantile", "0.25",
            "--min-docs", "5", "--enforced-only", "--where", "split=calib"]
    got = run(args, tmp_path / "out.yaml")
    # n=5, min at h=0.25·4=1 -> 30, max at h=0.75·4=3 -> 70
    assert got == {"languages": {"en": {"word_count": {"min": 30.0, "max": 70.0}}}}
    assert main([*args[:-1], "split=none", "--out", str(tmp_path / "x.yaml")]) == 2  # an input error


def test_output_is_byte_identical_across_runs(corpus):
    tmp, args = corpus
    run(args, tmp / "a.yaml", tmp / "a.html")
    run(args, tmp / "b.yaml", tmp / "b.html")
    assert (tmp / "a.yaml").read_bytes() == (tmp / "b.yaml").read_bytes()
    page = (tmp / "a.html").read_text()
    assert page == (tmp / "b.html").read_text()
    assert page.count("<svg") == 3 and "dc:date" not in page and "0.625" in page


def test_block_merged_into_the_rule_file_loads(corpus):
    tmp, args = corpus
    block = run(args, tmp / "out.yaml")
    data = yaml.safe_load(RULES)
    for lang, rules in block["languages"].items():
        for name, bounds in rules.items():
            data["languages"].setdefault(lang, {}).setdefault(name, {}).update(bounds)
    (tmp / "merged.yaml").write_text(yaml.safe_dump(data))
    merged = dict(load_rules(tmp / "merged.yaml").resolve("fr", "jsonl").rules)
    assert merged["word_count"].min == 6.0 and merged["digit_punct_line_ratio"].max == 0.625
    assert merged["digit_punct_line_ratio"].mode == "tag"


def test_proposal_skips_missing_values_and_rules_without_values():
    # known values 1..5 (one None): min at q=0.25 -> h = 0.25·4 = 1 -> 2; only 1 < 2 fails; None passes.
    p = propose("en", "r", {"min": 0.0}, [None, 5.0, 1.0, 4.0, 2.0, 3.0], [0.5, None], 0.25)
    assert (p.bounds, p.dropped, p.n_reference, p.n_valued, p.caught, p.n_junk) == ({"min": 2.0}, 1, 6, 5, 1, 2)
    assert propose("zh", "r", {"min": 0.8}, [None, None], [], 0.01).note == "no value in this language"
    assert propose("en", "r", {"max": 1.0}, [123456.0], [], 0.01).bounds == {"max": 123500.0}  # 4 digits


def test_langid_reassigns_the_language_as_the_funnel_does(tmp_path):
    (tmp_path / "rules.yaml").write_text("version: 1\norder: [langid, word_count]\n"
                                         "rules: {langid: {min: 0.5, mode: tag}, word_count: {min: 1}}\n")
    prose = "The committee met on Tuesday to discuss the budget for the new library and its reading room."
    ref = write_jsonl(tmp_path / "ref.jsonl", [{"id": f"d{i}", "text": prose, "lang": "fr"} for i in range(3)])
    args = ["calibrate", str(tmp_path / "rules.yaml"), "--reference", ref, "--junk", ref, "--min-docs", "3"]
    assert list(run(args, tmp_path / "out.yaml")["languages"]) == ["en"]
    # --declared-only: the three English texts declared fr are left out; only the two declared en stay ('no'
    # is quoted in the output, YAML 1.1 would read it as false)
    docs = [{"id": f"d{i}", "text": prose, "lang": "fr"} for i in range(3)]
    docs += [{"id": f"e{i}", "text": prose, "lang": "en"} for i in range(2)]
    docs += [{"id": f"n{i}", "text": "Dette er en bok om huset og hagen, skrevet av en forfatter fra Bergen.",
              "lang": "nb"} for i in range(2)]
    ref = write_jsonl(tmp_path / "ref2.jsonl", docs)
    args = ["calibrate", str(tmp_path / "rules.yaml"), "--reference", ref, "--junk", ref, "--min-docs", "2",
            "--declared-only"]
    out = run(args, tmp_path / "out2.yaml")
    assert sorted(out["languages"]) == ["en", "no"] and "  'no':" in (tmp_path / "out2.yaml").read_text()
    text = (tmp_path / "out2.yaml").read_text()  # en counts its 2 declared documents, not 5
    assert "drops 0.0% (0 of 2) of reference" in text and "of 5) of reference" not in text


@pytest.mark.parametrize("case, message", [
    ("missing", "nowhere.jsonl: no such file or folder"),
    ("empty", "empty.jsonl: empty file (no documents)"),
    ("no_lang", "nolang.jsonl: 1 of 11 documents have no 'lang' (the first: x)"),
    ("too_few", "has --min-docs 50 documents reaching the rules (found: de 2, en 10, fr 6)"),
    ("bad_quantile", "--quantile: 0.7: a quantile between 0 and 0.5"),
])
def test_bad_input_is_one_line_naming_the_file(corpus, capsys, case, message):
    tmp, args = corpus
    (tmp / "empty.jsonl").write_text("\n")
    write_jsonl(tmp / "nolang.jsonl", [*EN, {"id": "x", "text": "apple pear"}])
    changed = {"missing": ["--reference", str(tmp / "nowhere.jsonl")], "empty": ["--junk", str(tmp / "empty.jsonl")],
               "no_lang": ["--reference", str(tmp / "nolang.jsonl")], "too_few": ["--min-docs", "50"],
               "bad_quantile": ["--quantile", "0.7"]}[case]
    with pytest.raises(SystemExit) if case == "bad_quantile" else nullcontext():
        code = main([*args, *changed, "--out", str(tmp / "out.yaml")])
        assert code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert message in err[-1] and "Traceback" not in "".join(err)
    assert not (tmp / "out.yaml").exists()
