"""Fuzzed and hostile inputs through the readers and the funnel: never an exception, every input accounted for.

Hypothesis runs a fixed number of examples per property (``max_examples``, no deadline), so the time in CI is
bounded; the hand-made cases (a lying WARC Content-Length, HTML nested 100,000 deep, an extraction that hangs)
are exact.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import subprocess
import sys
import threading
import time

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from data_platform.config import ExtractConfig
from data_platform.extract import Extracted, _Extractor
from data_platform.funnel import process_batch
from data_platform.io import records as R
from tests.conftest import REPO, raw_batch

FIELDS = R.FieldMap()
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
                    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                                max_size=4), max_leaves=12)
FIELD_NAMES = st.sampled_from(["id", "text", "html", "url", "source", "lang", "meta", "other"])
RECORDS = st.dictionaries(FIELD_NAMES, JSON, max_size=6)


def mutated(data: bytes, cuts: list[int], flips: list[tuple[int, int]]) -> bytes:
    """``data`` with bytes replaced at ``flips`` positions and cut at the first of ``cuts``."""
    out = bytearray(data)
    for pos, value in flips:
        if out:
            out[pos % len(out)] = value
    return bytes(out[: cuts[0] % (len(out) + 1)] if cuts else out)


def is_row(r: dict) -> bool:
    reason = r["drop_reason"]
    return isinstance(r["id"], str) and r["id"] != "" and (reason is None or isinstance(reason, str))


@FUZZ
@given(st.binary(max_size=400))
def test_any_bytes_make_one_row(line):
    assert is_row(R.parse_json_line(line, "f.jsonl", FIELDS, "fuzz"))


@FUZZ
@given(RECORDS, st.lists(st.integers(0, 10_000), max_size=1), st.lists(st.tuples(st.integers(0, 10_000),
                                                                                   st.integers(0, 255)), max_size=3))
def test_mutated_json_records_make_one_row(record, cuts, flips):
    line = mutated(json.dumps(record, ensure_ascii=False).encode(), cuts, flips).replace(b"\n", b" ")
    row = R.parse_json_line(line, "f.jsonl", FIELDS, "fuzz")
    assert is_row(row)
    if isinstance(record.get("id"), str) and record["id"] and not cuts and not flips:
        assert row["id"] == record["id"]


@FUZZ
@given(st.lists(RECORDS, max_size=8), st.lists(st.integers(0, 100_000), max_size=1), st.booleans())
def test_compressed_streams_count_their_lines(records, cuts, compress):
    data = b"".join(json.dumps(r).encode() + b"\n" for r in records)
    packed = gzip.compress(data) if compress else data
    packed = mutated(packed, cuts, [])
    stream = io.BufferedReader(pa.CompressedInputStream(pa.BufferReader(packed), "gzip")) if compress else \
        io.BytesIO(packed)
    rows = list(R.iter_jsonl_rows(stream, "f.jsonl.gz", FIELDS, "fuzz", 1000))
    assert all(is_row(r) for r in rows)
    if not cuts:  # the whole stream: one row per line
        assert len(rows) == len(records)


def warc_bytes(body: bytes, length: int | None = None) -> bytes:
    """One WARC response record holding an HTTP response with ``body``; ``length`` overrides Content-Length."""
    http = b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\n" + body
    head = (b"WARC/1.0\r\nWARC-Type: response\r\nWARC-Target-URI: http://example.com/\r\n"
            b"WARC-Record-ID: <urn:uuid:1>\r\nContent-Type: application/http; msgtype=response\r\n"
            b"Content-Length: " + str(len(http) if length is None else length).encode() + b"\r\n\r\n")
    return head + http + b"\r\n\r\n"


@FUZZ
@given(st.binary(max_size=300), st.lists(st.integers(0, 5_000), max_size=1),
       st.lists(st.tuples(st.integers(0, 5_000), st.integers(0, 255)), max_size=4), st.booleans())
def test_mutated_warc_records_never_raise(body, cuts, flips, zipped):
    data = mutated(warc_bytes(b"<html><body><p>" + body + b"</p></body></html>"), cuts, flips)
    data = gzip.compress(data) if zipped else data
    rows = list(R.iter_warc_rows(io.BytesIO(data), "f.warc", "fuzz"))
    assert all(is_row(r) for r in rows)


def test_warc_content_length_that_lies():
    page = b"<html><body><p>" + b"A page about rivers. " * 20 + b"</p></body></html>"
    longer = list(R.iter_warc_rows(io.BytesIO(warc_bytes(page, length=10_000)), "f.warc", "t"))
    assert [(r["drop_reason"], r["drop_detail"].split(":")[0]) for r in longer] == [
        ("malformed_record", "truncated WARC record")]
    shorter = list(R.iter_warc_rows(io.BytesIO(warc_bytes(page, length=60) * 2), "f.warc", "t"))
    assert [(r["drop_reason"], r["drop_detail"]) for r in shorter] == [
        ("malformed_record", "WARC record longer than its Content-Length (the rest was skipped to the next record)")
    ] * 2
    honest = list(R.iter_warc_rows(io.BytesIO(warc_bytes(page) * 2), "f.warc", "t"))
    assert [r["drop_reason"] for r in honest] == [None, None]


HTML = st.lists(st.sampled_from(["<div>", "</div>", "<p>", "</p>", "<script>", "</script>", "<table><tr><td>",
                                 "<!--", "-->", "<![CDATA[", "&amp;", "&#0;", "\x00", "<br/>", "<a href='x'>",
                                 "Rivers carry water to the sea. ", "über straße ", "中文文本。", "\ufffd"]),
                max_size=60).map("".join)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                 HealthCheck.function_scoped_fixture])
@given(st.lists(st.one_of(HTML.map(lambda h: {"html": h}), st.text(max_size=300).map(lambda t: {"text": t})),
                min_size=1, max_size=6))
def test_funnel_accounts_for_every_fuzzed_document(ruleset, docs):
    batch = raw_batch([{"id": f"d{i}", "source": "fuzz", **d} for i, d in enumerate(docs)])
    out = process_batch(batch, ruleset)
    assert out.num_rows == batch.num_rows
    assert out.column("id").to_pylist() == [f"d{i}" for i in range(len(docs))]


def test_html_nested_100k_deep(ruleset):
    deep = "<html><body>" + "<div>" * 100_000 + "Deep text about rivers and bridges." + "</div>" * 100_000
    started = time.perf_counter()
    out = process_batch(raw_batch([{"id": "deep", "html": deep, "source": "t"}]), ruleset).to_pylist()
    assert len(out) == 1 and out[0]["drop_reason"] is not None and time.perf_counter() - started < 30


def _hang(html, url, cfg):
    time.sleep(600 if html == "hang" else 0)
    return Extracted(html, {})


@pytest.mark.parametrize("where", ["main thread", "worker thread"])
def test_extraction_that_hangs_is_abandoned_within_its_budget(where):
    extractor = _Extractor("tests.test_fuzz:_hang")
    results = []

    def run():
        started = time.perf_counter()
        results.append((extractor(("hang", None, ExtractConfig()), 1.0), time.perf_counter() - started))
        results.append((extractor(("fine", None, ExtractConfig()), 30.0), 0))

    if where == "main thread":
        run()
    else:
        t = threading.Thread(target=run)
        t.start()
        t.join(60)
    extractor.stop()
    (hung, seconds), (after, _) = results
    assert hung.text is None and hung.error == "extraction took longer than 1s" and seconds < 10
    assert after.text == "fine" and after.error is None  # a new child took over


def test_a_script_without_a_main_guard_can_extract(tmp_path):
    """The extraction child never re-imports the caller's script (multiprocessing's spawn would re-run it)."""
    script = tmp_path / "no_guard.py"
    script.write_text("from data_platform.config import ExtractConfig\nfrom data_platform.extract import extract_html\n"
                      "page = '<html><body><article><p>' + 'Rivers carry water to the sea. ' * 20 + '</p></article>'\n"
                      "print(extract_html(page, None, ExtractConfig(), 20).text[:30])\n")
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120, env=env)
    assert proc.returncode == 0 and proc.stdout.strip() == "Rivers carry water to the sea."
