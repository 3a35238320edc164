"""The Python side of the dedup stages, one function per ``mapInArrow`` step (Arrow batch in, batch out)."""

from __future__ import annotations

import pyarrow as pa

from data_platform import schema as S
from data_platform.config import ExtractConfig
from data_platform.dedup.config import MinHashConfig, ParagraphConfig, TextNormalization
from data_platform.dedup.hashing import band_keys, content_hashes, normalize_for_hash, signatures
from data_platform.extract import extract_html

KEY = "_key"
HASH_SCHEMA = pa.schema([pa.field(KEY, pa.string()), pa.field("hash", pa.binary())])
SIG_SCHEMA = pa.schema([pa.field(KEY, pa.string()), pa.field("sig", pa.binary()),
                        pa.field("bands", pa.list_(pa.int64()))])
PARA_SCHEMA = pa.schema([pa.field(KEY, pa.string()), pa.field("idx", pa.int32()), pa.field("hash", pa.binary()),
                         pa.field("chars", pa.int32())])
DOC_SCHEMA = pa.schema([*S.DOC_FIELDS, pa.field(S.N_CHARS, pa.int64()), pa.field(S.DROP_REASON, pa.string()),
                        pa.field(S.DROP_DETAIL, pa.string())])


def raw_to_documents(batch: pa.RecordBatch) -> pa.RecordBatch:
    """Reader rows -> documents: HTML extracted, quarantined rows passed on with their reason."""
    out = []
    for r in batch.to_pylist():
        text, reason, detail, meta = r[S.TEXT], r[S.DROP_REASON], r[S.DROP_DETAIL], dict(r[S.META] or [])
        if reason is None and r[S.HTML] is not None:
            got = extract_html(r[S.HTML], r[S.URL], ExtractConfig(), 30.0)
            text, meta = (got.text, {**meta, **got.meta}) if got.text else (r[S.HTML], meta)
            reason, detail = (None, None) if got.text else ("extract_failed", got.error)
        if reason is None and not (text or "").strip():
            reason, detail = "empty_text", "the record has no text"
        out.append({S.ID: r[S.ID], S.TEXT: text, S.URL: r[S.URL], S.SOURCE: r[S.SOURCE], S.LANG: r[S.LANG],
                    S.META: list(meta.items()), S.N_CHARS: len(text or ""), S.DROP_REASON: reason,
                    S.DROP_DETAIL: detail})
    return pa.RecordBatch.from_pylist(out, schema=DOC_SCHEMA)


def exact_hashes(batch: pa.RecordBatch, norm: TextNormalization) -> pa.RecordBatch:
    texts = normalize_for_hash(batch.column(S.TEXT), norm)
    return pa.RecordBatch.from_arrays([batch.column(KEY), pa.array(content_hashes(texts), pa.binary())],
                                      schema=HASH_SCHEMA)


def minhash_signatures(batch: pa.RecordBatch, cfg: MinHashConfig, bands: int, rows: int) -> pa.RecordBatch:
    """Signature bytes and band keys per document; documents without any shingle are left out."""
    sig, has = signatures(batch.column(S.TEXT).to_pylist(), batch.column(S.LANG).to_pylist(), cfg)
    keys = band_keys(sig, bands, rows)
    idx = [i for i, ok in enumerate(has) if ok]
    return pa.RecordBatch.from_pydict({
        KEY: [batch.column(KEY)[i].as_py() for i in idx],
        "sig": [sig[i].astype("<u4").tobytes() for i in idx],
        "bands": [keys[i].tolist() for i in idx],
    }, schema=SIG_SCHEMA)


def paragraph_hashes(batch: pa.RecordBatch, cfg: ParagraphConfig) -> pa.RecordBatch:
    """One row per line of at least ``min_chars`` characters: its index, normalized hash and length."""
    keys, idxs, lines = [], [], []
    for key, text in zip(batch.column(KEY).to_pylist(), batch.column(S.TEXT).to_pylist()):
        for i, line in enumerate((text or "").split("\n")):
            if len(line.strip()) >= cfg.min_chars:
                keys.append(key)
                idxs.append(i)
                lines.append(line)
    hashes = content_hashes(normalize_for_hash(pa.array(lines, pa.string()), cfg.normalize))
    return pa.RecordBatch.from_pydict({KEY: keys, "idx": idxs, "hash": hashes, "chars": [len(x) for x in lines]},
                                      schema=PARA_SCHEMA)


def remove_paragraphs(batch: pa.RecordBatch, max_share: float) -> pa.RecordBatch:
    """Cut the flagged lines (``remove_idx``) out of each text; above ``max_share`` of the characters, drop the
    document instead (its text left whole, so nothing is lost)."""
    rows = batch.to_pylist()
    for r in rows:
        idxs = set(r.pop("remove_idx") or [])
        if not idxs:
            continue
        lines = r[S.TEXT].split("\n")
        kept = [ln for i, ln in enumerate(lines) if i not in idxs]
        removed = sum(len(lines[i]) for i in idxs)
        share = removed / max(1, len(r[S.TEXT]))
        if share > max_share:
            r[S.DROP_REASON] = "duplicate_paragraphs"
            r[S.DROP_DETAIL] = (f"{len(idxs)} repeated paragraphs = {share:.0%} of the characters > "
                                f"paragraphs.max_removed_share {max_share:.0%}")
        else:
            r[S.TEXT] = "\n".join(kept)
            r[S.N_CHARS] = len(r[S.TEXT])
            r[S.META] = list(r[S.META] or []) + [("paragraphs_removed", f"{len(idxs)} lines, {removed} chars")]
    schema = batch.schema.remove(batch.schema.get_field_index("remove_idx"))
    return pa.RecordBatch.from_pylist(rows, schema=schema)
