"""The mixture: each training sequence comes from a channel drawn with the configured probabilities.

Probabilities are the weights (or channel sizes when none are given), normalised, with caps applied: a capped
channel gets at most its cap and the excess goes to the others in proportion. Channels are interleaved by a
stratified schedule, not by independent draws: channel ``c``'s ``j``-th pick is due at ``(j + phase_c) / p_c``
(a seeded phase in [0, 1)) and each pick takes the channel due first, so after ``n`` picks every channel has
``p_c * n`` of them within one. Independent draws would scatter a small channel's count by about its square root:
in a one-epoch budget its sequences would be read up to twice while others are never read. Within a channel,
sequences are read in a seeded random order, epoch after epoch, so a small channel with a large weight is upsampled
by repetition and every sequence is seen once per epoch. Pick ``k`` depends only on the seed and ``k``, so the
sampler is deterministic, and its state (the pick position and per-channel counts) resumes it exactly.
"""

from __future__ import annotations

import numpy as np


class MixtureError(ValueError):
    """Weights or caps that do not fit the data."""


def mixture_probs(sizes: dict[str, int], weights: dict[str, float] | None,
                  caps: dict[str, float]) -> dict[str, float]:
    """Sampling probability per channel; channels without a weight get none when weights are given."""
    if weights is not None:
        unknown = sorted(set(weights) - set(sizes))
        if unknown:
            raise MixtureError(f"weights name channels with no training data: {', '.join(unknown)} "
                               f"(channels: {', '.join(sorted(sizes))})")
    unknown_caps = sorted(set(caps) - set(sizes))
    if unknown_caps:
        raise MixtureError(f"caps name channels with no training data: {', '.join(unknown_caps)} "
                           f"(channels: {', '.join(sorted(sizes))})")
    raw = {c: float(weights.get(c, 0.0) if weights is not None else sizes[c]) for c in sizes}
    raw = {c: w for c, w in raw.items() if w > 0}
    if not raw:
        raise MixtureError("no channel has a positive weight")
    fixed: dict[str, float] = {}
    while True:
        free = {c: w for c, w in raw.items() if c not in fixed}
        if not free:
            raise MixtureError(f"caps sum to {sum(fixed.values()):.3f} < 1 with every channel capped")
        scale = (1.0 - sum(fixed.values())) / sum(free.values())
        over = {c for c, w in free.items() if c in caps and w * scale > caps[c]}
        if not over:
            return {c: fixed.get(c, raw[c] * scale) for c in sorted(raw)}
        fixed.update({c: caps[c] for c in over})


class MixtureSampler:
    """Deterministic, resumable stream of (channel, sequence index) picks."""

    def __init__(self, sizes: dict[str, int], probs: dict[str, float], seed: int) -> None:
        self.channels = sorted(probs)
        self.sizes = [sizes[c] for c in self.channels]
        self.p = np.array([probs[c] for c in self.channels])
        self.p /= self.p.sum()
        self.seed = seed
        self.position = 0
        self.counts = [0] * len(self.channels)
        self._phase = np.random.default_rng([self.seed, 0]).random(len(self.channels))
        self._perms: dict[tuple[int, int], np.ndarray] = {}

    def _perm(self, ch: int, epoch: int) -> np.ndarray:
        key = (ch, epoch)
        if key not in self._perms:
            self._perms = {k: v for k, v in self._perms.items() if k[0] != ch}  # keep one epoch per channel
            self._perms[key] = np.random.default_rng([self.seed, 1 + ch, epoch]).permutation(self.sizes[ch])
        return self._perms[key]

    def take(self, n: int) -> list[tuple[str, int]]:
        """The next ``n`` picks."""
        due = (np.asarray(self.counts, dtype=float) + self._phase) / self.p  # when each channel's next pick is due
        out = []
        for _ in range(n):
            ch = int(np.argmin(due))
            c = self.counts[ch]
            out.append((self.channels[ch], int(self._perm(ch, c // self.sizes[ch])[c % self.sizes[ch]])))
            self.counts[ch] += 1
            due[ch] = (c + 1 + self._phase[ch]) / self.p[ch]
            self.position += 1
        return out

    def epochs(self) -> dict[str, float]:
        """How many times each channel has been read through so far."""
        return {c: n / s for c, n, s in zip(self.channels, self.counts, self.sizes, strict=True)}

    def state_dict(self) -> dict:
        return {"position": self.position, "counts": list(self.counts), "channels": list(self.channels)}

    def load_state_dict(self, state: dict) -> None:
        if state["channels"] != self.channels:
            raise MixtureError(f"checkpoint mixes channels {state['channels']}, this run {self.channels}")
        self.position, self.counts = int(state["position"]), [int(c) for c in state["counts"]]
