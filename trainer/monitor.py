"""What a run reports and watches: spike detection (loss, grad norm), a hang watchdog, and metrics to TensorBoard,
``metrics.jsonl`` and the console."""

from __future__ import annotations

import faulthandler
import json
import sys
import warnings
from collections import deque
from pathlib import Path

from tqdm.auto import tqdm


class SpikeDetector:
    """Flags a loss above ``factor`` x the mean of the last ``window`` non-spike losses (once the window is full)."""

    def __init__(self, factor: float, window: int) -> None:
        self.factor = factor
        self.recent: deque[float] = deque(maxlen=window)
        self.spikes: list[dict] = []

    def update(self, step: int, loss: float) -> bool:
        """Record ``loss``; return True (and remember the step) when it is a spike."""
        if len(self.recent) == self.recent.maxlen:
            mean = sum(self.recent) / len(self.recent)
            if loss > self.factor * mean:
                self.spikes.append({"step": step, "loss": loss, "rolling_mean": mean})
                return True
        self.recent.append(loss)
        return False

    def state_dict(self) -> dict:
        return {"recent": list(self.recent), "spikes": list(self.spikes)}

    def load_state_dict(self, state: dict) -> None:
        self.recent.clear()
        self.recent.extend(state["recent"])
        self.spikes = list(state["spikes"])


def _stderr_fd() -> int | None:
    """The process's own stderr file descriptor (faulthandler writes to one), or None (e.g. captured by a notebook)."""
    try:
        return sys.__stderr__.fileno()  # type: ignore[union-attr]
    except (AttributeError, OSError, ValueError):  # io.UnsupportedOperation is an OSError and a ValueError
        return None


class Watchdog:
    """Prints every thread's stack and exits the process (status 1) when no step finishes within ``timeout``
    seconds: a hung collective or data read then ends the job with a traceback instead of holding the GPUs.
    ``faulthandler`` runs the timer in C, so it fires even while Python is blocked in a CUDA or NCCL call."""

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self.fd = _stderr_fd()
        if timeout and self.fd is None:
            warnings.warn("hang watchdog off: the process has no stderr file descriptor", stacklevel=2)
            self.timeout = 0

    def arm(self) -> None:
        """(Re)start the countdown; call after every step."""
        if self.timeout:
            faulthandler.dump_traceback_later(self.timeout, exit=True, file=self.fd)  # type: ignore[arg-type]

    def disarm(self) -> None:
        if self.timeout:
            faulthandler.cancel_dump_traceback_later()


class Monitor:
    """Writes metrics on the main process only: TensorBoard scalars, one JSON line per record, a progress bar."""

    def __init__(self, out: Path, total: int, start: int, main: bool, progress: bool) -> None:
        self.main = main
        self.metrics_path = out / "metrics.jsonl"
        self.writer = None
        self.bar = None
        if main:
            from torch.utils.tensorboard import SummaryWriter

            out.mkdir(parents=True, exist_ok=True)
            self._truncate(start)
            self.writer = SummaryWriter(str(out / "tensorboard"), purge_step=start or None)
            self.bar = tqdm(total=total, initial=start, disable=not progress, desc="train", dynamic_ncols=True)

    def rewind(self, step: int) -> None:
        """Forget what was recorded after ``step`` (a rollback): metrics lines, TensorBoard events, progress."""
        if not self.main or self.writer is None or self.bar is None:
            return
        self._truncate(step)
        log_dir = self.writer.log_dir
        self.writer.close()
        from torch.utils.tensorboard import SummaryWriter

        self.writer = SummaryWriter(log_dir, purge_step=step)
        self.bar.n = step
        self.bar.refresh()

    def _truncate(self, start: int) -> None:
        """On resume, forget records an interrupted run wrote after its last checkpoint (fresh run: all)."""
        if not self.metrics_path.exists():
            return
        lines = self.metrics_path.read_text(encoding="utf-8").splitlines(keepends=True)
        self.metrics_path.write_text("".join(ln for ln in lines if start and json.loads(ln)["step"] <= start))

    def record(self, kind: str, step: int, values: dict[str, float | None], console: str | None = None) -> None:
        """One record: ``kind/name`` scalars in TensorBoard, a JSON line, and an optional console line."""
        if not self.main:
            return
        for name, value in values.items():
            if isinstance(value, int | float) and self.writer is not None:
                self.writer.add_scalar(f"{kind}/{name}", value, step)
        with self.metrics_path.open("a", encoding="utf-8") as f:
            f.write(json.dumps({"kind": kind, "step": step, **values}) + "\n")
        if console:
            tqdm.write(console)

    def advance(self, steps: int, loss: float) -> None:
        if self.bar is not None:
            self.bar.update(steps)
            self.bar.set_postfix(loss=f"{loss:.4f}", refresh=False)

    def spike(self, what: str, step: int, value: float, mean: float) -> None:
        if self.main:
            warnings.warn(f"{what} spike at step {step}: {value:.4f} > rolling mean {mean:.4f}", stacklevel=2)

    def close(self) -> None:
        for handle in (self.bar, self.writer):  # both exist on the main process only
            if handle is not None:
                handle.close()
