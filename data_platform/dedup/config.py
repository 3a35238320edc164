"""The ``dedup:`` section of a rule file: which dedup steps run and with which parameters."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from data_platform.alarms import DEDUP_DEFAULTS, DedupAlarms


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TextNormalization(_Section):
    """How text is normalized before hashing: two texts equal after this are exact duplicates
    (``collapse_whitespace``: every run of Unicode whitespace becomes one space, none at the ends)."""

    lowercase: bool = True
    collapse_whitespace: bool = True
    digits_to_zero: bool = False
    strip_punctuation: bool = False


Keep = Literal["smallest_id", "longest_text", "best_score"]


class ExactConfig(_Section):
    enabled: bool = True
    normalize: TextNormalization = TextNormalization()
    keep: Keep = "smallest_id"


class MinHashConfig(_Section):
    enabled: bool = True
    num_perm: int = Field(128, ge=16, le=1024)
    seed: int = 1
    hash: Literal["multiply_shift", "datasketch"] = Field(
        "multiply_shift", description="multiply_shift: the compiled kernel (data_platform/dedup/minhash_kernel.py); "
                                      "datasketch: datasketch's SHA-1 scheme, values identical to its MinHash")
    ngram: int = Field(5, ge=1, le=20, description="word n-grams; character n-grams for zh/ja/ko")
    cjk_ngram: int = Field(5, ge=1, le=20, description="character n-gram size for zh/ja/ko")
    threshold: float = Field(0.8, gt=0, lt=1, description="target Jaccard similarity")
    bands: int | None = Field(None, ge=1, description="bands x rows; derived from threshold when omitted")
    rows: int | None = Field(None, ge=1)
    verify: Literal["exact", "signature", "none"] = Field(
        "exact", description="candidate pairs kept when their exact shingle Jaccard (or the signatures' estimate) "
                             "reaches the threshold; none keeps every bucket-mate")
    false_negative_weight: float = Field(
        0.95, gt=0, lt=1, description="weight of missed pairs against extra candidates when bands x rows are "
                                     "derived (datasketch's optimum); verification removes the extra candidates")
    keep: Keep = "smallest_id"
    score_column: str | None = Field(None, description="meta key holding a quality score, for keep: best_score")
    max_iterations: int = Field(50, ge=1, description="connected-components iterations before giving up")

    @model_validator(mode="after")
    def _bands_rows(self) -> "MinHashConfig":
        if (self.bands is None) != (self.rows is None):
            raise ValueError("give both bands and rows, or neither (then they come from the threshold)")
        if self.bands and self.rows and self.bands * self.rows > self.num_perm:
            raise ValueError(f"bands x rows ({self.bands * self.rows}) exceeds num_perm ({self.num_perm})")
        if self.keep == "best_score" and not self.score_column:
            raise ValueError("keep: best_score needs score_column")
        return self


class ParagraphConfig(_Section):
    enabled: bool = True
    normalize: TextNormalization = TextNormalization(digits_to_zero=True)
    min_chars: int = Field(20, ge=0, description="shorter paragraphs are never removed")
    mode: Literal["after_first", "above_count"] = "after_first"
    max_count: int = Field(3, ge=1, description="for above_count: remove every occurrence when seen more often")
    max_removed_share: float = Field(0.3, ge=0, le=1, description="drop the document above this removed share")


class SentenceConfig(_Section):
    """C4-style: every span of ``span`` consecutive sentences seen before in the corpus is removed."""

    enabled: bool = True
    span: int = Field(3, ge=1, le=10, description="sentences per span (C4: 3)")
    normalize: TextNormalization = TextNormalization()
    max_removed_share: float = Field(0.3, ge=0, le=1, description="drop the document above this removed share")


class DedupConfig(_Section):
    exact: ExactConfig = ExactConfig()
    minhash: MinHashConfig = MinHashConfig()
    paragraphs: ParagraphConfig = ParagraphConfig()
    sentences: SentenceConfig = SentenceConfig()
    alarms: DedupAlarms = DEDUP_DEFAULTS
