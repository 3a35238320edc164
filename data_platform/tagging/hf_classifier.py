"""A local Hugging Face sequence-classification model (the FineWeb-Edu classifier's format) scoring Arrow batches.

Plain module (torch, transformers; no pyspark) so the GPU bench calls exactly what the tag stage calls. As in the
embedding stage, the fast (Rust) tokenizer encodes the whole batch at once, and the texts are sorted by length and
cut into forward passes of at most ``batch_tokens`` padded tokens, so short documents are not padded to 512. On CUDA
the model runs in bf16 with PyTorch's SDPA attention; the score is computed in fp32 from the logits.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

CHARS_PER_TOKEN = 8  # generous: texts are cut to max_tokens * this many characters before tokenizing
PAD_MULTIPLE = 8  # padded lengths are rounded up to this (tensor-core friendly, fewer distinct shapes)
_WEIGHTS = ("model.safetensors", "model.safetensors.index.json", "pytorch_model.bin")


@dataclass(frozen=True)
class Classifier:
    """A loaded model: its tokenizer (truncating at ``limit``), the torch module, and how logits become a score."""

    tokenizer: Any
    model: Any
    limit: int
    pad_id: int
    label_index: int | None  # score = softmax probability of this class; None: regression or expected class
    device: Any  # torch.device the model runs on


def check_folder(path: str) -> None:
    """A one-line error unless ``path`` holds a config, weights and a tokenizer (checked on the driver)."""
    folder = Path(path)
    if not folder.is_dir():
        raise FileNotFoundError(f"Hugging Face model folder {path} does not exist")
    missing = [n for n in ("config.json", "tokenizer.json") if not (folder / n).is_file()]
    if not any((folder / w).is_file() for w in _WEIGHTS):
        missing.append("model.safetensors")
    if missing:
        raise FileNotFoundError(f"{path} is not a Hugging Face model folder: no {', '.join(missing)}")


def load(path: str, device: str = "auto", label: str | None = None, max_tokens: int | None = None,
         compile: bool = False) -> Classifier:
    """The model, loaded once per process (Spark Python workers reuse it), never from a hub; ``compile``:
    ``torch.compile`` with dynamic shapes (CUDA only)."""
    import torch

    dev = ("cuda" if torch.cuda.is_available() else "cpu") if device == "auto" else device
    return _load(path, dev, label, max_tokens, compile and dev.startswith("cuda"))


@lru_cache(maxsize=4)
def _load(path: str, device: str, label: str | None, max_tokens: int | None, compile: bool) -> Classifier:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    check_folder(path)
    dtype = torch.bfloat16 if device.startswith("cuda") else torch.float32
    model = AutoModelForSequenceClassification.from_pretrained(path, local_files_only=True, dtype=dtype,
                                                               attn_implementation="sdpa")
    hf_tok = AutoTokenizer.from_pretrained(path, local_files_only=True)
    limit = _limit(hf_tok.model_max_length, model.config, max_tokens)
    tok = hf_tok.backend_tokenizer
    tok.no_padding()
    tok.enable_truncation(limit)
    model = model.to(device).eval()
    forward = torch.compile(model, dynamic=True) if compile else model
    return Classifier(tok, forward, limit, hf_tok.pad_token_id or 0, _label_index(model.config, label),
                      model.device)


def _limit(tokenizer_max: int, config: Any, max_tokens: int | None) -> int:
    """Tokens read per text: ``max_tokens`` if given, else the tokenizer's (or the position table's) maximum."""
    model_max = tokenizer_max if tokenizer_max < 1_000_000 else getattr(config, "max_position_embeddings", 512)
    return min(max_tokens, model_max) if max_tokens else model_max


def _label_index(config: Any, label: str | None) -> int | None:
    if label is None:
        return None
    names = {str(v): int(k) for k, v in config.id2label.items()}
    if label not in names:
        raise ValueError(f"the model has no label {label!r}; its labels: {', '.join(sorted(names))}")
    return names[label]


def score_texts(texts: list[str | None], path: str, device: str = "auto", label: str | None = None,
                max_tokens: int | None = None, batch_tokens: int = 65536, compile: bool = False) -> np.ndarray:
    """One float32 score per text, in input order: the regression output (one logit), else the probability of
    ``label``, else the expected class index (sum of class index x probability)."""
    import torch

    clf = load(path, device, label, max_tokens, compile)
    cut = [(t or "")[: clf.limit * CHARS_PER_TOKEN] for t in texts]
    ids = [e.ids for e in clf.tokenizer.encode_batch(cut)]
    batches = length_batches([len(i) for i in ids], batch_tokens)
    if not batches:
        return np.zeros(0, np.float32)
    with torch.inference_mode():  # scores stay on the device until the end: one host sync per call
        scores = torch.cat([_forward(clf, [ids[i] for i in idx]) for idx in batches]).cpu().numpy()
    out = np.zeros(len(ids), np.float32)
    out[np.concatenate(batches)] = scores
    return out


def length_batches(lengths: list[int], batch_tokens: int) -> list[np.ndarray]:
    """Indices sorted by length, cut so that rows x padded length stays within ``batch_tokens``."""
    order = np.argsort(lengths, kind="stable")
    batches, start = [], 0
    for end in range(1, len(order) + 1):
        padded = -(-lengths[order[end - 1]] // PAD_MULTIPLE) * PAD_MULTIPLE
        if end - start > 1 and (end - start) * padded > batch_tokens:
            batches.append(order[start:end - 1])
            start = end - 1
    if start < len(order):
        batches.append(order[start:])
    return batches


def _forward(clf: Classifier, rows: list[list[int]]) -> Any:
    """Scores of one padded batch, left on the model's device."""
    import torch

    width = -(-max(len(r) for r in rows) // PAD_MULTIPLE) * PAD_MULTIPLE
    ids = np.full((len(rows), width), clf.pad_id, np.int64)
    mask = np.zeros((len(rows), width), np.int64)
    for i, r in enumerate(rows):
        ids[i, : len(r)], mask[i, : len(r)] = r, 1
    dev = clf.device
    pin = dev.type == "cuda"
    ids_t, mask_t = (torch.from_numpy(a).pin_memory() if pin else torch.from_numpy(a) for a in (ids, mask))
    logits = clf.model(input_ids=ids_t.to(dev, non_blocking=True),
                       attention_mask=mask_t.to(dev, non_blocking=True)).logits.float()
    return logits_to_scores(logits, clf.label_index)


def logits_to_scores(logits: Any, label_index: int | None) -> Any:
    """(rows, classes) logits -> scores: one column as is; a class's probability; or the expected class index."""
    import torch

    if logits.shape[1] == 1:
        return logits[:, 0]
    probs = torch.softmax(logits, dim=1)
    if label_index is not None:
        return probs[:, label_index]
    return probs @ torch.arange(logits.shape[1], dtype=probs.dtype, device=probs.device)
