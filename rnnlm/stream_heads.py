"""Each stream's own output layer in batched dynamic evaluation (rnnlm.batched_adapt).

Why: in the batched mode one shared step learns from B places of the text at once, so what
is particular to one place (a source file's own identifiers) reaches that place's next
window diluted among the B - 1 others. The recurrent matrices must stay shared (a step with
a matrix per stream would be B matrix-vector products again, the single stream's cost), but
the output layer is applied once per window, not per step: each stream can keep its own
correction to it, learnt from its own windows alone, at the cost of one batched matrix
product per window. On 100,000 validation characters of C this recovered about two thirds
of what the batched mode lost against the single stream (docs/ADAPT.md).

Why the step is divided by the hidden outputs' size: an RMS-normalised step moves every
weight by about lr, so it moves a logit by about lr x |h|_1, and |h|_1 is ~70 for the
shipped LSTMs against ~450 for the GRUs and RNNs (their outputs sit near +-1). Dividing by
the window's mean |h|_1 makes `stream_lr` the change of a logit per step, which suited both.

Memory: B x vocab x hidden floats three times (the corrections, their gradients and mean
squares), plus the step's temporaries: 14 MB (x3) for 16 streams of a 2x512 char model with
138 symbols; a word model's 8,000-word layer would take 0.8 GB, so word-sized vocabularies
and anything above MAX_FLOATS go without (stream_heads_fit).
"""

from __future__ import annotations

import math

import torch

from .adapt_settings import AdaptSettings
from .adapt_step import RMS_BETA, RMS_EPS

# B x vocab x hidden floats, three times (corrections, gradients, mean squares), and about as much
# again in the step's temporaries: ~200 MB at most; 64 streams of a 640-unit char model of 190 symbols.
MAX_FLOATS = 8_000_000
# Tuned on char models (65-190 symbols) only: word vocabularies (2,000-8,000 pieces) are left out
# even where they would fit, as a 2,000-word model would for a few streams.
MAX_VOCAB = 1_024


def stream_heads_fit(streams: int, vocab: int, hidden: int, settings: AdaptSettings) -> bool:
    """Whether each stream gets its own output layer correction: batched, on, a char-sized
    vocabulary, and small enough."""
    return (streams > 1 and settings.stream_lr > 0 and vocab <= MAX_VOCAB
            and streams * vocab * hidden <= MAX_FLOATS)


class StreamHeads:
    """Per-stream corrections (B, vocab, hidden) to the shared output layer's weights, starting at
    zero, each learnt only from its own stream's windows with RMS-normalised steps (whatever the
    shared rule: the step's size is set as a logit change), decaying toward zero by `decay`."""

    def __init__(self, streams: int, vocab: int, hidden: int, settings: AdaptSettings):
        self.delta = torch.zeros(streams, vocab, hidden, requires_grad=True)
        self.mean_squares = torch.zeros(streams, vocab, hidden)
        self.settings, self.steps = settings, 0
        self.hidden_sizes = torch.ones(streams, 1, 1)  # each stream's mean |h|_1 in its last window

    def logits(self, x: torch.Tensor, shared: torch.Tensor) -> torch.Tensor:
        """x (T, B, hidden), the shared layer's logits (T, B, vocab) -> each stream's own logits."""
        self.hidden_sizes = x.detach().float().abs().sum(-1).mean(0).clamp_min(1e-6).view(-1, 1, 1)
        own = torch.bmm(x.transpose(0, 1), self.delta.transpose(1, 2))  # (B, T, vocab)
        return shared + own.transpose(0, 1).float()

    def zero_grad(self) -> None:
        self.delta.grad = None

    @torch.no_grad()
    def step(self) -> None:
        """Stream b's gradient comes from stream b's window only (the loss sums over streams), and
        its step size from its own outputs: nothing passes from one stream to another here."""
        g = self.delta.grad if self.delta.grad is not None else torch.zeros_like(self.delta)
        self.steps += 1
        root_c = math.sqrt(1.0 - RMS_BETA ** self.steps)  # bias correction, as rnnlm.adapt_step.Updater
        self.mean_squares.mul_(RMS_BETA).addcmul_(g, g, value=1.0 - RMS_BETA)
        lr = (self.settings.stream_lr / self.hidden_sizes).clamp_max(1.0)  # (B, 1, 1)
        self.delta.sub_(g / self.mean_squares.sqrt().add_(RMS_EPS * root_c) * (lr * root_c))
        if self.settings.decay > 0:
            self.delta.mul_(1.0 - self.settings.decay)  # toward zero: back to the shared layer
