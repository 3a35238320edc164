"""The training batches of a run, read ahead on a background thread into pinned memory.

For every optimizer step the loader draws the global batch from the mixture sampler (every rank draws the same
batch and keeps its own rows, so the data order ignores the number of GPUs), first drawing and discarding the
global batches ``skip_batches`` names, and cuts this rank's rows into micro-batches (as many as the batch-size
ramp-up gives the step). Each item carries the sampler's state after its batch: the state a checkpoint at that step
saves, however far the thread has read ahead. Reading is sequential on one thread, so the batches are the same
whatever the timing.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass

import torch

from trainer.data import TokenStream, batch
from trainer.mixture import MixtureSampler


@dataclass
class StepBatch:
    """What one optimizer step trains on."""

    step: int  # 1-based optimizer step
    micro: list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]  # inputs, targets, channel index per row
    sampler: dict  # the sampler's state after this step's batch
    batches: int  # global batches drawn after this one (skipped ones included)


@dataclass(frozen=True)
class BatchPlan:
    """How batches are cut: sequence length, rows per micro-batch, micro-batches per step, skipped batches."""

    seq_len: int
    micro_batch: int
    accum_at: Callable[[int], int]
    skip: tuple[tuple[int, int], ...]
    rank: int = 0
    world: int = 1

    def skipped(self, index: int) -> bool:
        return any(a <= index < b for a, b in self.skip)


def rows(streams: dict[str, TokenStream], picks: list[tuple[str, int]], seq_len: int,
         channels: dict[str, int]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Inputs, targets and channel index of the picked (channel, sequence index) pairs."""
    x, y = batch(streams, picks, seq_len)
    return x, y, torch.tensor([channels[c] for c, _ in picks], dtype=torch.int64)


def step_batch(streams: dict[str, TokenStream], sampler: MixtureSampler, plan: BatchPlan, step: int,
               batches: int, pin: bool) -> StepBatch:
    """The batch of ``step`` after ``batches`` global batches (advancing ``sampler``)."""
    accum = plan.accum_at(step)
    size = plan.micro_batch * plan.world * accum
    while plan.skipped(batches):
        sampler.take(size, step)
        batches += 1
    picks = sampler.take(size, step)
    index = {c: k for k, c in enumerate(sampler.channels)}
    per_micro = plan.micro_batch * plan.world
    micro = []
    for m in range(accum):
        mine = picks[m * per_micro:(m + 1) * per_micro][plan.rank::plan.world]
        tensors = rows(streams, mine, plan.seq_len, index)
        micro.append(tuple(t.pin_memory() for t in tensors) if pin else tensors)
    return StepBatch(step, micro, sampler.state_dict(), batches + 1)  # type: ignore[arg-type]


class Prefetcher:
    """Batches of steps ``start + 1 .. end`` made on a thread, at most ``depth`` ahead of the training loop."""

    def __init__(self, streams: dict[str, TokenStream], sampler: MixtureSampler, plan: BatchPlan, start: int,
                 end: int, batches: int, pin: bool, depth: int = 2) -> None:
        self._queue: queue.Queue = queue.Queue(maxsize=depth)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="batch-prefetch",
                                        args=(streams, sampler, plan, start, end, batches, pin))
        self._thread.start()

    def _run(self, streams: dict[str, TokenStream], sampler: MixtureSampler, plan: BatchPlan, start: int,
             end: int, batches: int, pin: bool) -> None:
        try:
            for step in range(start + 1, end + 1):
                item = step_batch(streams, sampler, plan, step, batches, pin)
                batches = item.batches
                if not self._put(item):
                    return
        except BaseException as err:  # handed to the training loop, which raises it
            self._put(err)

    def _put(self, item: StepBatch | BaseException) -> bool:
        """Queue ``item`` unless the loader is closed first (False)."""
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def next(self) -> StepBatch:
        item = self._queue.get()
        if isinstance(item, BaseException):
            raise item
        return item

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
