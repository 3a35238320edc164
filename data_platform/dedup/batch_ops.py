"""The Python side of dedup: one function per Arrow-batch step that ``dedup/run.py`` maps over its DataFrames
(batch in, batch out)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from data_platform import schema as S
from data_platform.dedup.config import MinHashConfig, ParagraphConfig, SentenceConfig, TextNormalization
from data_platform.dedup.hashing import band_keys, content_hashes, normalize_for_hash, signatures
from data_platform.dedup.sentences import remove_sentences, sentence_spans
from data_platform.documents import KEY

HASH_SCHEMA = pa.schema([pa.field(KEY, pa.string()), pa.field("hash", pa.binary())])
SIG_SCHEMA = pa.schema([pa.field(KEY, pa.string()), pa.field("sig", pa.binary()),
                        pa.field("bands", pa.list_(pa.int64()))])
PARA_SCHEMA = pa.schema([pa.field(KEY, pa.string()), pa.field("idx", pa.int32()), pa.field("hash", pa.binary()),
                         pa.field("chars", pa.int32())])


def exact_hashes(batch: pa.RecordBatch, norm: TextNormalization) -> pa.RecordBatch:
    texts = normalize_for_hash(batch.column(S.TEXT), norm)
    return pa.RecordBatch.from_arrays([batch.column(KEY), pa.array(content_hashes(texts), pa.binary())],
                                      schema=HASH_SCHEMA)


def minhash_signatures(batch: pa.RecordBatch, cfg: MinHashConfig, bands: int, rows: int) -> pa.RecordBatch:
    """Signature bytes and band keys per document; documents without any shingle are left out."""
    sig, has = signatures(batch.column(S.TEXT), batch.column(S.LANG).to_pylist(), cfg)
    idx = np.flatnonzero(has)
    kept = np.ascontiguousarray(sig[idx].astype("<u4"))
    keys = np.ascontiguousarray(band_keys(sig[idx], bands, rows))
    sig_offsets = np.arange(len(idx) + 1, dtype=np.int32) * kept.shape[1] * 4  # one fixed-width value per row
    sigs = pa.Array.from_buffers(pa.binary(), len(idx), [None, pa.py_buffer(sig_offsets), pa.py_buffer(kept)])
    band_lists = pa.ListArray.from_arrays(pa.array(np.arange(len(idx) + 1) * bands, pa.int32()),
                                          pa.array(keys.ravel(), pa.int64()))
    return pa.RecordBatch.from_arrays([batch.column(KEY).take(pa.array(idx, pa.int64())), sigs, band_lists],
                                      schema=SIG_SCHEMA)


def paragraph_hashes(batch: pa.RecordBatch, cfg: ParagraphConfig) -> pa.RecordBatch:
    """One row per line of at least ``min_chars`` characters: its index, normalized hash and length."""
    keys, idxs, lines = [], [], []
    for key, text in zip(batch.column(KEY).to_pylist(), batch.column(S.TEXT).to_pylist(), strict=True):
        for i, line in enumerate((text or "").split("\n")):
            if len(line.strip()) >= cfg.min_chars:
                keys.append(key)
                idxs.append(i)
                lines.append(line)
    hashes = content_hashes(normalize_for_hash(pa.array(lines, pa.string()), cfg.normalize))
    return pa.RecordBatch.from_pydict({KEY: keys, "idx": idxs, "hash": hashes, "chars": [len(x) for x in lines]},
                                      schema=PARA_SCHEMA)


def sentence_span_hashes(batch: pa.RecordBatch, cfg: SentenceConfig) -> pa.RecordBatch:
    """One row per span of ``cfg.span`` consecutive sentences: its first sentence's index, hash and length. A span is
    the sequence of its normalized sentences (normalized once each, not once per span that holds them)."""
    keys, idxs, chars, counts = [], [], [], []
    sentences: list[str] = []
    for key, text in zip(batch.column(KEY).to_pylist(), batch.column(S.TEXT).to_pylist(), strict=True):
        bounds = sentence_spans(text or "")
        sentences.extend(text[a:b] for a, b in bounds)
        counts.append(len(bounds))
        for i in range(len(bounds) - cfg.span + 1):
            keys.append(key)
            idxs.append(i)
            chars.append(bounds[i + cfg.span - 1][1] - bounds[i][0])
    norm = normalize_for_hash(pa.array(sentences, pa.string()), cfg.normalize).to_pylist()
    spans: list[str] = []
    first = 0
    for n in counts:  # sentences hold no newline: joined with one, a span's sentences stay apart
        spans.extend("\n".join(norm[first + i : first + i + cfg.span]) for i in range(n - cfg.span + 1))
        first += n
    return pa.RecordBatch.from_pydict({KEY: keys, "idx": idxs, "hash": content_hashes(pa.array(spans, pa.string())),
                                       "chars": chars}, schema=PARA_SCHEMA)


def _line_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of every line: the paragraph unit."""
    spans, start = [], 0
    for line in text.split("\n"):
        spans.append((start, start + len(line)))
        start += len(line) + 1
    return spans


def remove_units(batch: pa.RecordBatch, unit: str, span: int, max_share: float, reason: str) -> pa.RecordBatch:
    """Cut the flagged units out of each text (``remove_idx``: line indices, or first sentences of spans of
    ``span`` sentences); above ``max_share`` of the characters, drop the document instead, text left whole.
    Only the rows with removals are converted to Python; the other columns pass through as Arrow."""
    flagged = batch.column("remove_idx")
    rows = np.flatnonzero(pc.list_value_length(flagged).fill_null(0).to_numpy(zero_copy_only=False))
    out = batch.drop_columns(["remove_idx"])
    if not len(rows):
        return out
    edited = {name: out.column(name).to_pylist() for name in (S.TEXT, S.N_CHARS, S.META, S.DROP_REASON,
                                                              S.DROP_DETAIL)}
    for r in rows:
        _cut(edited, int(r), flagged[int(r)].as_py(), unit, span, max_share, reason)
    for name, values in edited.items():
        out = out.set_column(out.schema.get_field_index(name), out.schema.field(name),
                             pa.array(values, out.schema.field(name).type))
    return out


def _cut(cols: dict[str, list], r: int, starts: list[int], unit: str, span: int, max_share: float,
         reason: str) -> None:
    """Row ``r`` of ``cols`` with its flagged units removed, or dropped when they are too large a share."""
    text = cols[S.TEXT][r]
    bounds = sentence_spans(text) if unit == "sentences" else _line_spans(text)
    drop = {i + k for i in starts for k in range(span)}
    removed = sum(bounds[i][1] - bounds[i][0] for i in drop)
    share = removed / max(1, len(text))
    if share > max_share:
        cols[S.DROP_REASON][r] = reason
        cols[S.DROP_DETAIL][r] = f"{len(drop)} repeated {unit} = {share:.0%} of the characters > {max_share:.0%}"
        return
    if unit == "sentences":
        cols[S.TEXT][r] = remove_sentences(text, bounds, drop)
    else:
        cols[S.TEXT][r] = "\n".join(line for i, line in enumerate(text.split("\n")) if i not in drop)
    cols[S.N_CHARS][r] = len(cols[S.TEXT][r])
    cols[S.META][r] = list(cols[S.META][r] or []) + [(f"{unit}_removed", f"{len(drop)} {unit}, {removed} chars")]
