"""Learning-rate schedules as pure functions of the step (so resuming needs only the step): linear warmup, then
cosine decay, or WSD — warmup, a stable plateau, and a final cooldown (Hägele et al. 2024: a 1-sqrt cooldown over
the last ~20% of steps matches cosine, and the plateau checkpoints can be cooled down for any shorter run)."""

from __future__ import annotations

import math

from trainer.config import ScheduleConfig


def lr_at(step: int, total: int, base_lr: float, s: ScheduleConfig) -> float:
    """Learning rate of optimizer step ``step`` (0-based) out of ``total``."""
    floor = base_lr * s.min_lr_ratio
    if step < s.warmup_steps:
        return base_lr * (step + 1) / s.warmup_steps
    if s.kind == "cosine":
        progress = min(1.0, (step - s.warmup_steps) / max(1, total - 1 - s.warmup_steps))
        return floor + (base_lr - floor) * 0.5 * (1 + math.cos(math.pi * progress))
    decay_start = max(s.warmup_steps, total - round(s.decay_fraction * total))
    if step < decay_start:
        return base_lr
    progress = min(1.0, (step - decay_start + 1) / max(1, total - decay_start))
    factor = 1 - progress if s.decay_shape == "linear" else 1 - math.sqrt(progress)
    return floor + (base_lr - floor) * factor
