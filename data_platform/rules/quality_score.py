"""Quality rule: the score (0-5) of the quality head on the document's embedding, usable as a funnel threshold."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from data_platform.rules.base import DocBatch, RuleParams, Scores, rule


class QualityParams(RuleParams):
    min: float | None = Field(None, ge=0, le=5)
    max: float | None = Field(None, ge=0, le=5)
    head: str = Field("../models/quality/head.pt", description="quality head file, relative to the rule file")


def find_heads(params: list[QualityParams], base: Path) -> dict[str, str]:
    """``{head: file}`` for every quality head the rule file names (read where the job runs: a head may name its
    encoder relative to itself, so it is not shipped on its own)."""
    heads = {spec: (base / spec).resolve() for spec in {p.head for p in params}}
    for head in heads.values():
        if not head.is_file():
            raise FileNotFoundError(f"quality head {head} does not exist")
    return {spec: str(path) for spec, path in heads.items()}


@rule("quality_score", QualityParams, load=find_heads)
def quality_score(batch: DocBatch, params: QualityParams) -> Scores:
    """Quality score in [0, 5] from the quality head on the document's embedding (higher = cleaner prose)."""
    from data_platform.tagging.quality_head import score_texts

    path = batch.resources["quality_score"][params.head]
    return Scores([float(s) for s in score_texts(batch.pytexts, path)])
