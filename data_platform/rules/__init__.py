"""The rule registry: importing this package registers every rule family."""

from data_platform.rules import (  # noqa: F401  (registration)
    characters, counts, langid, lines, perplexity, quality, repetition, wordlists,
)
from data_platform.rules.base import REGISTRY, DocBatch, Rule, RuleParams, Scores

__all__ = ["REGISTRY", "DocBatch", "Rule", "RuleParams", "Scores"]
