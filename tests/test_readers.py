"""Readers turn every kind of bad input into a quarantined row, never an exception."""

from __future__ import annotations

import gzip
import io

from data_platform.io import records as R
from tests.conftest import SAMPLE

FIELDS = R.FieldMap()


def bad_rows() -> dict[str, dict]:
    lines = [ln for ln in (SAMPLE / "bad_input.jsonl").read_bytes().split(b"\n") if ln.strip()]
    rows = [R.parse_json_line(ln, "bad_input.jsonl", FIELDS, "test") for ln in lines]
    return {r["id"]: r for r in rows}


def test_malformed_json_and_non_utf8_are_quarantined_with_the_raw_line():
    rows = bad_rows()
    reasons = sorted((r["drop_reason"] or "-", (r["drop_detail"] or "")[:12]) for r in rows.values())
    assert reasons.count(("malformed_record", "invalid JSON")) == 1
    assert reasons.count(("malformed_record", "invalid UTF-")) == 1
    assert reasons.count(("malformed_record", "a JSON list,")) == 1
    bad_utf8 = next(r for r in rows.values() if (r["drop_detail"] or "").startswith("invalid UTF-8"))
    assert "caf\ufffd au lait" in bad_utf8["text"]  # raw content kept, decoded with replacement
    assert rows["bad/ok-1"]["drop_reason"] is None and rows["bad/ok-1"]["source"] == "test"


def test_unknown_fields_go_to_meta_and_ids_are_derived():
    row = R.parse_json_line(b'{"content": "x", "text": "hello", "score": 0.5}', "f.jsonl", FIELDS, "s")
    assert dict(row["meta"]) == {"content": "x", "score": "0.5"}
    assert row["id"].startswith("f.jsonl/") and len(row["id"]) == len("f.jsonl/") + 16
    custom = R.FieldMap(text="content")
    assert R.parse_json_line(b'{"content": "x"}', "f", custom, "s")["text"] == "x"


def test_html_record_keeps_html_for_extraction():
    row = R.parse_json_line(b'{"id": "p", "html": "<p>hi</p>", "lang": "en"}', "f", FIELDS, "s")
    assert row["html"] == "<p>hi</p>" and row["text"] is None and row["lang"] == "en"


def test_decode_html_uses_declared_charsets():
    page = '<html><head><meta charset="euc-jp"></head><body>日本語のテキスト</body></html>'
    text, charset = R.decode_html(page.encode("euc-jp"))
    assert "日本語のテキスト" in text and charset == "euc-jp"
    koi = "<?xml version='1.0' encoding='koi8-r'?><p>Привет, мир</p>".encode("koi8-r")
    assert "Привет, мир" in R.decode_html(koi)[0]
    assert R.decode_html("déjà vu".encode("utf-8"))[0] == "déjà vu"


def test_warc_reader_yields_html_responses():
    with open(SAMPLE / "pages.warc.gz", "rb") as f:
        rows = list(R.iter_warc_rows(f, "pages.warc.gz", "warc"))
    assert len(rows) == 16 and all(r["html"] and r["drop_reason"] is None for r in rows)
    assert all(r["url"].startswith("https://") and r["id"].startswith("urn:uuid:") for r in rows)


def test_truncated_warc_record_is_quarantined():
    with open(SAMPLE / "truncated.warc.gz", "rb") as f:
        rows = list(R.iter_warc_rows(f, "truncated.warc.gz", "warc"))
    assert [r["drop_reason"] for r in rows] == [None, "malformed_record"]
    assert "truncated WARC record" in rows[1]["drop_detail"] and rows[1]["text"]


def test_corrupt_warc_bytes_become_one_quarantined_row():
    junk = io.BytesIO(gzip.compress(b"WARC/1.0\r\nthis is not a warc header block\r\n\r\n") + b"\x00garbage")
    rows = list(R.iter_warc_rows(junk, "junk.warc.gz", "warc"))
    assert len(rows) == 1 and rows[0]["drop_reason"] == "malformed_record"
