"""Byte-level BPE tokenizer (Hugging Face ``tokenizers``): training on a sample across sources, and a report.

Digits are split into single tokens before the byte-level split (as LLaMA and DeepSeek do), so numbers never merge
into arbitrary chunks. The special tokens ``<|bos|>``, ``<|eos|>``, ``<|pad|>`` get ids 0, 1, 2. Any UTF-8 text
round-trips exactly: there is no normalizer and no prefix space.

    python -m trainer.tokenizer train --inputs data/kept --out tok/tokenizer.json --vocab-size 32768
    python -m trainer.tokenizer report --tokenizer tok/tokenizer.json --inputs data/kept
"""

from __future__ import annotations

import argparse
import heapq
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

from trainer.inputs import InputError, read_columns, resolve, stable_hash

BOS, EOS, PAD = "<|bos|>", "<|eos|>", "<|pad|>"
SPECIALS = [BOS, EOS, PAD]


@dataclass(frozen=True)
class SpecialTokens:
    """The names of the special tokens packing and training use, as a tokenizer spells them: this module's
    tokenizers say ``<|eos|>``, a Llama-3 ``tokenizer.json`` ``<|end_of_text|>`` and has no pad token. Without a pad
    token, padding uses the end token (padded positions are never targets)."""

    __pydantic_config__ = {"extra": "forbid"}  # read by pydantic when the training config validates this section
    eos: str = EOS
    pad: str | None = PAD
    bos: str | None = BOS

    def ids(self, tok: Tokenizer, path: str | Path) -> dict[str, int]:
        """Role (``eos``, ``pad``, ``bos`` when named) -> id in ``tok``; a named token the tokenizer lacks is an
        ``InputError``."""
        out: dict[str, int] = {}
        for role in ("eos", "pad", "bos"):
            name = getattr(self, role)
            if name is None:
                continue
            found = tok.token_to_id(name)
            if found is None:
                named = sorted(t.content for t in tok.get_added_tokens_decoder().values() if t.special)
                raise InputError(f"{path}: no token {name!r} (the {role} token); its special tokens: "
                                 f"{', '.join(named) or 'none'} (set data.special_tokens.{role})")
            out[role] = found
        out.setdefault("pad", out["eos"])
        return out


def build(texts: Iterable[str], vocab_size: int, min_frequency: int = 2) -> Tokenizer:
    """Train a byte-level BPE with single-digit pre-splitting on ``texts``."""
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.Digits(individual_digits=True),
                                                 pre_tokenizers.ByteLevel(add_prefix_space=False)])
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, min_frequency=min_frequency, special_tokens=SPECIALS,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator(texts, trainer)
    return tok


def load(path: str | Path) -> Tokenizer:
    """A saved tokenizer, set to read special-token strings inside documents as plain text."""
    if not Path(path).is_file():
        raise InputError(f"{path}: no tokenizer file")
    tok = Tokenizer.from_file(str(path))
    tok.encode_special_tokens = True  # a document containing "<|eos|>" must not inject the real EOS id
    return tok


def sample(files: list[Path], group: str, *, per_group: int, max_chars: int, seed: int) -> dict[str, list[str]]:
    """Up to ``per_group`` documents of every ``group`` value (source or lang): those with the smallest seeded
    hash of their id, so the sample is uniform, deterministic and independent of file order."""
    heaps: dict[str, list[tuple[int, str]]] = {}
    for path in files:
        for batch in read_columns(path, ["id", "text", group]):
            for doc_id, text, key in zip(batch["id"], batch["text"], batch[group], strict=True):
                if not text:
                    continue
                heap = heaps.setdefault(key or "unknown", [])
                item = (-stable_hash(f"{seed}:{doc_id}"), text[:max_chars])
                if len(heap) < per_group:
                    heapq.heappush(heap, item)
                elif item[0] > heap[0][0]:
                    heapq.heapreplace(heap, item)
    return {k: [t for _, t in sorted(h)] for k, h in sorted(heaps.items())}


def report(tok: Tokenizer, texts_by_lang: dict[str, list[str]]) -> list[dict]:
    """Compression per language: UTF-8 bytes per token (higher is better)."""
    rows = []
    for lang, texts in texts_by_lang.items():
        n_bytes = sum(len(t.encode("utf-8")) for t in texts)
        n_tokens = sum(len(e.ids) for e in tok.encode_batch(texts, add_special_tokens=False))
        rows.append({"lang": lang, "docs": len(texts), "bytes": n_bytes, "tokens": n_tokens,
                     "bytes_per_token": round(n_bytes / max(n_tokens, 1), 3)})
    return rows


EXAMPLES = """examples (dp-tokenizer is the same command as python -m trainer.tokenizer):
  dp-tokenizer train --inputs out/filter/kept --out out/tokenizer/tokenizer.json --vocab-size 512
  dp-tokenizer report --tokenizer out/tokenizer/tokenizer.json --inputs out/filter/kept
"""


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m trainer.tokenizer", description=__doc__.splitlines()[0],
                                epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", required=True)
    t = sub.add_parser("train", help="train tokenizer.json on a sample across sources")
    t.add_argument("--inputs", nargs="+", required=True, help="parquet files, folders, globs or manifest.json")
    t.add_argument("--out", required=True, help="path of tokenizer.json")
    t.add_argument("--vocab-size", type=int, default=32768)
    t.add_argument("--docs-per-source", type=int, default=20000, help="sample size per source")
    t.add_argument("--max-chars", type=int, default=20000, help="characters read per document")
    t.add_argument("--seed", type=int, default=0)
    r = sub.add_parser("report", help="bytes per token per language")
    r.add_argument("--tokenizer", required=True)
    r.add_argument("--inputs", nargs="+", required=True)
    r.add_argument("--docs-per-lang", type=int, default=200)
    r.add_argument("--seed", type=int, default=1)
    return p


def main(argv: list[str] | None = None) -> int:
    from data_platform.cli import error

    args = _parser().parse_args(argv)
    try:
        files = resolve(args.inputs)
        if args.command == "train":
            if args.vocab_size < 256 + len(SPECIALS):
                return error("--vocab-size must hold the 256 bytes and 3 special tokens (>= 259)")
            groups = sample(files, "source", per_group=args.docs_per_source, max_chars=args.max_chars,
                            seed=args.seed)
            tok = build((t for texts in groups.values() for t in texts), args.vocab_size)
            Path(args.out).parent.mkdir(parents=True, exist_ok=True)
            tok.save(args.out)
            print(f"trained on {sum(map(len, groups.values()))} documents from {len(groups)} sources; "
                  f"vocabulary {tok.get_vocab_size()} -> {args.out}")
            return 0
        texts = sample(files, "lang", per_group=args.docs_per_lang, max_chars=10**9, seed=args.seed)
        rows = report(load(args.tokenizer), texts)
    except (InputError, OSError) as err:
        return error(err)
    print(f"{'lang':<8}{'docs':>8}{'bytes':>14}{'tokens':>12}{'bytes/token':>13}")
    for r in rows:
        print(f"{r['lang']:<8}{r['docs']:>8}{r['bytes']:>14,}{r['tokens']:>12,}{r['bytes_per_token']:>13.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
