"""The mixture: each training sequence comes from a channel drawn with the configured probabilities.

Probabilities are the weights (or channel sizes when none are given), normalised, with caps applied: a capped
channel gets at most its cap and the excess goes to the others in proportion. A run may change them at given steps
(stages: e.g. an annealing mixture for the last steps). Channels are interleaved by a stratified schedule, not by
independent draws: channel ``c``'s ``j``-th pick is due at ``(j + phase_c) / p_c`` (a seeded phase in [0, 1)), and
every global batch holds the picks due, ``floor`` or ``ceil`` of ``p_c`` times its size. Independent draws would
scatter a small channel's count by about its square root: in a one-epoch budget its sequences would be read up to
twice while others are never read, and some batches would hold none of it. Within a channel, sequences are read in
a seeded random order, epoch after epoch, so a small channel with a large weight is upsampled by repetition and
every sequence is seen once per epoch. The batches depend only on the seed and the batch sizes, so the sampler is
deterministic, and its state (position, per-channel counts, stage) resumes it exactly.
"""

from __future__ import annotations

from collections.abc import Callable

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
    """Deterministic, resumable stream of global batches of (channel, sequence index) picks, in stages.

    ``stages`` are ``(first step, probabilities)`` from step 1 on (``[(1, probs)]`` for one mixture); a batch for a
    step takes the probabilities of the last stage begun by then. Each batch holds ``floor`` or ``ceil`` of
    ``p_c * n`` picks of channel ``c`` (a small channel gets its share in every global batch) and, counted from the
    stage's start, every channel stays within about one pick of ``p_c`` times the picks so far: the quota is what
    the seeded stratified schedule owes it, clipped to that range, the total mended on the channels furthest behind
    (or ahead). Within a batch the picks are interleaved by due time, so every micro-batch and rank gets a mix.
    Each channel is read in a seeded order epoch after epoch; its position carries across stages.

    ``units`` (channel -> first sequence of each unit, ``TokenStream.units``) keep groups together: such a channel
    is read unit by unit in a seeded order of units, and a batch takes whole units, as many as fit its quota (at
    least one; a unit longer than a batch is cut). The other channels absorb the difference, so the channel's share
    holds over batches, not within each one; with no ungrouped channel to absorb it, the last unit is cut."""

    def __init__(self, sizes: dict[str, int], stages: list[tuple[int, dict[str, float]]], seed: int,
                 units: dict[str, np.ndarray] | None = None) -> None:
        self.channels = sorted({c for _, probs in stages for c in probs})
        self.sizes = [sizes[c] for c in self.channels]
        self.units = [None if units is None else units.get(c) for c in self.channels]
        self.starts = [start for start, _ in stages]
        self.probs = [np.array([probs.get(c, 0.0) for c in self.channels]) for _, probs in stages]
        for p in self.probs:
            p /= p.sum()
        self.seed = seed
        self.position = 0
        self.counts = [0] * len(self.channels)
        self.stage = 0
        self.stage_counts = np.zeros(len(self.channels), np.int64)  # picks per channel since the stage began
        self._phase = np.random.default_rng([self.seed, 0]).random(len(self.channels))
        self._perms: dict[tuple[int, int], tuple[np.ndarray, np.ndarray | None]] = {}

    def _order(self, ch: int, epoch: int) -> tuple[np.ndarray, np.ndarray | None]:
        """The channel's read order in an epoch (sequence indices) and, with units, the positions in it where a
        unit ends."""
        key = (ch, epoch)
        if key not in self._perms:
            self._perms = {k: v for k, v in self._perms.items() if k[0] != ch}  # keep one epoch per channel
            rng = np.random.default_rng([self.seed, 1 + ch, epoch])
            starts = self.units[ch]
            if starts is None:
                self._perms[key] = (rng.permutation(self.sizes[ch]), None)
            else:
                lengths = np.diff(np.append(starts, self.sizes[ch]))[perm := rng.permutation(starts.size)]
                ends = np.cumsum(lengths) - 1
                order = np.repeat(starts[perm] - (ends - lengths + 1), lengths) + np.arange(self.sizes[ch])
                self._perms[key] = (order, ends)
        return self._perms[key]

    def _whole_units(self, ch: int, want: int, n: int) -> int:
        """Picks of channel ``ch`` covering whole units from its read position: the most that fit in ``want``, at
        least the next unit (cut at ``n`` when longer)."""
        taken, c = 0, self.counts[ch]
        while True:
            epoch, i = divmod(c, self.sizes[ch])
            ends = self._order(ch, epoch)[1]
            assert ends is not None
            rest = int(ends[np.searchsorted(ends, i)]) - i + 1  # to the end of the unit holding position i
            if taken + rest > want:
                return taken or min(rest, n)
            taken, c = taken + rest, c + rest
            if taken == want:
                return taken

    def stage_at(self, step: int) -> int:
        """The stage a batch for optimizer step ``step`` (1-based) draws from."""
        return int(np.searchsorted(self.starts, step, side="right")) - 1

    def _quotas(self, p: np.ndarray, n: int) -> np.ndarray:
        """Picks per channel in the next batch of ``n`` (see the class docstring)."""
        after = self.stage_counts.sum() + n
        lo, hi = np.floor(p * n), np.ceil(p * n)
        q = np.clip(np.floor(p * after + self._phase) - self.stage_counts, lo, hi)
        self._mend(q, p * after - (self.stage_counts + q), n, lambda grow: q < hi if grow else q > lo)
        return q.astype(np.int64)

    @staticmethod
    def _mend(q: np.ndarray, behind: np.ndarray, n: int, room: Callable[[bool], np.ndarray]) -> bool:
        """Bring the quotas ``q`` (in place) to ``n`` picks, one at a time on the channel furthest behind when
        growing, furthest ahead when shrinking, among those ``room(grow)`` allows; False when none is left."""
        while q.sum() != n:
            grow = bool(q.sum() < n)
            allowed = room(grow)
            if not allowed.any():
                return False
            ch = int(np.argmax(np.where(allowed, behind, -np.inf)) if grow
                     else np.argmin(np.where(allowed, behind, np.inf)))
            q[ch] += 1 if grow else -1
            behind[ch] -= 1 if grow else -1
        return True

    def _grouped(self, q: np.ndarray, p: np.ndarray, n: int) -> np.ndarray:
        """Quotas with whole units for the grouped channels (as many as fit what the schedule owes them so far),
        the difference taken up by the others."""
        grouped = np.array([u is not None for u in self.units])
        after = self.stage_counts.sum() + n
        owed = np.floor(p * after + self._phase) - self.stage_counts  # unclipped: whole units catch up over batches
        for ch in map(int, np.flatnonzero(grouped & (owed > 0))):
            q[ch] = self._whole_units(ch, int(owed[ch]), n)
        q[grouped & (owed <= 0)] = 0
        behind = p * after - (self.stage_counts + q)
        ungrouped = ~grouped & (p > 0)
        if not self._mend(q, behind, n, lambda grow: ungrouped if grow else ungrouped & (q > 0)):
            # nothing to absorb it: the largest grouped shares give (cutting a unit) or take
            order = sorted(map(int, np.flatnonzero(grouped & (p > 0))), key=lambda c: (-q[c], -p[c]))
            excess = int(q.sum()) - n
            for g in order if excess > 0 else order[:1]:
                change = min(excess, int(q[g]))
                q[g] -= change
                excess -= change
        return q

    def take(self, n: int, step: int = 1) -> list[tuple[str, int]]:
        """The global batch of ``n`` picks for optimizer step ``step``."""
        stage = self.stage_at(step)
        if stage != self.stage:
            self.stage, self.stage_counts = stage, np.zeros(len(self.channels), np.int64)
        q = self._quotas(self.probs[stage], n)
        if any(u is not None for u in self.units):
            q = self._grouped(q, self.probs[stage], n)
        due = sorted(((j + self._phase[ch]) / q[ch], ch) for ch in map(int, np.flatnonzero(q)) for j in range(q[ch]))
        out = []
        for _, ch in due:
            c = self.counts[ch]
            out.append((self.channels[ch], int(self._order(ch, c // self.sizes[ch])[0][c % self.sizes[ch]])))
            self.counts[ch] += 1
        self.stage_counts += q
        self.position += n
        return out

    def epochs(self) -> dict[str, float]:
        """How many times each channel has been read through so far."""
        return {c: n / s for c, n, s in zip(self.channels, self.counts, self.sizes, strict=True)}

    def state_dict(self) -> dict:
        return {"position": self.position, "counts": list(self.counts), "channels": list(self.channels),
                "stage": self.stage, "stage_counts": self.stage_counts.tolist()}

    def load_state_dict(self, state: dict) -> None:
        if state["channels"] != self.channels:
            raise MixtureError(f"checkpoint mixes channels {state['channels']}, this run {self.channels}")
        self.position, self.counts = int(state["position"]), [int(c) for c in state["counts"]]
        # a sampler of an earlier trainer had one stage
        self.stage = int(state.get("stage", 0))
        self.stage_counts = np.array(state.get("stage_counts", self.counts), np.int64)
