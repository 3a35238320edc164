"""Tokenize parquet shards once per data version: one token stream per channel and split, EOS after every document.

A channel is a column, a key of ``meta`` or several joined with ``+`` (``trainer.channel``).

Layout of the output folder::

    train/<channel>/<shard>.npy     uint16 (uint32 for vocabularies over 65,536) token streams
    heldout/<channel>/<shard>.npy   the held-out documents (``heldout_docs`` per channel, chosen by id hash)
    index.json                      channels, documents and tokens per split, tokenizer, inputs
    _COMPLETE                       written last; the trainer reads only complete folders

Files are tokenized in parallel (one process per file). Streams are cut into fixed-length sequences when read
(``trainer.data``), so one packing serves every sequence length. Every input row is counted in exactly one split.

    python -m trainer.pack --inputs out/filter/kept --tokenizer tok/tokenizer.json --out tokens/v1
"""

from __future__ import annotations

import argparse
import hashlib
import heapq
import json
import os
import re
import shutil
import sys
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from itertools import groupby
from multiprocessing import get_context
from pathlib import Path

import numpy as np

from trainer.channel import CHANNEL, NONE, parse, read_channels
from trainer.inputs import InputError, read_columns, resolve, stable_hash
from trainer.tokenizer import SpecialTokens

INDEX, COMPLETE = "index.json", "_COMPLETE"
SPLITS = ("train", "heldout")
DEFAULT_SPECIALS = SpecialTokens()
VERSION = 2  # 2: special_ids by role (eos, pad, bos), the tokenizer's names in special_tokens


class PackError(ValueError):
    """The token folder cannot be used or written as asked."""


def channel_dir(name: str) -> str:
    """A folder name for a channel (sources may hold '/'), unique through a short hash of the name."""
    return f"{re.sub(r'[^A-Za-z0-9._-]+', '_', name)[:60]}-{hashlib.blake2b(name.encode(), digest_size=4).hexdigest()}"


