"""Mixture channels: the name of the token stream a document is packed into, read from its parquet row.

A channel spec is one column name or several joined with ``+`` (``lang+domain``). Each name is a top-level
column of the input file or, when the file has no such column, a key of its ``meta`` map. Values become strings
(an int ``quality_bucket`` of 17 gives ``17``); a combination joins them with ``+`` (``en+code``); a null, empty
or absent value is ``none``. A name that is neither a column of a file nor a meta key of any of its rows is an
error naming the column and the file.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from trainer.inputs import InputError, read_batches

SEP, NONE, META = "+", "none", "meta"
CHANNEL = "_channel"  # where ``read_channels`` puts each row's channel name


def parse(spec: str) -> list[str]:
    """The column names of a spec: ``lang+domain`` -> ``['lang', 'domain']``."""
    names = spec.split(SEP)
    if not all(names) or any(n != n.strip() for n in names):
        raise InputError(f"channel {spec!r}: a column name, or several joined with '+' (e.g. lang+domain)")
    return names


def as_keys(mapping: Any) -> Any:
    """A mapping keyed by channel names (strings): YAML reads ``{19: 3}`` with an int key."""
    return {str(k): v for k, v in mapping.items()} if isinstance(mapping, dict) else mapping


def read_channels(path: Path, spec: str, columns: list[str], batch_rows: int = 4096) -> Iterator[dict[str, list]]:
    """Batches of ``columns`` as Python lists, with every row's channel name under ``CHANNEL``."""
    names = parse(spec)
    schema = pq.read_schema(path)
    from_meta = [n for n in names if n not in schema.names]
    if from_meta and (META not in schema.names or not pa.types.is_map(schema.field(META).type)):
        raise _missing(path, from_meta[0], schema.names)
    wanted = list(dict.fromkeys([*columns, *(n for n in names if n not in from_meta), *([META] if from_meta else [])]))
    rows, found = 0, set[str]()
    for batch in read_batches(path, wanted, batch_rows):
        values = {n: pc.map_lookup(batch.column(META), pa.scalar(n), "first") if n in from_meta else batch.column(n)
                  for n in names}
        found |= {n for n in from_meta if values[n].null_count < len(values[n])}
        rows += batch.num_rows
        text = zip(*(_strings(path, n, values[n]) for n in names), strict=True)
        yield {**{c: batch.column(c).to_pylist() for c in columns}, CHANNEL: [SEP.join(v) for v in text]}
    absent = [n for n in from_meta if n not in found]
    if rows and absent:
        raise _missing(path, absent[0], schema.names)


def _strings(path: Path, name: str, values: pa.Array) -> list[str]:
    """A channel column's values as strings, ``none`` where null or empty."""
    try:
        text = pc.cast(values, pa.string())
    except pa.ArrowNotImplementedError:
        raise InputError(f"{path}: channel column {name!r} is {values.type}, not one value per document") from None
    return [v or NONE for v in text.to_pylist()]


def _missing(path: Path, name: str, columns: list[str]) -> InputError:
    return InputError(f"{path}: channel column {name!r} is neither a column nor a key of {META} "
                      f"(columns: {', '.join(columns)})")
