"""The ``quality:`` and ``domains:`` sections of a rule file, and the domain prototype file they point to."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator

from data_platform.yaml_lines import load_with_lines, locator, validate


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class QualityConfig(_Section):
    enabled: bool = True
    head: str = Field("../models/quality/head.pt", description="quality head (train_quality output), relative to "
                      "the rule file")


class DomainsConfig(_Section):
    enabled: bool = True
    prototypes: str = Field("tags/domains.yaml", description="categories with example texts, relative to the rule file")
    temperature: float = Field(0.05, gt=0, description="softmax temperature over cosine similarities")


class DomainFile(_Section):
    """``categories: {name: [example text, ...]}``: each category's centroid is the mean of its examples."""

    categories: dict[str, list[str]]

    @field_validator("categories")
    @classmethod
    def _non_empty(cls, v: dict[str, list[str]]) -> dict[str, list[str]]:
        if len(v) < 2:
            raise ValueError("give at least two categories")
        for name, examples in v.items():
            if not examples or any(not (e or "").strip() for e in examples):
                raise ValueError(f"category {name!r} needs at least one non-empty example")
        return v


def load_domains(path: Path) -> dict[str, list[str]]:
    """Read and validate a domain prototype file; errors name the file, key and line."""
    data, lines = load_with_lines(path)
    return validate(DomainFile, data, locator(path, lines)).categories
