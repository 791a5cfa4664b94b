"""Effective memory: how much a model's loss rises when it may only read the last k tokens.

For each k the model starts from a zero state k tokens before the scored token; the full
figure reads the whole text with its state carried. Where the curve meets the full line,
the model has stopped using older context, whatever its gradients could in principle carry.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch

from ..errors import SettingsError
from ..model import RNNLM
from .gradient_flow import window_starts

DEFAULT_CONTEXTS = (1, 2, 4, 8, 16, 32, 64, 128, 256)


@dataclass(frozen=True)
class MemoryCurve:
    contexts: list[int]
    nats_per_token: list[float]  # mean loss of the scored tokens with only that many tokens before them
    full_nats_per_token: float  # the same tokens read with the whole text before them
    positions: int

    def rise(self) -> list[float]:
        """Extra nats per token each cut costs over the full context."""
        return [n - self.full_nats_per_token for n in self.nats_per_token]


def effective_memory(net: RNNLM, ids: Sequence[int], contexts: Sequence[int] = DEFAULT_CONTEXTS,
                     positions: int = 128, batch: int = 64,
                     progress: Callable[[float], None] | None = None) -> MemoryCurve:
    contexts = sorted({int(k) for k in contexts})
    if not contexts or contexts[0] < 1:
        raise SettingsError("context lengths must be whole numbers of at least 1")
    ids_tensor = torch.as_tensor(list(ids), dtype=torch.long)
    starts = window_starts(len(ids_tensor), contexts[-1], positions)
    targets = [s + contexts[-1] for s in starts]  # every cut scores the same tokens
    net.eval()
    with torch.no_grad():
        full = _full_context_losses(net, ids_tensor, targets)
        losses = []
        for index, k in enumerate(contexts):
            losses.append(_cut_context_loss(net, ids_tensor, targets, k, batch))
            if progress:
                progress((index + 1) / len(contexts))
    return MemoryCurve(contexts, losses, full, len(targets))


def _full_context_losses(net: RNNLM, ids: torch.Tensor, targets: list[int]) -> float:
    logits, _ = net(ids[None, :max(targets)])
    log_probs = torch.log_softmax(logits[0].float(), dim=-1)
    picked = log_probs[torch.tensor(targets) - 1, ids[targets]]
    return float(-picked.mean())


def _cut_context_loss(net: RNNLM, ids: torch.Tensor, targets: list[int], k: int, batch: int) -> float:
    total = 0.0
    for first in range(0, len(targets), batch):
        chunk = targets[first:first + batch]
        windows = torch.stack([ids[t - k:t + 1] for t in chunk])
        logits, _ = net(windows[:, :-1])
        log_probs = torch.log_softmax(logits[:, -1].float(), dim=-1)
        total -= float(log_probs.gather(1, windows[:, -1:]).sum())
    return total / len(targets)
