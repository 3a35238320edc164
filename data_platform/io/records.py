"""Turning raw input (JSON lines, HTML bytes, WARC records) into document rows, without Spark.

Nothing here raises on bad input: a record that cannot be parsed becomes a row with ``drop_reason`` set
(``malformed_record``) and the raw content kept in ``text``, so it is accounted for in ``dropped/``.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from typing import Any, BinaryIO, Iterator

import pyarrow as pa

from data_platform import schema as S

_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)"""
                      rb"""|<\?xml[^>]+encoding=["']([A-Za-z0-9_.:-]+)""", re.I)


@dataclass(frozen=True)
class FieldMap:
    """Names of the input fields that hold each part of a document."""

    id: str = "id"
    text: str = "text"
    html: str = "html"
    url: str = "url"
    source: str = "source"
    lang: str = "lang"
    meta: str = "meta"

    def known(self) -> set[str]:
        return {self.id, self.text, self.html, self.url, self.source, self.lang, self.meta}


def content_id(origin: str, payload: bytes) -> str:
    """A stable id for a record that has none: its file's name and a hash of its bytes."""
    return f"{origin.rsplit('/', 1)[-1]}/{hashlib.sha1(payload).hexdigest()[:16]}"


def row(doc_id: str, *, text=None, html=None, url=None, source=None, lang=None, meta=None,
        reason=None, detail=None) -> dict[str, Any]:
    """One row of ``schema.RAW_SCHEMA``."""
    return {S.ID: doc_id, S.TEXT: text, S.URL: url, S.SOURCE: source, S.LANG: lang,
            S.META: list((meta or {}).items()), S.HTML: html, S.DROP_REASON: reason, S.DROP_DETAIL: detail}


def to_batch(rows: list[dict[str, Any]]) -> pa.RecordBatch:
    return pa.RecordBatch.from_pylist(rows, schema=S.RAW_SCHEMA)


