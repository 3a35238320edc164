"""Cleaning LLM pretraining corpora: readers, normalization, the filter funnel, dedup, reports."""

__version__ = "0.1.0"
