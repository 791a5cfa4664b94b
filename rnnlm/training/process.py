"""How a training run sits in its process: the torchrun ranks, Ctrl-C, the thread count.

Under torchrun (WORLD_SIZE > 1) Ranks joins the gloo process group; rank 0 decides and
the others follow (broadcast), and checkpoints gather every rank's state (gather).
With one process every method is a no-op.
"""

from __future__ import annotations

import os
import signal
import threading
from contextlib import contextmanager

import torch
import torch.distributed as dist

from ..runtime import configure_threads


class Ranks:
    """The torchrun process group, or a single process."""

    def __init__(self):
        self.world = int(os.environ.get("WORLD_SIZE", "1"))
        self.rank = int(os.environ.get("RANK", "0"))
        self.owns_group = self.world > 1 and not dist.is_initialized()
        if self.owns_group:
            dist.init_process_group("gloo")  # the model trains on the CPU; nccl moves only CUDA tensors

    @property
    def leader(self) -> bool:
        return self.rank == 0

    def broadcast(self, values: list[float]) -> list[float]:
        """Rank 0's values, on every rank."""
        if self.world == 1:
            return values
        tensor = torch.tensor(values, dtype=torch.float64)
        dist.broadcast(tensor, src=0)
        return tensor.tolist()

    def share_bytes(self, data: bytes | None) -> bytes:
        """Rank 0's bytes, on every rank (the others pass None)."""
        if self.world == 1:
            return data
        size = torch.tensor([len(data) if self.leader else 0])
        dist.broadcast(size, src=0)
        buffer = torch.frombuffer(bytearray(data), dtype=torch.uint8) if self.leader \
            else torch.empty(int(size), dtype=torch.uint8)
        dist.broadcast(buffer, src=0)
        return buffer.numpy().tobytes()

    def gather(self, tensor: torch.Tensor, dim: int) -> torch.Tensor:
        """Every rank's tensor, concatenated along dim in rank order."""
        if self.world == 1:
            return tensor
        parts = [torch.empty_like(tensor) for _ in range(self.world)]
        dist.all_gather(parts, tensor.contiguous())
        return torch.cat(parts, dim=dim)

    def close(self) -> None:
        if self.owns_group:
            dist.destroy_process_group()


@contextmanager
def torch_threads(count: int):
    """Train with count threads, then give the caller back its own setting (the playground
    runs fine-tunes inside a server that serves other sessions)."""
    before = torch.get_num_threads()
    configure_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(before)


STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)  # Ctrl-C, and what hosts and schedulers send before SIGKILL
_DEFAULT_HANDLERS = {signal.SIGINT: signal.default_int_handler, signal.SIGTERM: signal.SIG_DFL}


@contextmanager
def stop_on_interrupt(flag: threading.Event):
    """The first Ctrl-C or SIGTERM asks the loop to stop after the current step and save, since a
    checkpoint taken mid-step would hold a half-applied update; a second one interrupts at once."""
    if threading.current_thread() is not threading.main_thread():
        yield  # signals reach only the main thread
        return
    # Each signal is taken over only while it has its default handler: one someone else set,
    # or SIGINT ignored (as in a background shell job), is left alone.
    ours = [s for s in STOP_SIGNALS if signal.getsignal(s) is _DEFAULT_HANDLERS[s]]

    def restore_defaults():
        for s in ours:
            signal.signal(s, _DEFAULT_HANDLERS[s])

    def request_stop(signum, frame):
        flag.set()
        restore_defaults()

    for s in ours:
        signal.signal(s, request_stop)
    try:
        yield
    finally:
        restore_defaults()
