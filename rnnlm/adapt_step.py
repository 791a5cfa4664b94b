"""The two pieces of dynamic evaluation that both of its modes share: the private copy of the
weights that learns, and the update rule's step on it (rnnlm.dynamic_eval, rnnlm.batched_adapt)."""

from __future__ import annotations

import copy
import math

import torch

from .adapt_settings import AdaptSettings
from .model import RNNLM

RMS_BETA = 0.99  # running mean square's memory: about the last 100 steps
RMS_EPS = 1e-8


def private_copy(net: RNNLM) -> RNNLM:
    """A copy whose weights can be trained; a tied head stays tied (deepcopy keeps the sharing)."""
    twin = copy.deepcopy(net)
    twin.eval()  # no dropout: scores must not be random, and must match static scoring at lr 0
    for p in twin.parameters():
        p.requires_grad_(True)
    return twin


class Updater:
    """One update rule's step on the copy's weights, then the pull toward the trained ones."""

    def __init__(self, params: list[torch.Tensor], anchors: list[torch.Tensor], settings: AdaptSettings):
        self.params, self.anchors, self.settings = params, anchors, settings
        self.mean_squares = [torch.zeros_like(p) for p in params] if settings.rule == "rms" else None
        self.steps = 0

    def zero_grad(self) -> None:
        for p in self.params:
            p.grad = None

    @torch.no_grad()
    def step(self) -> None:
        s = self.settings
        if s.clip > 0:
            torch.nn.utils.clip_grad_norm_(self.params, s.clip)
        grads = [p.grad if p.grad is not None else torch.zeros_like(p) for p in self.params]
        self.steps += 1
        if self.mean_squares is None:
            for p, g in zip(self.params, grads):
                p.add_(g, alpha=-s.lr)
        else:
            # Bias correction: early on the running mean square has seen few windows and would
            # be too small (a first step of 10 x lr per weight with beta 0.99, not lr).
            # g / (sqrt(ms / c) + eps) = root_c g / (sqrt(ms) + root_c eps): one pass less over the weights.
            root_c = math.sqrt(1.0 - RMS_BETA ** self.steps)
            for p, g, ms in zip(self.params, grads, self.mean_squares):
                ms.mul_(RMS_BETA).addcmul_(g, g, value=1.0 - RMS_BETA)
                p.addcdiv_(g, ms.sqrt().add_(RMS_EPS * root_c), value=-s.lr * root_c)
        if s.decay > 0:
            for p, anchor in zip(self.params, self.anchors):
                p.lerp_(anchor, s.decay)  # p += decay * (anchor - p)
