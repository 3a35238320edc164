"""The document schema shared by every job, and the names of its columns.

A document is one row: ``id, text, url, source, lang, meta`` (``meta`` is a string map: title, date, licence,
anything a reader knows). Jobs append columns; the funnel adds ``drop_reason``, ``drop_detail`` and ``rules``
(one struct per rule: its name, value, bounds, verdict). Every row that enters a job leaves it, kept or dropped.
"""

from __future__ import annotations

from typing import Sequence

import pyarrow as pa

ID, TEXT, URL, SOURCE, LANG, META = "id", "text", "url", "source", "lang", "meta"
HTML = "html"
DROP_REASON, DROP_DETAIL, RULES = "drop_reason", "drop_detail", "rules"
TEXT_BEFORE = "text_before_normalize"
N_CHARS = "n_chars"

# Drop reasons, in the order a document meets them (the order of every funnel table and report). The filter
# decides PRE_RULE_REASONS first (in this order), then its rules (named in the rule file's ``order``); dedup and
# semantic dedup follow.
PRE_RULE_REASONS = ("malformed_record", "url_blocked", "too_long", "extract_failed", "binary_content", "empty_text",
                    "too_little_text", "contaminated")
DUPLICATE_EXACT, DUPLICATE_MINHASH = "duplicate_exact", "duplicate_minhash"
DUPLICATE_PARAGRAPHS, DUPLICATE_SENTENCES = "duplicate_paragraphs", "duplicate_sentences"
DUPLICATE_SEMANTIC = "duplicate_semantic"
REASONS_BY_STAGE: dict[str, tuple[str, ...]] = {  # pipeline stage kind -> the reasons it decides, in order
    "filter": PRE_RULE_REASONS,
    "dedup": (DUPLICATE_EXACT, DUPLICATE_MINHASH, DUPLICATE_PARAGRAPHS, DUPLICATE_SENTENCES),
    "semantic": (DUPLICATE_SEMANTIC,),
    "tag": (),
}


def drop_reason_order(through: str, rules: Sequence[str] = ()) -> list[str]:
    """The reasons of the stage kinds up to ``through`` in pipeline order, the filter's ``rules`` after its
    pre-rule reasons. A funnel lists these first; other reasons found in the data follow by name."""
    order: list[str] = []
    for kind, reasons in REASONS_BY_STAGE.items():
        order += [*reasons, *rules] if kind == "filter" else reasons
        if kind == through:
            return order
    raise KeyError(f"no stage kind {through!r}; known: {', '.join(REASONS_BY_STAGE)}")

META_TYPE = pa.map_(pa.string(), pa.string())

DOC_FIELDS: list[pa.Field] = [
    pa.field(ID, pa.string()),
    pa.field(TEXT, pa.string()),
    pa.field(URL, pa.string()),
    pa.field(SOURCE, pa.string()),
    pa.field(LANG, pa.string()),
    pa.field(META, META_TYPE),
]
DOC_SCHEMA = pa.schema(DOC_FIELDS)

# What readers emit: a document plus the raw HTML (null when the record already holds text) and a quarantine
# reason set by the reader itself (malformed JSON, invalid UTF-8, truncated WARC record ...).
RAW_SCHEMA = pa.schema(
    DOC_FIELDS + [pa.field(HTML, pa.string()), pa.field(DROP_REASON, pa.string()), pa.field(DROP_DETAIL, pa.string())]
)

RULE_RESULT_TYPE = pa.struct(
    [
        pa.field("name", pa.string()),
        pa.field("value", pa.float64()),
        pa.field("min", pa.float64()),
        pa.field("max", pa.float64()),
        pa.field("passed", pa.bool_()),
        pa.field("enforced", pa.bool_()),
        pa.field("detail", pa.string()),
    ]
)

OUTPUT_SCHEMA = pa.schema(
    DOC_FIELDS
    + [
        pa.field(N_CHARS, pa.int64()),
        pa.field(DROP_REASON, pa.string()),
        pa.field(DROP_DETAIL, pa.string()),
        pa.field(RULES, pa.list_(RULE_RESULT_TYPE)),
    ]
)


def output_schema(keep_text_before: bool) -> pa.Schema:
    """The funnel's output schema, with the pre-normalization text column when asked for."""
    return OUTPUT_SCHEMA.append(pa.field(TEXT_BEFORE, pa.string())) if keep_text_before else OUTPUT_SCHEMA
