"""Domain tags by labelled prototypes: each category's centroid is the normalized mean of its examples'
embeddings; a document gets the category of the most similar centroid, with the softmax probability over
cosine similarities (divided by a temperature) as its confidence. Plain module (numpy)."""

from __future__ import annotations

import numpy as np


def centroids(examples: dict[str, list[str]], embed) -> tuple[list[str], np.ndarray]:
    """(category names, unit-norm centroid matrix) from ``{name: [example text, ...]}`` and an embed function."""
    names = list(examples)
    rows = []
    for name in names:
        mean = embed(examples[name]).mean(axis=0)
        rows.append(mean / max(np.linalg.norm(mean), 1e-12))
    return names, np.stack(rows).astype(np.float32)


def classify(emb: np.ndarray, names: list[str], cents: np.ndarray,
             temperature: float) -> tuple[list[str], np.ndarray]:
    """(category per row, confidence per row in (0, 1])."""
    if len(emb) == 0:
        return [], np.zeros(0, np.float32)
    logits = (emb @ cents.T) / temperature
    logits -= logits.max(axis=1, keepdims=True)
    probs = np.exp(logits)
    probs /= probs.sum(axis=1, keepdims=True)
    best = probs.argmax(axis=1)
    return [names[i] for i in best], probs[np.arange(len(emb)), best].astype(np.float32)
