"""Benchmark decontamination: training documents sharing long n-grams with evaluation items.

Evaluation sets are read once on the driver (a folder of ``.jsonl`` records with question/answer/text fields, or
``.txt`` files with one item per line) into a map from n-gram hash to item ids; the map travels with the rule
set (a broadcast), and every document's n-grams are looked up in it.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from data_platform.text import CJK_CHARS_EXTENDED

# words, with every CJK character its own token (no spaces to split on); a word run never takes CJK characters in
# (so "時々" is two tokens and "abc東京" three), as KenLM's tokens (models/lm_text.py)
_TOKEN = re.compile(rf"[{CJK_CHARS_EXTENDED}]|[^\W_{CJK_CHARS_EXTENDED}]+", re.UNICODE)
_ITEM_FIELDS = ("question", "prompt", "problem", "context", "text", "choices", "options", "answer", "solution")


class DecontamConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    enabled: bool = False
    eval_dir: str | None = Field(None, description="folder of evaluation sets, relative to the rule file")
    ngram: int = Field(13, ge=5, le=50, description="n-gram length in tokens (GPT-3 used 13)")
    min_item_tokens: int = Field(8, ge=1, description="items shorter than this are ignored; shorter than n = one gram")
    action: Literal["drop", "flag"] = "drop"


def tokens(text: str) -> list[str]:
    return _TOKEN.findall(text.lower())


def _hash(gram: list[str]) -> int:
    return int.from_bytes(hashlib.blake2b(" ".join(gram).encode(), digest_size=8).digest(), "little")


@dataclass(frozen=True)
class EvalIndex:
    """n-gram hash -> ids of the evaluation items containing it; ``sizes``: the gram lengths indexed (n, plus
    the lengths of items shorter than n, which are indexed whole)."""

    grams: dict[int, tuple[str, ...]]
    sizes: tuple[int, ...]
    items: int


def _items(path: Path) -> list[tuple[str, str]]:
    """(item id, text) for every item of one evaluation file."""
    if path.suffix == ".jsonl":
        out = []
        for i, line in enumerate(path.read_text(encoding="utf-8").splitlines()):
            if line.strip():
                rec = json.loads(line)
                parts = [rec[k] if isinstance(rec[k], str) else " ".join(map(str, rec[k]))
                         for k in _ITEM_FIELDS if k in rec and rec[k]]
                out.append((f"{path.stem}/{rec.get('id', i)}", " ".join(parts)))
        return out
    lines = path.read_text(encoding="utf-8").splitlines()
    return [(f"{path.stem}/{i}", line) for i, line in enumerate(lines) if line.strip()]


def load_index(folder: Path, cfg: DecontamConfig) -> EvalIndex:
    """Index every item of every evaluation file under ``folder``."""
    if not folder.is_dir():
        raise FileNotFoundError(f"evaluation folder {folder} does not exist")
    grams: dict[int, set[str]] = {}
    sizes: set[int] = set()
    count = 0
    for path in sorted(p for p in folder.rglob("*") if p.suffix in (".jsonl", ".txt")):
        for item_id, text in _items(path):
            toks = tokens(text)
            if len(toks) < cfg.min_item_tokens:
                continue
            count += 1
            n = min(cfg.ngram, len(toks))
            sizes.add(n)
            for i in range(len(toks) - n + 1):
                grams.setdefault(_hash(toks[i : i + n]), set()).add(item_id)
    return EvalIndex({g: tuple(sorted(ids)) for g, ids in grams.items()}, tuple(sorted(sizes)), count)


def find(text: str, index: EvalIndex) -> list[str]:
    """Ids of the evaluation items sharing a gram with ``text``, in sorted order."""
    toks = tokens(text)
    found: set[str] = set()
    for size in index.sizes:
        for i in range(len(toks) - size + 1):
            if (ids := index.grams.get(_hash(toks[i : i + size]))) is not None:
                found.update(ids)
    return sorted(found)
