"""Language identification rule: the top fastText language and its score, an allowed-language check.

Prediction runs once per batch before the funnel groups documents by language (``funnel.py``), because the
detected language decides which per-language thresholds apply; this rule then judges the stored prediction.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from pydantic import Field

from data_platform.models.fasttext_langid import BUNDLED, resolve_model_path
from data_platform.models.shipping import ExecutorFile
from data_platform.rules.base import DocBatch, RatioParams, Scores, rule


class LangidParams(RatioParams):
    global_only: ClassVar[tuple[str, ...]] = ("model", "top_k", "assign_lang")
    model: str = Field(BUNDLED, description="'bundled:lid.176.ftz' or a fastText model path (lid.176.bin ...)")
    top_k: int = Field(3, ge=1, le=10, description="labels kept in the rule detail")
    allowed: list[str] | None = Field(None, description="languages accepted for this source; None = any")
    assign_lang: bool = Field(True, description="fill the document's lang column with the detected language")


def load_model(params: list[LangidParams], base: Path) -> dict[str, Any]:
    """The fastText model file and the prediction settings the funnel's language detection uses (one set: its
    parameters are global-only)."""
    p = params[0]
    return {"path": ExecutorFile(resolve_model_path(p.model, base)), "top_k": p.top_k, "assign_lang": p.assign_lang}


@rule("langid", LangidParams, load=load_model)
def langid(batch: DocBatch, params: LangidParams) -> Scores:
    """Probability of the top fastText language; fails below ``min`` or outside ``allowed``."""
    preds = batch.langid or [[] for _ in range(len(batch))]
    allowed = set(params.allowed or [])
    values, details, failed = [], [], []
    for top in preds:
        lang, score = top[0] if top else ("und", 0.0)
        values.append(score)
        shown = " ".join(f"{code}:{p:.2f}" for code, p in top[: params.top_k])
        off = bool(allowed) and lang not in allowed
        failed.append(off)
        details.append(f"{shown}" + (f"; {lang!r} not in allowed {sorted(allowed)}" if off else ""))
    return Scores(values, details, failed)
