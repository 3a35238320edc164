"""One place where language codes are normalised (input ``lang`` fields and model labels alike)."""

from __future__ import annotations

# Aliases to one code per language: Norwegian Bokmål/Nynorsk to fastText's "no", deprecated ISO 639 codes to
# current ones, and every Chinese script or region variant to "zh".
_ALIASES = {"nb": "no", "nn": "no", "iw": "he", "in": "id", "ji": "yi", "jw": "jv", "mo": "ro",
            "zh_cn": "zh", "zh_tw": "zh", "zh_hans": "zh", "zh_hant": "zh", "zh_hk": "zh", "cmn": "zh"}


def normalize_lang(code: str | None) -> str | None:
    """``'zh-CN'`` -> ``'zh'``, ``'__label__nb'`` -> ``'no'``, ``'EN_us'`` -> ``'en'``; None/blank stays None."""
    if not code or not code.strip():
        return None
    c = code.strip().lower().removeprefix("__label__").replace("-", "_")
    if c in _ALIASES:
        return _ALIASES[c]
    base = c.split("_")[0]
    return _ALIASES.get(base, base)
