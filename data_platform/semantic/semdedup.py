"""SemDeDup inside one cluster: members in keep order; a member whose cosine similarity to an already kept
member exceeds ``1 - eps`` is dropped as a duplicate of the most similar kept one.

Blockwise so that no (n x n) matrix is ever built: each block of members is compared with the kept members
(in slices of ``kept_block`` rows) and with itself; memory is O(block x kept_block). Plain module (torch, numpy).
"""

from __future__ import annotations

import numpy as np

KEEP_ORDERS = ("closest_to_centroid", "farthest_from_centroid", "best_quality")


def keep_order(ids: list[str], tiebreak: list[str], centroid_sim: np.ndarray, quality: np.ndarray | None,
               keep: str) -> np.ndarray:
    """Member positions, first to keep first: by the criterion, then id, then ``tiebreak`` (data-only: the order
    never depends on partitioning)."""
    if keep == "best_quality":
        if quality is None:
            raise ValueError("keep: best_quality needs quality scores")
        primary = -np.nan_to_num(np.asarray(quality, np.float64), nan=-np.inf)
    elif keep == "closest_to_centroid":
        primary = -np.asarray(centroid_sim, np.float64)
    else:
        primary = np.asarray(centroid_sim, np.float64)
    return np.array(sorted(range(len(ids)), key=lambda i: (primary[i], ids[i], tiebreak[i])), dtype=np.int64)


def greedy_duplicates(emb: np.ndarray, order: np.ndarray, threshold: float, block: int = 1024,
                      kept_block: int = 16384, device: str = "cpu") -> tuple[np.ndarray, np.ndarray]:
    """For every member (input positions): the position of the kept member it duplicates (-1 when kept) and that
    similarity (NaN when kept)."""
    import torch

    n = len(order)
    dup = np.full(n, -1, np.int64)
    sim = np.full(n, np.nan, np.float32)
    x = torch.from_numpy(np.ascontiguousarray(emb[order], dtype=np.float32)).to(device)
    kept: list[int] = []  # positions in sorted order
    kept_mat = x[:0]
    for s in range(0, n, block):
        blk = x[s:s + block]
        best, arg = _best_kept(blk, kept_mat, kept_block)
        best, arg = best.cpu().numpy(), arg.cpu().numpy()
        within = (blk @ blk.T).cpu().numpy()
        new_kept: list[int] = []
        for i in range(len(blk)):
            j_best, s_best = (kept[arg[i]], best[i]) if best[i] > threshold else (-1, -np.inf)
            if new_kept:
                w = within[i, new_kept]
                if w.max() > max(threshold, s_best if j_best >= 0 else -np.inf):
                    j_best, s_best = s + new_kept[int(w.argmax())], float(w.max())
            if j_best >= 0:
                dup[order[s + i]], sim[order[s + i]] = order[j_best], s_best
            else:
                new_kept.append(i)
        kept.extend(s + i for i in new_kept)
        kept_mat = torch.cat([kept_mat, blk[new_kept]]) if new_kept else kept_mat
    return dup, sim


def _best_kept(blk, kept_mat, kept_block: int):
    import torch

    best = torch.full((len(blk),), -float("inf"), device=blk.device)
    arg = torch.zeros(len(blk), dtype=torch.long, device=blk.device)
    for k in range(0, len(kept_mat), kept_block):
        b, a = (blk @ kept_mat[k:k + kept_block].T).max(dim=1)
        better = b > best
        best = torch.where(better, b, best)
        arg = torch.where(better, a + k, arg)
    return best, arg


def sweep(emb: np.ndarray, order: np.ndarray, eps_values: list[float], **kw) -> dict[float, int]:
    """Documents each ε would remove from this cluster (the removal rule run once per ε)."""
    return {eps: int((greedy_duplicates(emb, order, 1.0 - eps, **kw)[0] >= 0).sum()) for eps in eps_values}
