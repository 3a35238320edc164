"""The real-data token folder of ``bench/train_gpu.py``: every man page of the dev corpus's sources, packed.

The man-page packages of ``scripts/build_dev_corpus.py``'s sources (``manpages`` and ``manpages-*``, ~25 languages,
the development sections 2 and 3 too; none of the text ``data/sample`` uses) through its collection: download and
``dpkg -x`` with provenance, groff rendering cached per package, one page or one ~10,000-character section of a
long page per document, exact duplicates within a language dropped; no noise. Then one parquet
(``id, text, lang, source``), a 32,768-token byte-level BPE trained on it (``trainer.tokenizer``) and the packing
by language (``trainer.pack``), with ``packages.json`` (name, version, licence, documents) beside them. Documents
keep their real lengths, which is what document masking's speed depends on.

    python bench/train_tokens.py --out out/bench_tokens          # ~5 minutes on 2 cores with the packages cached
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from collections import Counter
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))
import build_dev_corpus as dc  # noqa: E402  (scripts/ is not a package)
from debian_text import fetch_packages  # noqa: E402

from trainer import tokenizer as T  # noqa: E402
from trainer.pack import pack  # noqa: E402


def man_pages(cache: Path) -> tuple[list[dict], dict]:
    """The clean man-page documents of the dev corpus's sources, and their packages."""
    cfg = dc.load_config(dc.DEFAULT_CONFIG)
    corpus, _ = dc.split_sources(cfg.heldout.families)
    srcs = [s for s in corpus if s.family == "manpages"]
    pkgs = fetch_packages(sorted({s.package for s in srcs}), cache, dc.LICENCES)
    return dc.collect(srcs, pkgs, cfg, cache, None, "bench"), pkgs


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, default=ROOT / "out" / "bench_tokens")
    p.add_argument("--cache", type=Path, default=dc.DEFAULT_CACHE, help="packages and extracted texts")
    p.add_argument("--vocab-size", type=int, default=32768)
    args = p.parse_args(argv)
    docs, pkgs = man_pages(args.cache)
    args.out.mkdir(parents=True, exist_ok=True)
    table = pa.table({k: [d[k] for d in docs] for k in ("id", "text", "lang", "source")})
    pq.write_table(table, args.out / "docs.parquet", compression="zstd")
    tok = T.build((d["text"] for d in docs), args.vocab_size)
    tok.save(str(args.out / "tokenizer.json"))
    index = pack([str(args.out / "docs.parquet")], str(args.out / "tokenizer.json"), args.out / "tokens",
                 channel="lang", heldout_docs=20, workers=1)
    used = Counter(d["meta"]["package"] for d in docs)
    (args.out / "packages.json").write_text(json.dumps(
        [{"name": n, "version": pkgs[n].version, "licence": pkgs[n].licence, "documents": used[n]}
         for n in sorted(used)], indent=1) + "\n")
    lengths = [len(d["text"]) for d in docs]
    tokens = sum(c[s]["tokens"] for c in index["channels"].values() for s in ("train", "heldout"))
    print(f"{len(docs)} documents from {len(used)} packages, {sum(lengths):,} characters (median document "
          f"{statistics.median(lengths):,.0f}), {tokens:,} tokens in {len(index['channels'])} languages "
          f"-> {args.out / 'tokens'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
