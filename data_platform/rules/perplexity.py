"""Fluency rule: document perplexity under a KenLM model of the document's language (cc_net style)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field

from data_platform.models.kenlm_model import doc_perplexities, find_models
from data_platform.models.shipping import ExecutorFile
from data_platform.rules.base import DocBatch, RuleParams, Scores, rule


class PerplexityParams(RuleParams):
    min: float | None = Field(None, gt=0)
    max: float | None = Field(None, gt=0)
    models: str = Field("../models/kenlm",
                        description="folder of <lang>.binary / <lang>.arpa, relative to the rule file")
    missing_model: Literal["drop", "keep"] = Field(
        "drop", description="a document whose language has no model: dropped, or kept with the gap recorded")


def load_models(params: list[PerplexityParams], base: Path) -> dict[str, dict[str, ExecutorFile]]:
    """``{models folder: {lang: model file}}`` for every ``models`` folder the rule file names."""
    return {spec: {lang: ExecutorFile(path) for lang, path in find_models((base / spec).resolve()).items()}
            for spec in {p.models for p in params}}


@rule("perplexity", PerplexityParams, load=load_models)
def perplexity(batch: DocBatch, params: PerplexityParams) -> Scores:
    """Perplexity of the document under its language's KenLM model (lower = more fluent)."""
    path = batch.resources.get("perplexity", {}).get(params.models, {}).get(batch.lang)
    if path is None:
        note = f"no KenLM model for language {batch.lang!r} in {params.models}"
        drop = params.missing_model == "drop"
        return Scores([None] * len(batch), [note if drop else f"{note}; not checked"] * len(batch),
                      [drop] * len(batch))
    return Scores(doc_perplexities(path, batch.pytexts, batch.lang))
