#!/usr/bin/env python3
"""Carry several data versions of one corpus to a GPU machine in one small file, and unpack them there.

    python scripts/ablation_bundle.py pack --version raw=out/pipeline/dev_raw/manifest.json \\
        --version cleaned=out/pipeline/dev/manifest.json --version heldout=out/dev_corpus/heldout.jsonl.gz \\
        --halves cleaned --out .carry/dev.jsonl.xz
    python scripts/ablation_bundle.py unpack .carry/dev.jsonl.xz --out out/bundle     # -> out/bundle/<version>/

Versions of one corpus share most of their text (a cleaned document is its raw document, or that minus a few
lines; near duplicates sit beside their originals), and a per-file compressor sees none of that across files. The
bundle is one JSON Lines stream, one line per distinct (id, text, lang, source) with the versions that hold it,
sorted by id so the variants and copies of a document are neighbours, then xz-compressed with a 192 MiB window
(Python's lzma, no extra package on the GPU machine): every repeat costs a back-reference. ``--halves V`` adds the
versions ``V_half_a`` and ``V_half_b`` (V split by a stable hash of the id: the negative control) at no size.
``unpack`` writes ``<out>/<version>/part-00000.parquet`` (``id``, ``text``, ``lang``, ``source``) per version.
Inputs are what the trainer reads (parquet files, folders, a ``manifest.json``) or gzip JSON Lines.
"""

from __future__ import annotations

import argparse
import json
import lzma
import sys
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))
from trainer.inputs import read_columns, read_jsonl_gz, resolve, stable_hash  # noqa: E402

COLUMNS = ["id", "text", "lang", "source"]
# xz's largest preset with a larger dictionary: a document's copies may be far apart in a big corpus's id order
FILTERS = [{"id": lzma.FILTER_LZMA2, "preset": 9 | lzma.PRESET_EXTREME, "dict_size": 192 << 20}]


def rows(item: str) -> Iterator[tuple[str, str, str, str]]:
    """(id, text, lang, source) of every document an input names."""
    if item.endswith(".jsonl.gz"):
        for r in read_jsonl_gz(Path(item)):
            yield str(r["id"]), r["text"], r.get("lang") or "", r.get("source") or ""
        return
    for path in resolve([item]):
        for batch in read_columns(path, COLUMNS):
            yield from zip(*(batch[c] for c in COLUMNS), strict=True)


def half(doc_id: str) -> str:
    """``a`` or ``b``: the random half a document falls in (the parity of a stable hash of its id)."""
    return "ab"[stable_hash(doc_id) % 2]


def write_version(columns: dict[str, list], folder: Path) -> None:
    """``folder/part-00000.parquet`` with ``columns`` (an old file there is replaced)."""
    folder.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.table(columns), folder / "part-00000.parquet", compression="zstd")


def pack(versions: dict[str, str], halves: list[str], out: Path) -> dict[str, int]:
    """Write the bundle; returns the documents per version."""
    unknown = sorted(set(halves) - set(versions))
    if unknown:
        raise ValueError(f"--halves {unknown[0]}: not a --version")
    holders: dict[tuple[str, str, str, str], list[str]] = {}
    counts: dict[str, int] = {}
    for name, item in versions.items():
        for row in rows(item):
            names = [name]
            if name in halves:
                names.append(f"{name}_half_{half(row[0])}")
            holders.setdefault(row, []).extend(names)
            for n in names:
                counts[n] = counts.get(n, 0) + 1
    out.parent.mkdir(parents=True, exist_ok=True)
    with lzma.open(out, "wt", encoding="utf-8", format=lzma.FORMAT_XZ, filters=FILTERS) as f:
        for row in sorted(holders):
            f.write(json.dumps({**dict(zip(COLUMNS, row, strict=True)), "versions": holders[row]},
                               ensure_ascii=False) + "\n")
    return counts


def unpack(bundle: Path, out: Path) -> dict[str, int]:
    """Write every version's parquet folder under ``out``; returns the documents per version."""
    tables: dict[str, dict[str, list[str]]] = {}
    with lzma.open(bundle, "rt", encoding="utf-8") as f:
        for line in f:
            r = json.loads(line)
            for name in r["versions"]:
                table = tables.setdefault(name, {c: [] for c in COLUMNS})
                for c in COLUMNS:
                    table[c].append(r[c])
    for name, table in tables.items():
        write_version(table, out / name)
    return {name: len(t["id"]) for name, t in tables.items()}


def _version(item: str) -> tuple[str, str]:
    name, sep, path = item.partition("=")
    if not sep or not name or not path:
        raise argparse.ArgumentTypeError(f"{item!r}: expected NAME=INPUT")
    return name, path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("pack", help="several versions -> one .jsonl.xz")
    p.add_argument("--version", type=_version, action="append", required=True, metavar="NAME=INPUT")
    p.add_argument("--halves", action="append", default=[], metavar="NAME", help="also split this version in two")
    p.add_argument("--out", type=Path, required=True, help="the bundle file (.jsonl.xz)")
    u = sub.add_parser("unpack", help="a bundle -> one parquet folder per version")
    u.add_argument("bundle", type=Path)
    u.add_argument("--out", type=Path, required=True, help="folder of the versions")
    args = parser.parse_args(argv)
    try:
        if args.command == "pack":
            counts = pack(dict(args.version), args.halves, args.out)
            size = f", {args.out.stat().st_size / 1e6:.1f} MB"
        else:
            counts, size = unpack(args.bundle, args.out), ""
    except (ValueError, OSError, lzma.LZMAError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(", ".join(f"{n} {c:,}" for n, c in sorted(counts.items())) + f" documents{size}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
