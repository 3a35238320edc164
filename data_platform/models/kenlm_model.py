"""KenLM perplexity of documents: locating the models of a folder, loading one once per process, scoring.

A document is scored line by line, as the models were trained (``kenlm_train``: one line of a document = one
sentence): every non-empty line, normalised and tokenised by ``lm_text.lm_line``, is scored with sentence
boundaries, and the document's perplexity is ``10 ** (-sum(log10 p) / (tokens + one </s> per line))``.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from data_platform.models.lm_text import lm_tokens


def find_models(folder: Path) -> dict[str, Path]:
    """``{lang: model path}`` for every ``<lang>.binary`` and ``<lang>.arpa`` in ``folder`` (binary preferred)."""
    if not folder.is_dir():
        raise FileNotFoundError(f"KenLM model folder {folder} does not exist")
    found: dict[str, Path] = {}
    for suffix in (".arpa", ".binary"):  # later suffix wins
        found.update({p.name[: -len(suffix)]: p for p in sorted(folder.glob(f"*{suffix}"))})
    return found


@lru_cache(maxsize=16)
def load(path: str):
    """The ``kenlm.Model`` at ``path`` (a file, or a model shipped to executors), loaded once per process."""
    import kenlm

    from data_platform.models.shipping import local_path

    return kenlm.Model(local_path(path))


def doc_perplexity(model, text: str, lang: str) -> float | None:
    """Perplexity of ``text`` under ``model``; None when no line of it has a token."""
    log10_sum, count = 0.0, 0
    for line in text.splitlines():
        tokens = lm_tokens(line, lang)
        if tokens:
            log10_sum += model.score(" ".join(tokens), bos=True, eos=True)
            count += len(tokens) + 1  # the tokens and </s>
    return 10.0 ** (-log10_sum / count) if count else None


def doc_perplexities(path: str | Path, texts: list[str], lang: str) -> list[float | None]:
    """``doc_perplexity`` of every text with the model at ``path``."""
    model = load(str(path))
    return [doc_perplexity(model, text, lang) for text in texts]