def pick_heldout(files: list[Path], channel: str, per_channel: int,
                 exclude: frozenset[str] = frozenset()) -> dict[str, set[str]]:
    """Ids held out per channel (a ``trainer.channel`` spec): the ``per_channel`` smallest id hashes, at most
    half of the channel's docs (excluded ids are never picked)."""
    heaps: dict[str, list[tuple[int, str]]] = {}
    counts: dict[str, int] = {}
    if per_channel == 0:
        return {}
    for path in files:
        for batch in read_channels(path, channel, ["id"]):
            for doc_id, key in zip(batch["id"], batch[CHANNEL], strict=True):
                if str(doc_id) in exclude:
                    continue
                counts[key] = counts.get(key, 0) + 1
                heap = heaps.setdefault(key, [])
                item = (-stable_hash(str(doc_id)), str(doc_id))
                if len(heap) < per_channel:
                    heapq.heappush(heap, item)
                elif item[0] > heap[0][0]:
                    heapq.heapreplace(heap, item)
    return {k: {i for _, i in sorted(h, reverse=True)[: min(per_channel, counts[k] // 2)]} for k, h in heaps.items()}


def _worker_init(single_thread: bool) -> None:
    if single_thread:  # one tokenizer thread per process when processes already use every core
        os.environ["RAYON_RS_NUM_CPUS"] = "1"


def groups_file(rel: str) -> str:
    """The file of a stream's group spans: ``[start, stop)`` token offsets of each group's documents."""
    return rel.removesuffix(".npy") + ".groups.npy"


def _groups_of(path: Path, group: str | None) -> dict[str, str]:
    """Document id -> its group (``group`` spec, as a channel's); documents without one are in none."""
    if group is None:
        return {}
    out: dict[str, str] = {}
    for batch in read_channels(path, group, ["id"]):
        out.update((str(i), g) for i, g in zip(batch["id"], batch[CHANNEL], strict=True) if g != NONE)
    return out


def _group_spans(parts: list[tuple[str, np.ndarray]]) -> np.ndarray:
    """``[start, stop)`` token offsets of each run of documents of one group (``parts`` sorted by group; documents
    without a group, key "", have no span)."""
    spans, pos = [], 0
    for key, run in groupby(parts, key=lambda part: part[0]):
        size = sum(a.size for _, a in run)
        if key:
            spans.append([pos, pos + size])
        pos += size
    return np.array(spans, dtype=np.int64).reshape(-1, 2)


def pack_shard(path: Path, shard: int, tokenizer_path: str, channel: str, heldout: dict[str, set[str]],
               out: Path, eos: int, exclude: frozenset[str] = frozenset(), group: str | None = None) -> dict:
    """Tokenize one parquet file into per-(split, channel) streams, the ``eos`` id after every document, leaving out
    the ``exclude`` ids; with ``group``, a group's documents are written one after another (in input order) and
    their token span goes to ``groups_file``. Return documents and tokens per stream and
    the number of rows excluded."""
    from trainer.tokenizer import load

    tok = load(tokenizer_path)
    dtype = np.uint16 if tok.get_vocab_size() <= 1 << 16 else np.uint32
    group_of = _groups_of(path, group)
    streams: dict[tuple[str, str], list[tuple[str, np.ndarray]]] = {}
    rows = excluded = 0
    for batch in read_channels(path, channel, ["id", "text"]):
        rows += len(batch["id"])
        keep = [i for i, doc_id in enumerate(batch["id"]) if str(doc_id) not in exclude]
        excluded += len(batch["id"]) - len(keep)
        texts = [batch["text"][i] or "" for i in keep]
        encoded = tok.encode_batch(texts, add_special_tokens=False)
        ids, keys = (batch["id"][i] for i in keep), (batch[CHANNEL][i] for i in keep)
        for doc_id, key, enc in zip(ids, keys, encoded, strict=True):
            split = "heldout" if str(doc_id) in heldout.get(key, ()) else "train"
            streams.setdefault((split, key), []).append((group_of.get(str(doc_id), ""),
                                                         np.array(enc.ids + [eos], dtype=dtype)))
    stats: dict = {"rows": rows, "excluded": excluded, "streams": []}
    for (split, key), parts in sorted(streams.items()):
        rel = f"{split}/{channel_dir(key)}/{shard:05d}.npy"
        (out / rel).parent.mkdir(parents=True, exist_ok=True)
        if group is not None:
            parts.sort(key=lambda part: part[0])  # stable: documents without a group first, then each group's
            np.save(out / groups_file(rel), _group_spans(parts))
        tokens = np.concatenate([a for _, a in parts])
        np.save(out / rel, tokens)
        stats["streams"].append({"split": split, "channel": key, "file": rel, "docs": len(parts),
                                 "tokens": int(tokens.size)})
    return stats


def fingerprint(files: list[Path], tokenizer_path: str, channel: str, heldout_docs: int, specials: SpecialTokens,
                exclude: frozenset[str] = frozenset(), group: str | None = None) -> dict:
    """What a packing depends on; a complete folder with another fingerprint is a different data version."""
    tok_sha = hashlib.sha256(Path(tokenizer_path).read_bytes()).hexdigest()
    fp = {"inputs": [[str(p), p.stat().st_size] for p in files], "tokenizer_sha256": tok_sha,
          "channel": channel, "heldout_docs": heldout_docs,
          "special_tokens": [specials.eos, specials.pad, specials.bos], "group": group}
    if exclude:
        fp["exclude_sha256"] = hashlib.sha256("\n".join(sorted(exclude)).encode("utf-8")).hexdigest()
    return fp


def read_ids(inputs: list[str]) -> frozenset[str]:
    """The document ids of parquet inputs (e.g. an evaluation set to keep out of training)."""
    return frozenset(str(i) for path in resolve(inputs) for batch in read_columns(path, ["id"]) for i in batch["id"])


def pack(inputs: list[str], tokenizer_path: str, out: str | Path, *, channel: str = "source",
         heldout_docs: int = 200, workers: int = 0, overwrite: bool = False, exclude: Sequence[str] = (),
         specials: SpecialTokens = DEFAULT_SPECIALS, group: str | None = None) -> dict:
    """Pack the inputs into ``out`` (reusing a complete folder packed from the same inputs); return the index.
    Documents whose ids appear in the ``exclude`` inputs are left out (counted as ``excluded``); ``specials`` name
    the tokenizer's end (written after every document), pad and begin tokens; ``group`` (a column or meta key, as
    a channel spec) keeps each group's documents (a repository's files, a book's chapters) together in the streams,
    so the sampler can keep them in one global batch."""
    from trainer.tokenizer import load

    out = Path(out)
    parse(channel)
    if group is not None:
        parse(group)
    files = resolve(inputs)
    tok = load(tokenizer_path)
    ids = specials.ids(tok, tokenizer_path)
    skip = read_ids(list(exclude)) if exclude else frozenset()
    fp = fingerprint(files, tokenizer_path, channel, heldout_docs, specials, skip, group)
    if (out / COMPLETE).exists() and not overwrite:
        index = json.loads((out / INDEX).read_text())
        if index.get("version") != VERSION or index["fingerprint"] != fp:
            raise PackError(f"{out} was packed from other inputs or another tokenizer; "
                            "choose a new folder or pass --overwrite")
        return index
    for name in (*SPLITS, INDEX, COMPLETE):
        shutil.rmtree(out / name, ignore_errors=True) if (out / name).is_dir() else (out / name).unlink(True)
    out.mkdir(parents=True, exist_ok=True)
    heldout = pick_heldout(files, channel, heldout_docs, skip)
    jobs = [(p, i, tokenizer_path, channel, heldout, out, ids["eos"], skip, group) for i, p in enumerate(files)]
    workers = min(workers or os.cpu_count() or 1, len(files))
    if workers > 1:
        with ProcessPoolExecutor(workers, mp_context=get_context("spawn"), initializer=_worker_init,
                                 initargs=(True,)) as pool:
            results = list(pool.map(pack_shard, *zip(*jobs, strict=True)))
    else:
        results = [pack_shard(*job) for job in jobs]
    index = _index(results, fp, tok.get_vocab_size(), ids, specials)
    (out / INDEX).write_text(json.dumps(index, indent=1, sort_keys=True) + "\n")
    (out / COMPLETE).write_text(json.dumps({"rows": index["rows"]}) + "\n")
    return index


def _index(results: list[dict], fp: dict, vocab_size: int, ids: dict[str, int],
           specials: SpecialTokens) -> dict:
    channels: dict[str, dict] = {}
    for res in results:
        for s in res["streams"]:
            entry = channels.setdefault(s["channel"], {k: {"docs": 0, "tokens": 0, "files": []} for k in SPLITS})
            split = entry[s["split"]]
            split["docs"] += s["docs"]
            split["tokens"] += s["tokens"]
            split["files"].append([s["file"], s["tokens"]])
    rows = sum(r["rows"] for r in results)
    excluded = sum(r["excluded"] for r in results)
    docs = sum(c[s]["docs"] for c in channels.values() for s in SPLITS)
    if docs + excluded != rows:  # accounting: every input row is in exactly one split, or excluded
        raise PackError(f"accounting failed: {rows} rows read, {docs} documents packed, {excluded} excluded")
    names = {role: getattr(specials, role) for role in ids}
    return {"version": VERSION, "rows": rows, "excluded": excluded, "vocab_size": vocab_size, "special_ids": ids,
            "special_tokens": names, "group": fp["group"],
            "dtype": "uint16" if vocab_size <= 1 << 16 else "uint32", "channels": channels, "fingerprint": fp}


EXAMPLES = """examples (dp-pack is the same command as python -m trainer.pack):
  dp-pack --inputs out/filter/kept --tokenizer out/tokenizer/tokenizer.json --out out/tokens/v1
  dp-pack --inputs out/pipeline/manifest.json --tokenizer out/tokenizer/tokenizer.json --out out/tokens/v2 \\
      --channel lang+domain
"""


def main(argv: list[str] | None = None) -> int:
    from data_platform.cli import error

    p = argparse.ArgumentParser(prog="python -m trainer.pack", description=__doc__.splitlines()[0],
                                epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--inputs", nargs="+", required=True, help="parquet files, folders, globs or manifest.json")
    p.add_argument("--tokenizer", required=True, help="tokenizer.json")
    p.add_argument("--out", required=True, help="token folder")
    p.add_argument("--channel", default="source",
                   help="column (or meta key) naming a document's channel; several joined with '+', e.g. lang+domain")
    p.add_argument("--heldout-docs", type=int, default=200, help="held-out documents per channel")
    p.add_argument("--workers", type=int, default=0, help="processes (default: one per CPU)")
    p.add_argument("--overwrite", action="store_true", help="repack a complete folder")
    p.add_argument("--exclude", nargs="+", default=[], help="parquet inputs whose document ids are left out")
    p.add_argument("--group", default=None, help="column (or meta key) grouping documents to keep together, e.g. "
                                                  "repo (a repository's files in one global batch)")
    p.add_argument("--eos-token", default=SpecialTokens.eos,
                   help="the tokenizer's end-of-document token (a Llama-3 tokenizer.json: <|end_of_text|>)")
    p.add_argument("--pad-token", default=SpecialTokens.pad, help="its padding token ('' for none: the end token)")
    p.add_argument("--bos-token", default=SpecialTokens.bos, help="its begin token ('' for none)")
    args = p.parse_args(argv)
    try:
        index = pack(args.inputs, args.tokenizer, args.out, channel=args.channel, heldout_docs=args.heldout_docs,
                     workers=args.workers, overwrite=args.overwrite, exclude=args.exclude,
                     specials=SpecialTokens(args.eos_token, args.pad_token or None, args.bos_token or None),
                     group=args.group)
    except (InputError, PackError, OSError) as err:
        return error(err)
    for name, c in sorted(index["channels"].items()):
        print(f"{name}: train {c['train']['docs']} docs / {c['train']['tokens']:,} tokens, "
              f"heldout {c['heldout']['docs']} docs / {c['heldout']['tokens']:,} tokens")
    print(f"{index['rows']} documents packed -> {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
