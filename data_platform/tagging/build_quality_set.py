"""python -m data_platform.tagging.build_quality_set [--out models/quality/labelled.parquet]

Builds the labelled set the shipped quality head is trained on, from the bundled sample corpus. The labels are
heuristic, not human judgements: a passage of real documentation prose (trafilatura-extracted from the Debian
pages in English, German, French, Spanish and Italian, or a ``clean_control`` synthetic document) is degraded by
replacing a random share of its sentences with junk lines (lines of the synthetic low-quality documents: spam,
keyword stuffing, digit tables, base64, menus, symbol soup, plus navigation and cookie-banner boilerplate);
score = 5 x the share of characters that are still the original prose. So 5 = clean prose, 0 = only junk. It
measures "how much of this is prose rather than web junk", not educational value as fineweb-edu's annotators did.
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "data" / "sample"
LANGS = ("en", "de", "fr", "es", "it")
SHARES = (1.0, 0.8, 0.6, 0.4, 0.2, 0.0)
EXTRA_JUNK = [
    "Home | About | Products | Blog | Contact | Login | Register",
    "This website uses cookies to improve your experience. Accept all | Reject | Cookie settings",
    "Click here to subscribe to our newsletter and never miss a deal!",
    "Share on Facebook | Tweet | Pin it | Email this page | Print",
    "Copyright 2024. All rights reserved. Privacy policy | Terms of use | Sitemap",
    "Related posts: 10 tips you won't believe | Top 5 gadgets of the year | Click to read more",
]
_SENTENCE = re.compile(r"(?<=[.!?:;])\s+|\n+")


def junk_lines() -> list[str]:
    """Non-blank lines of the synthetic low-quality documents, plus web boilerplate."""
    lines = list(EXTRA_JUNK)
    for line in (SAMPLE / "synthetic.jsonl").open(encoding="utf-8"):
        doc = json.loads(line)
        if doc["meta"].get("synthetic_kind") != "clean_control":
            lines += [x.strip()[:300] for x in doc["text"].splitlines() if x.strip()]
    return sorted(set(lines))


def passages(chars: int = 900, per_page: int = 2) -> list[tuple[str, str]]:
    """(id, passage) from the sample pages in LANGS and the clean synthetic documents, cut at sentence ends."""
    from data_platform.config import ExtractConfig
    from data_platform.extract import extract_html

    out = []
    with gzip.open(SAMPLE / "pages.jsonl.gz", "rt", encoding="utf-8") as f:
        pages = [json.loads(x) for x in f]
    for page in pages:
        if page["lang"] not in LANGS:
            continue
        text = extract_html(page["html"], page["url"], ExtractConfig(), 30.0).text or ""
        out += [(f"{page['id']}#{i}", p) for i, p in enumerate(_chunks(text, chars)[:per_page])]
    for line in (SAMPLE / "synthetic.jsonl").open(encoding="utf-8"):
        doc = json.loads(line)
        if doc["meta"].get("synthetic_kind") == "clean_control":
            out += [(f"{doc['id']}#{i}", p) for i, p in enumerate(_chunks(doc["text"], chars)[:per_page])]
    return out


def _chunks(text: str, chars: int) -> list[str]:
    """Consecutive runs of whole sentences of about ``chars`` characters (shorter leftovers dropped)."""
    chunks, cur = [], ""
    for sentence in (s.strip() for s in _SENTENCE.split(text)):
        if sentence:
            cur = f"{cur} {sentence}".strip()
            if len(cur) >= chars:
                chunks.append(cur)
                cur = ""
    return chunks


def degrade(passage: str, share: float, junk: list[str], rng: np.random.Generator) -> tuple[str, float]:
    """Replace about ``1 - share`` of the sentences with junk lines; score = 5 x surviving prose characters."""
    units = [s for s in _SENTENCE.split(passage) if s.strip()]
    n_replace = int(round((1 - share) * len(units)))
    replaced = set(rng.choice(len(units), size=n_replace, replace=False).tolist()) if n_replace else set()
    out = [junk[rng.integers(len(junk))] if i in replaced else u for i, u in enumerate(units)]
    prose = sum(len(u) for i, u in enumerate(units) if i not in replaced)
    total = sum(len(u) for u in out)
    return "\n".join(out), round(5.0 * prose / max(total, 1), 2)


def build(seed: int = 0, levels_per_passage: int = 3, test_share: float = 0.25) -> list[dict]:
    """Rows (id, text, score, split): a few degradation levels per passage; the split is by passage."""
    rng = np.random.default_rng(seed)
    junk = junk_lines()
    rows = []
    for pid, passage in passages():
        split = "test" if rng.random() < test_share else "train"
        for share in rng.choice(SHARES, size=levels_per_passage, replace=False):
            text, score = degrade(passage, float(share), junk, rng)
            rows.append({"id": f"{pid}@{share:.1f}", "text": text, "score": score, "split": split})
    return rows


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m data_platform.tagging.build_quality_set",
                                description="Build the heuristic labelled set for the quality head from data/sample.",
                                formatter_class=argparse.RawDescriptionHelpFormatter, epilog="""\
example (dp-build-quality-set is the same command as python -m data_platform.tagging.build_quality_set):
  dp-build-quality-set --out models/quality/labelled.parquet""")
    p.add_argument("--out", default=str(REPO / "models" / "quality" / "labelled.parquet"))
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(sys.argv[1:] if argv is None else argv)
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = build(args.seed)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(rows), args.out, compression="zstd")
    splits = {s: sum(r["split"] == s for r in rows) for s in ("train", "test")}
    print(f"{len(rows)} labelled texts ({splits['train']} train, {splits['test']} test): {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
