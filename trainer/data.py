"""Reading a packed token folder: memory-mapped streams per channel, cut into fixed-length training sequences.

Sequence ``i`` of a stream is tokens ``[i*T, i*T + T + 1)``: inputs are its first T tokens, targets the last T,
so consecutive sequences overlap by one token and every token after the first is a target exactly once. The
last sequence is padded (inputs with PAD, targets with the ignore index), so no token is ever dropped.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

from trainer.model import IGNORE_INDEX
from trainer.pack import COMPLETE, INDEX, VERSION, PackError, groups_file


class TokenStream:
    """The ``.npy`` files of one channel and split, read as one sequence of tokens."""

    def __init__(self, root: Path, files: list[list], pad_id: int, grouped: bool = False) -> None:
        self.arrays = [np.load(root / rel, mmap_mode="r") for rel, _ in files]
        self.offsets = np.cumsum([0] + [a.size for a in self.arrays])
        self.pad_id = pad_id
        self.group_spans = (np.concatenate([np.load(root / groups_file(rel)) + off
                                            for (rel, _), off in zip(files, self.offsets, strict=False)])
                            if grouped and files else np.zeros((0, 2), np.int64))

    @property
    def n_tokens(self) -> int:
        return int(self.offsets[-1])

    def tokens(self, start: int, stop: int) -> np.ndarray:
        """Tokens ``[start, stop)`` across file boundaries."""
        first = int(np.searchsorted(self.offsets, start, side="right")) - 1
        parts, pos = [], start
        for k in range(first, len(self.arrays)):
            if pos >= stop:
                break
            lo = pos - int(self.offsets[k])
            take = min(stop - pos, self.arrays[k].size - lo)
            parts.append(self.arrays[k][lo:lo + take])
            pos += take
        return np.concatenate(parts).astype(np.int64) if parts else np.zeros(0, np.int64)

    def n_sequences(self, seq_len: int) -> int:
        return -(-(self.n_tokens - 1) // seq_len) if self.n_tokens > 1 else 0

    def units(self, seq_len: int) -> np.ndarray | None:
        """First sequence of every unit, or None when the stream holds no group. A unit is the sequences that start
        inside one group's span (a group within one sequence stays in the sequence it starts in); every other
        sequence is a unit of its own."""
        if not len(self.group_spans):
            return None
        n = self.n_sequences(seq_len)
        first, stop = -(-self.group_spans // seq_len).T  # sequences starting in [start, stop): first .. stop - 1
        inside = np.zeros(n + 1, np.int64)
        np.add.at(inside, np.minimum(first + 1, n)[first < stop], 1)
        np.add.at(inside, np.minimum(stop, n)[first < stop], -1)
        return np.flatnonzero(np.cumsum(inside)[:n] == 0)

    def sequence(self, i: int, seq_len: int) -> tuple[np.ndarray, np.ndarray]:
        """Inputs and targets of sequence ``i`` (padded to ``seq_len``)."""
        chunk = self.tokens(i * seq_len, min(i * seq_len + seq_len + 1, self.n_tokens))
        x = np.full(seq_len, self.pad_id, np.int64)
        y = np.full(seq_len, IGNORE_INDEX, np.int64)
        x[: chunk.size - 1], y[: chunk.size - 1] = chunk[:-1], chunk[1:]
        return x, y


class TokenData:
    """A complete token folder written by ``trainer.pack``."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        if not (self.root / COMPLETE).exists():
            raise PackError(f"{root}: not a complete token folder (run python -m trainer.pack first)")
        self.index = json.loads((self.root / INDEX).read_text())
        if self.index.get("version") != VERSION:
            raise PackError(f"{root}: packed by an older trainer (index version {self.index.get('version')}); "
                            "pack it again (python -m trainer.pack ... --overwrite)")
        self.pad_id, self.eos_id = self.index["special_ids"]["pad"], self.index["special_ids"]["eos"]

    @property
    def channels(self) -> list[str]:
        return sorted(self.index["channels"])

    @property
    def vocab_size(self) -> int:
        return self.index["vocab_size"]

    def stream(self, channel: str, split: str) -> TokenStream:
        """One channel's stream of a split; ``all`` reads the train then the held-out files."""
        entry = self.index["channels"][channel]
        files = entry["train"]["files"] + entry["heldout"]["files"] if split == "all" else entry[split]["files"]
        return TokenStream(self.root, files, self.pad_id, grouped=self.index["group"] is not None)

    def streams(self, split: str) -> dict[str, TokenStream]:
        """Non-empty streams of a split (train, heldout or all), by channel."""
        out = {c: self.stream(c, split) for c in self.channels}
        return {c: s for c, s in out.items() if s.n_tokens > 1}


def batch(streams: dict[str, TokenStream], picks: list[tuple[str, int]], seq_len: int) -> tuple[torch.Tensor, ...]:
    """Stack the picked (channel, sequence index) pairs into input and target tensors."""
    pairs = [streams[c].sequence(i, seq_len) for c, i in picks]
    return torch.from_numpy(np.stack([x for x, _ in pairs])), torch.from_numpy(np.stack([y for _, y in pairs]))
