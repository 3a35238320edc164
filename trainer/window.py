"""The optimizer steps since the last log line, kept on the device and read once.

Every step leaves its loss, grad norm and per-channel (loss sum, target count) on the device, so the loop never
waits for the GPU between log lines; ``read`` reduces them over ranks in one collective each and returns plain
numbers: per-step losses and grad norms (for spike and non-finite checks), the token-weighted training loss overall
and per channel, and tokens/s over the timed steps.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch

from trainer.step import StepResult

if TYPE_CHECKING:
    from accelerate import Accelerator


@dataclass
class WindowRead:
    """The steps of one window as numbers."""

    steps: list[int]
    batches: list[int]  # global batches drawn after each step
    losses: list[float]
    grad_norms: list[float]
    train_loss: float | None  # token-weighted over the window
    channel_loss: dict[str, float]
    channel_tokens: dict[str, int]  # targets trained on per channel
    tokens_per_s: float | None
    layer_norms: dict[str, tuple[float, float]] | None


class StepWindow:
    """Accumulates steps between reads; ``channels`` name the rows of the per-channel sums."""

    def __init__(self, channels: list[str], device: torch.device) -> None:
        self.channels = channels
        self.sums = torch.zeros(len(channels), 2, dtype=torch.float64, device=device)
        self._results: list[StepResult] = []
        self._steps: list[int] = []
        self._batches: list[int] = []
        self._timed_tokens = 0
        self._started = time.perf_counter()

    def restart_clock(self) -> None:
        """Time from now on (after compilation, evaluation, checkpoints: what tokens/s leaves out)."""
        self._timed_tokens, self._started = 0, time.perf_counter()

    def add(self, step: int, batches: int, result: StepResult, tokens: int) -> None:
        self._results.append(result)
        self._steps.append(step)
        self._batches.append(batches)
        self._timed_tokens += tokens

    def read(self, accelerator: Accelerator) -> WindowRead:
        """Wait for the device, reduce over ranks, and start a new window."""
        losses = accelerator.reduce(torch.stack([r.loss for r in self._results]), "mean").tolist()
        norms = torch.stack([r.grad_norm.float() for r in self._results]).tolist()
        sums = accelerator.reduce(self.sums, "sum").tolist()
        elapsed = time.perf_counter() - self._started
        last = self._results[-1].layer_norms
        layer = {k: (float(g), float(p)) for k, (g, p) in last.items()} if last else None
        total = sum(n for _, n in sums)
        out = WindowRead(list(self._steps), list(self._batches), losses, norms,
                         sum(s for s, _ in sums) / total if total else None,
                         {c: s / n for c, (s, n) in zip(self.channels, sums, strict=True) if n},
                         {c: int(n) for c, (_, n) in zip(self.channels, sums, strict=True) if n},
                         self._timed_tokens / elapsed if self._timed_tokens and elapsed > 0 else None, layer)
        self._results, self._steps, self._batches = [], [], []
        self.sums.zero_()
        self.restart_clock()
        return out
