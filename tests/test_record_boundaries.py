"""JSON Lines records end at \\n only: a bare \\r, a form feed, U+2028/U+2029 or NUL inside a line never splits it,
plain or compressed; the input count is the file's line count."""

from __future__ import annotations

import bz2
import gzip
import json

import pytest

from data_platform.io import records as R
from data_platform.io import spark_io

LINES = [
    json.dumps({"id": "crlf", "text": "a record that ends in a carriage return and a newline"}).encode() + b"\r",
    b"\x00\xff\rbinary\r\rjunk \x0c with bare carriage returns\r and \x80 bytes",
    json.dumps({"id": "seps", "text": "line\u2028separator and\u2029paragraph"}, ensure_ascii=False).encode(),
    b'{"id": "nul", "text": "a NUL \x00 inside"}',
    b'{"id": "cut", "text": "truncated',
    b"\r",  # a line holding only the \r of a \r\n ending: blank, not a record
    json.dumps({"id": "last", "text": "the final line has no newline"}).encode(),
]
RECORDS = 6  # every line but the blank one


def write(path, compress) -> str:
    data = b"\n".join(LINES)  # the last line unterminated
    path.write_bytes(compress(data))
    return str(path)


@pytest.mark.parametrize("name, compress", [("plain.jsonl", lambda b: b), ("zipped.jsonl.gz", gzip.compress),
                                            ("packed.jsonl.bz2", bz2.compress)])
def test_records_end_at_newlines_only(spark, tmp_path, name, compress):
    path = write(tmp_path / name, compress)
    df, count = spark_io.read_documents(spark, spark_io.discover(spark, [path]), R.FieldMap(), "test")
    rows = {r["id"]: r for r in df.collect()}
    assert count == RECORDS == len(rows)
    assert rows["crlf"]["text"] == "a record that ends in a carriage return and a newline"
    assert rows["seps"]["text"] == "line\u2028separator and\u2029paragraph" and rows["seps"]["drop_reason"] is None
    junk = [r for r in rows.values() if r["drop_reason"] == "malformed_record" and "binary" in (r["text"] or "")]
    assert len(junk) == 1 and junk[0]["text"].count("\r") == 4  # one quarantined record, its bytes whole
    assert rows["last"]["drop_reason"] is None
    assert sum(r["drop_reason"] == "malformed_record" for r in rows.values()) == 3  # junk, NUL, truncated


def read(spark, path, max_record_bytes=None):
    df, count = spark_io.read_documents(spark, spark_io.discover(spark, [str(path)]), R.FieldMap(), "test",
                                        max_record_bytes)
    return df.collect(), count


def test_truncated_gzip_keeps_what_it_read_and_quarantines_the_rest(spark, tmp_path):
    lines = b"".join(json.dumps({"id": f"d{i}", "text": f"document {i} " * 20}).encode() + b"\n"
                     for i in range(3000))
    packed = gzip.compress(lines)
    (tmp_path / "cut.jsonl.gz").write_bytes(packed[: len(packed) // 2])
    rows, count = read(spark, tmp_path / "cut.jsonl.gz")
    broken = [r for r in rows if r["drop_reason"] == "malformed_record"]
    assert count == len(rows) and len(broken) == 1
    read_ok = len(rows) - 1
    assert 0 < read_ok < 3000 and broken[0]["id"] == f"cut.jsonl.gz#unreadable-after-{read_ok}"
    assert "unreadable compressed data after record" in broken[0]["drop_detail"]
    assert [r["id"] for r in rows if r["drop_reason"] is None] == [f"d{i}" for i in range(read_ok)]


def test_oversize_record_in_a_compressed_file(spark, tmp_path):
    big = json.dumps({"id": "big", "text": "x" * 300_000}).encode()
    data = big + b"\n" + json.dumps({"id": "small", "text": "fine"}).encode() + b"\n"
    (tmp_path / "big.jsonl.gz").write_bytes(gzip.compress(data))
    rows, count = read(spark, tmp_path / "big.jsonl.gz", max_record_bytes=100_000)
    by_id = {r["id"]: r for r in rows}
    assert count == 2 and by_id["big"]["drop_reason"] == "too_long" and by_id["small"]["drop_reason"] is None
    assert by_id["big"]["drop_detail"].startswith(f"record of {len(big)} bytes > limits.max_record_bytes=100000")
