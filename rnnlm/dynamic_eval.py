"""Dynamic evaluation: score a text while adapting to it (Krause et al. 2018, arXiv:1709.07432).

What it is for: a text is rarely like the average of the training corpus. One kernel file
reuses its own identifiers, one play its own names. Static scoring predicts every token
with the trained weights; dynamic evaluation lets the model learn from what it has
already read: the text is cut into windows, each window is scored, and only then does a
private copy of the weights take one gradient step on that window. Every token is still
predicted from the tokens before it alone, so the total is a true log-probability of the
text (a compressor could use it), comparable with static scoring on the same text.

Why this shape:
- A private copy (copy.deepcopy) is adapted; the loaded model is shared by every session
  of the playground and must never change. Its weights serve, read-only, as the anchor
  that `decay` pulls the copy back toward (theta += decay * (theta0 - theta)), so that the
  copy adapts to recent text without drifting far from what training found.
- One stream, in order: the adapted weights after window k depend on windows 0..k, so
  the text cannot be cut into segments scored side by side as rnnlm.scoring does. That
  makes it a chain of matrix-vector products forwards and backwards, bound by memory
  bandwidth: 700-1,300 chars/s on one thread for the shipped char models, against 4,500-6,500
  for static scoring (bench/bench_adapt.py). The recurrent layers' forward and backward for
  that one stream are written by hand for speed: rnnlm.window_layers.
- The recurrent state is carried across windows, detached, as in truncated BPTT: each
  step's gradient sees one window, and no window's graph outlives its step, so memory is
  the copy plus the update rule's statistics, whatever the text's length.
- Update rules: "sgd" is a plain gradient step. "rms" divides each weight's gradient by
  the root of its running mean square (RMSprop with Adam's bias correction, no momentum):
  Krause et al. normalise by mean squares collected on training data; running ones
  collected on the text itself need no training data and no extra pass.
- Deterministic: no sampling, no randomness; the same text, settings and thread count
  give the same figures bit for bit.

Measured settings and figures: docs/ADAPT.md.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from .language_model import LanguageModel
from .model import RNNLM, detach_state
from .scoring import ScoreResult
from .settings_checks import CheckedSettings, is_number, is_whole
from .window_layers import module_window_forward, window_forward

RULES = ("rms", "sgd")
ADAPT_PRECISIONS = ("float32", "bfloat16")
MAX_WINDOW = 10_000
RMS_BETA = 0.99  # running mean square's memory: about the last 100 windows
RMS_EPS = 1e-8

Progress = Callable[[int, int], None]  # on_window(done_chars, total_chars)


@dataclass(frozen=True)
class AdaptSettings(CheckedSettings):
    # Defaults tuned on validation slices of four shipped models (docs/ADAPT.md): lr 1e-3 was
    # better for some, worse for others; 5e-4 was best or within 0.02 nats/char of it for all.
    rule: str = "rms"  # "rms" (normalised steps) or "sgd"
    lr: float = 5e-4  # step size; 0 scores exactly as static scoring does (one exact stream)
    window: int = 50  # tokens scored between two updates: 20 was no better and 2.4x slower, 100 worse on code
    decay: float = 1e-3  # pull toward the trained weights after each step, in [0, 1]
    clip: float = 0.0  # largest gradient norm per step; 0 means no clipping
    precision: str = "float32"  # "bfloat16": matrix products under bfloat16 autocast

    def problems(self) -> list[str]:
        found = []
        if self.rule not in RULES:
            found.append(f"rule must be one of {', '.join(RULES)}, got {self.rule!r}")
        if not is_number(self.lr) or not 0.0 <= self.lr <= 1.0:
            found.append(f"lr must be a number from 0 to 1, got {self.lr!r}")
        if not is_whole(self.window) or not 1 <= self.window <= MAX_WINDOW:
            found.append(f"window must be a whole number of tokens from 1 to {MAX_WINDOW}, got {self.window!r}")
        if not is_number(self.decay) or not 0.0 <= self.decay <= 1.0:
            found.append(f"decay must be a number from 0 (none) to 1 (back to the trained weights), "
                         f"got {self.decay!r}")
        if not is_number(self.clip) or self.clip < 0:
            found.append(f"clip must be a gradient norm of 0 (off) or more, got {self.clip!r}")
        if self.precision not in ADAPT_PRECISIONS:
            found.append(f"precision must be one of {', '.join(ADAPT_PRECISIONS)}, got {self.precision!r}")
        return found


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


def adapt_logprobs(net: RNNLM, ids: list[int], context_id: int, settings: AdaptSettings,
                   on_window: Callable[[int], None] | None = None) -> np.ndarray:
    """Log-probability of ids[i] given context_id and ids[:i], each window scored before the
    copy of net learns from it. net itself is only read. on_window(tokens_done) after each window."""
    settings.validate()
    count = len(ids)
    if count == 0:
        return np.zeros(0)
    # Inside a caller's inference_mode (a page's scoring code, say) the copy and every tensor
    # made here could not carry gradients; this pass needs them.
    with torch.inference_mode(False), torch.enable_grad():
        twin = private_copy(net)
        anchors = [p.detach() for p in net.parameters()]  # read only: the copy decays toward these
        updater = Updater(list(twin.parameters()), anchors, settings)
        inputs = torch.tensor([context_id] + list(ids[:-1]), dtype=torch.int64)
        targets = torch.tensor(ids, dtype=torch.int64)
        result = np.empty(count)
        state = twin.initial_state(1)
        forward = module_window_forward if settings.precision == "bfloat16" else window_forward
        for start in range(0, count, settings.window):
            end = min(start + settings.window, count)
            logits, state = forward(twin, inputs[start:end], state)
            nll = F.cross_entropy(logits, targets[start:end], reduction="none")
            result[start:end] = -nll.detach().double().numpy()  # scored before learning from it
            if end < count:  # after the last window there is nothing left to predict
                updater.zero_grad()
                nll.mean().backward()  # a mean, so that lr does not scale with the window length
                updater.step()
            state = detach_state(state)
            if on_window is not None:
                on_window(end)
    return result


def adapt_ids(lm: LanguageModel, ids: list[int], chars: int, settings: AdaptSettings,
              on_window: Progress | None = None) -> ScoreResult:
    count = len(ids)
    # Characters done are estimated from tokens done: exact for char models, close for words.
    report = None if on_window is None else (lambda done: on_window(chars * done // max(count, 1), chars))
    logprobs = adapt_logprobs(lm.net, ids, lm.tokenizer.context_id(), settings, report)
    return ScoreResult(list(ids), [lm.tokenizer.token_text(i) for i in ids], logprobs, chars)


def adapt_text(lm: LanguageModel, text: str, settings: AdaptSettings | None = None,
               on_window: Progress | None = None) -> ScoreResult:
    """Score text with dynamic evaluation; comparable with rnnlm.scoring.score_text's result."""
    return adapt_ids(lm, lm.tokenizer.encode(text), len(text), settings or AdaptSettings(), on_window)
