"""The rule registry: importing this package imports every module in it, which registers its rules."""

import importlib
import pkgutil

from data_platform.rules.base import REGISTRY, DocBatch, Rule, RuleParams, Scores

for _module in pkgutil.iter_modules(__path__):
    if _module.name not in ("base", "__main__"):
        importlib.import_module(f"{__name__}.{_module.name}")

__all__ = ["REGISTRY", "DocBatch", "Rule", "RuleParams", "Scores"]
