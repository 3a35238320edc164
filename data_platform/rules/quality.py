"""Quality rule: the score (0-5) of the quality head on the document's embedding, usable as a funnel threshold."""

from __future__ import annotations

from pydantic import Field

from data_platform.rules.base import DocBatch, RuleParams, Scores, rule


class QualityParams(RuleParams):
    min: float | None = Field(None, ge=0, le=5)
    max: float | None = Field(None, ge=0, le=5)
    head: str = Field("../models/quality/head.pt", description="quality head file, relative to the rule file")


@rule("quality_score", QualityParams)
def quality_score(batch: DocBatch, params: QualityParams) -> Scores:
    """Quality score in [0, 5] from the quality head on the document's embedding (higher = cleaner prose)."""
    from data_platform.tagging.quality_head import score_texts

    path = batch.resources["quality_score"][params.head]
    return Scores([float(s) for s in score_texts(batch.pytexts, path)])