def _as_str(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


OVERSIZE_HEAD_BYTES = 65536


def oversize_row(head: bytes, origin: str, size: int, sha1: str, limit: int | None, fields: FieldMap,
                 default_source: str) -> dict[str, Any]:
    """A JSON record too large to parse, seen only through its first bytes: dropped as ``too_long``, its id
    taken from a top-level-looking ``"id": "..."`` in the head, else the content id of the whole record."""
    text = head.decode("utf-8", "ignore")
    found = re.search(r'"%s"\s*:\s*"((?:[^"\\]|\\.)*)"' % re.escape(fields.id), text)
    doc_id = json.loads(f'"{found.group(1)}"') if found else f"{origin.rsplit('/', 1)[-1]}/{sha1[:16]}"
    return row(doc_id, text=text, source=default_source, reason="too_long",
               detail=f"record of {size} bytes > limits.max_record_bytes={limit}; dropped/ keeps its first "
                      f"{len(head)} bytes")


def parse_json_line(line: bytes, origin: str, fields: FieldMap, default_source: str) -> dict[str, Any]:
    """One JSON Lines record -> a row; malformed input -> a quarantined row holding the raw line."""
    fallback_id = content_id(origin, line)
    try:
        decoded = line.decode("utf-8")
    except UnicodeDecodeError as err:
        return row(fallback_id, text=line.decode("utf-8", "replace"), source=default_source,
                   reason="malformed_record", detail=f"invalid UTF-8 at byte {err.start} of {origin}")
    try:
        rec = json.loads(decoded)
    except json.JSONDecodeError as err:
        return row(fallback_id, text=decoded, source=default_source,
                   reason="malformed_record", detail=f"invalid JSON in {origin}: {err.msg} at column {err.colno}")
    if not isinstance(rec, dict):
        return row(fallback_id, text=decoded, source=default_source,
                   reason="malformed_record", detail=f"a JSON {type(rec).__name__}, not an object, in {origin}")
    return record_row(rec, fallback_id, fields, default_source)


def iter_jsonl_rows(stream: BinaryIO, origin: str, fields: FieldMap, default_source: str,
                    max_record_bytes: int | None) -> Iterator[dict[str, Any]]:
    """Rows of a (decompressed) JSON Lines stream read in Python: records end at ``\\n`` only (a ``\\r`` before it
    is stripped), blank lines are skipped, records over ``max_record_bytes`` are read in pieces and kept as their
    head (``too_long``), and data that cannot be decompressed ends the file with one quarantined row."""
    limit = max_record_bytes or 0
    n = 0
    try:
        while line := stream.readline(limit + 1 if limit else -1):
            if limit and len(line) > limit and not line.endswith(b"\n"):
                digest = hashlib.sha1(line)
                size = len(line) + _rest_of_line(stream, digest)
                n += 1
                yield oversize_row(line[:OVERSIZE_HEAD_BYTES], origin, size, digest.hexdigest(), limit, fields,
                                   default_source)
                continue
            line = line.removesuffix(b"\n").removesuffix(b"\r")
            if line.strip():
                n += 1
                yield parse_json_line(line, origin, fields, default_source)
    except (OSError, EOFError) as err:  # a truncated or corrupt compressed stream
        yield row(f"{origin.rsplit('/', 1)[-1]}#unreadable-after-{n}", source=default_source,
                  reason="malformed_record",
                  detail=f"unreadable compressed data after record {n} of {origin}: {err}"[:500])


def _rest_of_line(stream: BinaryIO, digest: Any) -> int:
    """Read the stream to the end of the current line in 1 MiB pieces, hashing them; the bytes read."""
    size = 0
    while piece := stream.readline(1 << 20):
        body = piece.removesuffix(b"\n")
        digest.update(body)
        size += len(body)
        if len(body) < len(piece):  # the line's end
            break
    return size


def record_row(rec: dict[str, Any], fallback_id: str, fields: FieldMap, default_source: str) -> dict[str, Any]:
    """A parsed record (JSON object or parquet row) -> a row; unknown fields are kept in ``meta``."""
    meta = rec.get(fields.meta)
    meta = {str(k): _as_str(v) for k, v in meta.items() if v is not None} if isinstance(meta, dict) else {}
    meta.update({k: _as_str(v) for k, v in rec.items() if k not in fields.known() and v is not None})
    text, html = rec.get(fields.text), rec.get(fields.html)
    return row(
        _as_str(rec.get(fields.id)) or fallback_id,
        text=_as_str(text),
        html=_as_str(html) if text is None else None,
        url=_as_str(rec.get(fields.url)),
        source=_as_str(rec.get(fields.source)) or default_source,
        lang=_as_str(rec.get(fields.lang)),
        meta=meta,
    )


def decode_html(content: bytes, declared: str | None = None) -> tuple[str, str]:
    """Decode page bytes using the declared charset, the page's own meta/XML declaration, UTF-8, or a guess."""
    candidates = [declared] if declared else []
    if m := _CHARSET.search(content[:4096]):
        candidates.append((m.group(1) or m.group(2)).decode("ascii"))
    candidates.append("utf-8")
    for charset in candidates:
        try:
            return content.decode(charset), charset.lower()
        except (LookupError, UnicodeDecodeError):
            continue
    from charset_normalizer import from_bytes

    best = from_bytes(content).best()
    if best is None:
        return content.decode("utf-8", "replace"), "utf-8 (with replacement)"
    return str(best), best.encoding


def html_file_row(path: str, content: bytes, default_source: str) -> dict[str, Any]:
    """A standalone HTML file -> a row (id = path)."""
    html, charset = decode_html(content)
    return row(path, html=html, url=path, source=default_source, meta={"charset": charset})


def _http_charset(content_type: str | None) -> str | None:
    m = re.search(r"charset=([A-Za-z0-9_.:-]+)", content_type or "", re.I)
    return m.group(1) if m else None


def iter_warc_rows(stream: BinaryIO, origin: str, default_source: str) -> Iterator[dict[str, Any]]:
    """HTML response records of a WARC file (Common Crawl layout) -> rows; a broken record is quarantined, and so is
    one whose Content-Length stops short of its end (warcio notices only when it moves on, so each row waits for
    the next record before it leaves)."""
    from warcio.archiveiterator import ArchiveIterator

    n, pending, records = 0, None, ArchiveIterator(stream)
    try:
        for record in records:
            if pending is not None:
                yield _settled(pending, records.err_count)
                pending = None
            if record.rec_type != "response":
                continue
            n += 1
            got = _warc_row(record, origin, n, default_source)
            if got is not None:
                pending = (got, records.err_count)
        if pending is not None:
            yield _settled(pending, records.err_count)
    except Exception as err:  # warcio raises several types on truncated or corrupt archives
        if pending is not None:
            yield pending[0]
        yield row(f"{origin}#broken-after-{n}", text=None, url=None, source=default_source,
                  meta={"warc_file": origin}, reason="malformed_record",
                  detail=f"unreadable WARC data after record {n} of {origin}: {type(err).__name__}: {err}"[:500])


def _settled(pending: tuple[dict[str, Any], int], err_count: int) -> dict[str, Any]:
    """A held row once warcio has moved past its record: quarantined when warcio's error count grew meanwhile."""
    got, errors_before = pending
    return _overrun(got) if err_count > errors_before else got


def _overrun(got: dict[str, Any]) -> dict[str, Any]:
    """A record followed by more bytes than its Content-Length announced: quarantined with what it held."""
    return {**got, S.TEXT: got[S.HTML] or got[S.TEXT], S.HTML: None, S.DROP_REASON: "malformed_record",
            S.DROP_DETAIL: "WARC record longer than its Content-Length (the rest was skipped to the next record)"}


def _warc_row(record: Any, origin: str, n: int, default_source: str) -> dict[str, Any] | None:
    """The row of one response record, or None when it is not HTML."""
    uri = record.rec_headers.get_header("WARC-Target-URI")
    rec_id = record.rec_headers.get_header("WARC-Record-ID") or f"{origin}#{n}"
    ctype = record.http_headers.get_header("Content-Type") if record.http_headers else None
    if ctype and "html" not in ctype.lower():
        return None
    body = record.content_stream().read()
    html, charset = decode_html(body, _http_charset(ctype))
    meta = {"warc_date": record.rec_headers.get_header("WARC-Date") or "", "charset": charset, "warc_file": origin}
    missing = getattr(record.raw_stream, "limit", 0)  # bytes the record announced but the file lacks
    if missing:
        return row(rec_id.strip("<>"), text=html, url=uri, source=default_source, meta=meta,
                   reason="malformed_record", detail=f"truncated WARC record: {missing} bytes missing")
    return row(rec_id.strip("<>"), html=html, url=uri, source=default_source, meta=meta)
