"""The quality head: a small MLP on sentence embeddings giving a fineweb-edu-style score in [0, 5].

A head file (``torch.save`` of plain tensors and values, loaded with ``weights_only=True``) records the encoder it
was trained on, how many tokens it read, and the layer sizes. Plain module (torch, numpy): no pyspark.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np
import torch
from torch import nn

MAX_SCORE = 5.0


class QualityHead(nn.Module):
    """embedding -> hidden (GELU, dropout) -> one score; scores are clipped to [0, 5] when predicting."""

    def __init__(self, dim: int, hidden: int = 64, dropout: float = 0.1) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Linear(dim, hidden), nn.GELU(), nn.Dropout(dropout), nn.Linear(hidden, 1))

    def forward(self, emb: torch.Tensor) -> torch.Tensor:
        return self.net(emb).squeeze(-1)


def save_head(head: QualityHead, path: Path, encoder: str, max_tokens: int, extra: dict | None = None) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    first = head.net[0]
    torch.save({"encoder": encoder, "max_tokens": max_tokens, "dim": first.in_features,
                "hidden": first.out_features, "state_dict": {k: v.cpu() for k, v in head.state_dict().items()},
                **(extra or {})}, path)


@lru_cache(maxsize=4)
def load_head(path: str) -> tuple[QualityHead, dict]:
    """(head in eval mode on CPU, its metadata); cached per process."""
    if not Path(path).is_file():
        raise FileNotFoundError(f"quality head {path} does not exist (train one: python -m "
                                "data_platform.tagging.train_quality)")
    blob = torch.load(path, map_location="cpu", weights_only=True)
    head = QualityHead(blob["dim"], blob["hidden"])
    head.load_state_dict(blob["state_dict"])
    return head.eval(), {k: v for k, v in blob.items() if k != "state_dict"}


def encoder_of(path: str) -> str:
    """The encoder a head was trained on; a relative folder (a fine-tuned encoder) is relative to the head file."""
    spec = load_head(path)[1]["encoder"]
    if spec.startswith("bundled:") or Path(spec).is_absolute():
        return spec
    return str((Path(path).parent / spec).resolve())


def predict(head: QualityHead, emb: np.ndarray) -> np.ndarray:
    """Scores in [0, 5] (float32) for rows of embeddings."""
    if len(emb) == 0:
        return np.zeros(0, np.float32)
    with torch.inference_mode():
        out = head(torch.from_numpy(np.ascontiguousarray(emb, dtype=np.float32)))
    return out.clamp(0, MAX_SCORE).numpy().astype(np.float32)


def score_texts(texts: list[str], head_path: str, device: str = "auto") -> np.ndarray:
    """Embed with the head's own encoder and token budget, then score."""
    from data_platform.semantic.encoder import embed_texts

    head, meta = load_head(head_path)
    return predict(head, embed_texts(texts, encoder_of(head_path), meta["max_tokens"], device=device))
