"""Quality scorers of a rule file (``quality.scorers``): paths resolved and checked on the driver, texts scored on
the executors by the scorer's kind (a Hugging Face classifier folder, a fastText model, the MLP head).

Plain module (no pyspark): the tag job, the funnel's rescue step and the GPU bench call the same ``score``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from data_platform.tagging.config import ScorerConfig

PREFIX = "quality_"


@dataclass(frozen=True)
class Scorer:
    """A scorer with its model path made absolute (picklable, sent to executors)."""

    config: ScorerConfig
    path: str

    @property
    def name(self) -> str:
        return self.config.name

    @property
    def column(self) -> str:
        return PREFIX + self.config.name


def resolve(configs: list[ScorerConfig], base: Path) -> list[Scorer]:
    """Scorers with paths relative to ``base`` (the rule file's folder); a missing or wrong model is a one-line
    error naming it. Nothing is loaded here (a DCLM fastText model is several GB)."""
    from data_platform.tagging.hf_classifier import check_folder

    out = []
    for cfg in configs:
        path = str((base / cfg.path).resolve())
        if cfg.kind == "hf":
            check_folder(path)
        elif not Path(path).is_file():
            raise FileNotFoundError(f"{cfg.kind} model {path} of quality scorer {cfg.name!r} does not exist")
        out.append(Scorer(cfg, path))
    return out


def score(texts: list[str | None], scorer: Scorer, embeddings: np.ndarray | None = None) -> np.ndarray:
    """float32 scores of ``texts``; a head scorer uses ``embeddings`` when they come from its own encoder."""
    cfg = scorer.config
    if cfg.kind == "hf":
        from data_platform.tagging.hf_classifier import score_texts

        return score_texts(texts, scorer.path, cfg.device, cfg.label, cfg.max_tokens, cfg.batch_tokens,
                           cfg.compile)
    if cfg.kind == "fasttext":
        from data_platform.models.fasttext_quality import label_probability, load_model

        assert cfg.label is not None, "checked by ScorerConfig"
        return label_probability(load_model(scorer.path), [t or "" for t in texts], cfg.label)
    from data_platform.tagging import quality_head as Q

    if embeddings is not None:
        return Q.predict(Q.load_head(scorer.path)[0], embeddings)
    return Q.score_texts([t or "" for t in texts], scorer.path)
