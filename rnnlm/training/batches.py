"""Truncated-BPTT batches: B parallel streams through the text, one window at a time.

The token array is cut into B * world contiguous streams; window k of every stream
follows window k-1 directly, so the hidden state carried from one window to the next
holds real context (the classic char-rnn setup). When the streams wrap to their start
the trainer resets the state. Under DDP each rank takes its own block of streams.
"""

from __future__ import annotations

import numpy as np
import torch

from ..errors import CorpusError


class StreamBatcher:
    def __init__(self, ids, batch_size: int, window: int, rank: int = 0, world_size: int = 1):
        ids = np.asarray(ids, dtype=np.int64)
        total_streams = batch_size * world_size
        stream_length = len(ids) // total_streams
        if stream_length < window + 1:
            raise CorpusError(f"{len(ids):,} tokens are too few for {total_streams} streams of windows of "
                              f"{window}; lower batch_size or window, or add text")
        streams = ids[:stream_length * total_streams].reshape(total_streams, stream_length)
        self.streams = torch.from_numpy(streams[rank * batch_size:(rank + 1) * batch_size].copy())
        self.window = window
        self.windows_per_epoch = (stream_length - 1) // window
        self.position = 0  # index of the next window within the epoch

    @property
    def tokens_per_window(self) -> int:
        return self.streams.shape[0] * self.window

    def seek(self, position: int) -> None:
        """Continue from window `position` (a resumed run); wraps if the epoch got shorter."""
        self.position = position % self.windows_per_epoch

    def next(self) -> tuple[torch.Tensor, torch.Tensor, bool]:
        """(inputs (batch, window), targets (batch, window), True if the streams restart here)."""
        start = self.position * self.window
        inputs = self.streams[:, start:start + self.window]
        targets = self.streams[:, start + 1:start + self.window + 1]
        restarts = self.position == 0
        self.position = (self.position + 1) % self.windows_per_epoch
        return inputs, targets, restarts
