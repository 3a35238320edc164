"""The HTML funnel report over a small run: self-contained, a section per rule, escaped text, exact shares."""

from __future__ import annotations

import json
import re

import pytest

from data_platform.filter_run import FilterRun, run_filter
from data_platform.funnel import funnel_order
from data_platform.report.funnel_data import report_rows, rule_values, threshold_shares
from data_platform.report.funnel_page import build_report, write_report
from data_platform.rules import REGISTRY
from tests.conftest import SAMPLE

JUNK = "<script>alert(1)</script>"


@pytest.fixture(scope="module")
def report_run(spark, ruleset, tmp_path_factory):
    """The synthetic sample plus HTML junk: a broken JSON line (quarantined with its raw text) and a one-word
    document (dropped by a rule), and the run's report."""
    tmp = tmp_path_factory.mktemp("report")
    junk = tmp / "junk.jsonl"
    junk.write_text(f'{{"id": "junk/broken", "text": "{JUNK}"\n'
                    + json.dumps({"id": "junk/script", "source": "junk", "lang": "en", "text": JUNK}) + "\n")
    out = tmp / "out"
    stats = run_filter(spark, FilterRun([str(SAMPLE / "synthetic.jsonl"), str(junk)], str(out), ruleset))
    path = write_report(spark, str(out), stats, funnel_order(ruleset))
    return out, stats, path, (out / "report.html").read_text(encoding="utf-8")


def test_report_is_written_and_self_contained(report_run):
    out, _, path, page = report_run
    assert path == f"{out}/report.html"
    assert page.startswith("<!DOCTYPE html>") and page.endswith("</html>")
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", page)
    assert "<script" not in page.lower() and "<link" not in page.lower()
    funnel = page[page.index('<section id="funnel">'):]
    assert funnel.index('src="data:image/png;base64,') < funnel.index("</section>")


def test_every_rule_has_a_section_with_a_plot(report_run, ruleset):
    _, _, _, page = report_run
    for name in ruleset.order:
        start = page.index(f'<section id="rule-{name}">')
        section = page[start:page.index("</section>", start)]
        assert "data:image/png;base64," in section, name


def test_dropped_text_is_escaped(spark, report_run, ruleset):
    out, stats, _, page = report_run
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and JUNK not in page  # the quarantined line
    # The rule-dropped junk as the only dropped row, so that it is among its rule's examples.
    rows = report_rows(spark, str(out))
    rows = rows[(rows["id"] == "junk/script") | rows["drop_reason"].isna()].reset_index(drop=True)
    reason = rows.loc[rows["id"] == "junk/script", "drop_reason"].item()
    order = funnel_order(ruleset)
    page = build_report(stats, rows, order, {n: REGISTRY[n].doc for n in order if n in REGISTRY})
    start = page.index(f'<section id="rule-{reason}">')
    section = page[start:page.index("</section>", start)]
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in section and JUNK not in page


def test_share_at_current_threshold_is_what_the_rule_drops(spark, report_run):
    out, _, _, _ = report_run
    rows = report_rows(spark, str(out))
    values = rule_values(rows)
    for rule in ("char_repetition", "word_count"):
        shares = threshold_shares(values, rule)
        assert not shares.empty
        for r in shares.to_dict("records"):
            reached = values[(values["rule"] == rule) & values["reached"] & (values["lang"] == r["lang"])]
            bound = reached[r["bound"]]
            outside = reached["value"] < bound if r["bound"] == "min" else reached["value"] > bound
            assert r["×1"] == pytest.approx(outside.mean()), (rule, r)
        if rule == "char_repetition":  # a max-only rule: failing it at ×1 is being dropped by it
            dropped = values[(values["rule"] == rule) & values["reached"]].groupby("lang")["drop_reason"].apply(
                lambda reasons, name=rule: (reasons == name).mean())
            assert shares.set_index("lang")["×1"].to_dict() == pytest.approx(dropped.to_dict())


def test_report_rows_sample_is_deterministic_and_bounded(spark, report_run):
    out, _, _, _ = report_run
    first, again = report_rows(spark, str(out), max_rows=10, seed=3), report_rows(spark, str(out), max_rows=10, seed=3)
    assert 0 < len(first) <= 10 and list(first["id"]) == list(again["id"])
    assert all(isinstance(r, list) and all(isinstance(x, dict) for x in r) for r in first["rules"])
