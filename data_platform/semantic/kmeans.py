"""Spherical k-means and nearest-centroid search with two backends sharing one interface.

``faiss``: ``faiss.Kmeans(spherical=True)`` and a flat inner-product index, on the GPU when faiss-gpu sees one
(``faiss.get_num_gpus() > 0``), on the CPU otherwise. ``torch``: the same algorithm as matrix products, on CUDA
when available (faiss-gpu cannot be installed on every GPU machine), fp16 on the GPU. Plain module: no pyspark.
"""

from __future__ import annotations

import warnings

import numpy as np

BACKENDS = ("auto", "faiss", "torch")
_CHUNK = 1 << 17  # rows per matrix product: bounds the (rows x k) similarity block


def pick_backend(backend: str = "auto") -> str:
    """``auto``: faiss when it has a GPU, else torch when CUDA is there, else faiss-cpu if installed, else torch."""
    if backend != "auto":
        return backend
    try:
        import faiss

        if faiss.get_num_gpus() > 0:
            return "faiss"
    except ImportError:
        return "torch"
    import torch

    return "torch" if torch.cuda.is_available() else "faiss"


def check_k(n: int, sample: int, k: int, max_cluster_size: int) -> int:
    """k clamped to the sample size; a warning when the mean cluster of ``n`` vectors would exceed
    ``max_cluster_size``."""
    k = max(1, min(k, sample))
    if n / k > max_cluster_size:
        warnings.warn(f"k={k} is too small for {n} vectors: mean cluster size {n // k} > max_cluster_size "
                      f"{max_cluster_size}; oversized clusters will be split (raise semdedup.clusters)", stacklevel=2)
    return k


def train(x: np.ndarray, k: int, iters: int = 20, seed: int = 0, backend: str = "auto",
          device: str = "auto") -> np.ndarray:
    """k unit-norm centroids (float32, k x d) from the rows of ``x`` (unit-norm float32)."""
    if pick_backend(backend) == "faiss":
        return _faiss_train(x, k, iters, seed)
    return _torch_train(x, k, iters, seed, device)


def assign(x: np.ndarray, centroids: np.ndarray, backend: str = "auto",
           device: str = "auto") -> tuple[np.ndarray, np.ndarray]:
    """(nearest centroid per row as int64, its cosine similarity as float32)."""
    if len(x) == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.float32)
    if pick_backend(backend) == "faiss":
        return _faiss_assign(x, centroids)
    import torch

    dev = _device(device)
    c = torch.from_numpy(np.ascontiguousarray(centroids)).to(dev, _dtype(dev))
    labels, sims = [], []
    for s in range(0, len(x), _CHUNK):
        xb = torch.from_numpy(np.ascontiguousarray(x[s:s + _CHUNK])).to(dev, _dtype(dev))
        best, arg = (xb @ c.T).float().max(dim=1)
        labels.append(arg.cpu().numpy())
        sims.append(best.cpu().numpy())
    return np.concatenate(labels).astype(np.int64), np.concatenate(sims).astype(np.float32)


def _device(device: str) -> str:
    import torch

    return ("cuda" if torch.cuda.is_available() else "cpu") if device == "auto" else device


def _dtype(dev: str):
    import torch

    return torch.float16 if dev.startswith("cuda") else torch.float32


def init_centroids(x: np.ndarray, k: int, seed: int, pool: int = 20_000) -> np.ndarray:
    """k-means++ seeding (cosine distance) on a seeded subsample, shared by both backends so that they start alike."""
    rng = np.random.default_rng(seed)
    sub = x[np.sort(rng.choice(len(x), size=min(len(x), max(pool, k)), replace=False))]
    chosen = [int(rng.integers(len(sub)))]
    dist = np.clip(1.0 - sub @ sub[chosen[0]], 0, None)
    for _ in range(1, k):
        total = dist.sum()
        nxt = int(rng.choice(len(sub), p=dist / total)) if total > 0 else int(rng.integers(len(sub)))
        chosen.append(nxt)
        dist = np.minimum(dist, np.clip(1.0 - sub @ sub[nxt], 0, None))
    return np.ascontiguousarray(sub[chosen], dtype=np.float32)


def _torch_train(x: np.ndarray, k: int, iters: int, seed: int, device: str) -> np.ndarray:
    import torch

    dev = _device(device)
    xt = torch.from_numpy(np.ascontiguousarray(x)).to(dev, _dtype(dev))
    c = torch.from_numpy(init_centroids(x, k, seed)).to(dev)
    for _ in range(iters):
        sums = torch.zeros_like(c)
        counts = torch.zeros(k, dtype=torch.long, device=dev)
        best = []
        for s in range(0, len(xt), _CHUNK):  # chunked: no full-size fp32 copy of the data
            xb = xt[s:s + _CHUNK]
            b, labels = (xb @ c.to(xt.dtype).T).float().max(dim=1)
            sums.index_add_(0, labels, xb.float())
            counts += torch.bincount(labels, minlength=k)
            best.append(b)
        empty = (counts == 0).nonzero().flatten()
        if len(empty):  # re-seed empty clusters with the points farthest from their centroid
            sums[empty] = xt[torch.cat(best).argsort()[: len(empty)]].float()
        c = torch.nn.functional.normalize(sums, dim=1)
    return c.cpu().numpy().astype(np.float32)


def _faiss_train(x: np.ndarray, k: int, iters: int, seed: int) -> np.ndarray:
    import faiss

    km = faiss.Kmeans(x.shape[1], k, niter=iters, seed=seed, spherical=True, gpu=faiss.get_num_gpus() > 0,
                      min_points_per_centroid=1, max_points_per_centroid=max(256, len(x)), verbose=False)
    km.train(np.ascontiguousarray(x, dtype=np.float32), init_centroids=init_centroids(x, k, seed))
    return np.asarray(km.centroids, dtype=np.float32)


def _faiss_assign(x: np.ndarray, centroids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    import faiss

    index: faiss.Index = faiss.IndexFlatIP(centroids.shape[1])
    if faiss.get_num_gpus() > 0:
        index = faiss.index_cpu_to_all_gpus(index)
    index.add(np.ascontiguousarray(centroids, dtype=np.float32))
    sims, labels = index.search(np.ascontiguousarray(x, dtype=np.float32), 1)
    return labels[:, 0].astype(np.int64), sims[:, 0].astype(np.float32)
