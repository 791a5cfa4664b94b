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
- One stream, in order (the reference, streams=1): the adapted weights after window k
  depend on windows 0..k, so one stream is a chain of matrix-vector products forwards and
  backwards, bound by memory bandwidth: about 1,000 chars/s on one thread for the shipped
  char models. Its recurrent layers are written by hand for speed: rnnlm.window_layers.
  The batched mode (streams=B, rnnlm.batched_adapt) reads B segments side by side with one
  shared step per B windows, in an order a decoder can follow, at matrix-product speed.
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

from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as F

from .adapt_settings import ADAPT_PRECISIONS, MAX_WINDOW, RULES, AdaptSettings, streams_for
from .adapt_step import Updater, private_copy
from .batched_adapt import batched_adapt_logprobs, one_stream_forward
from .language_model import LanguageModel
from .model import RNNLM, detach_state
from .scoring import ScoreResult

__all__ = ["ADAPT_PRECISIONS", "MAX_WINDOW", "RULES", "AdaptSettings", "Updater", "adapt_ids", "adapt_logprobs",
           "adapt_text", "private_copy", "streams_for"]

Progress = Callable[[int, int], None]  # on_window(done_chars, total_chars)


def adapt_logprobs(net: RNNLM, ids: list[int], context_id: int, settings: AdaptSettings,
                   on_window: Callable[[int], None] | None = None) -> np.ndarray:
    """Log-probability of ids[i] given context_id and ids[:i], each window scored before the
    copy of net learns from it. net itself is only read. on_window(tokens_done) after each window.
    settings: with their window (AdaptSettings.for_level)."""
    settings.validate().window_needed()
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
        forward = one_stream_forward(settings)
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
    settings = settings.validate().for_level(lm.level)
    # One stream: the reference below. Batched (streams > 1): rnnlm.batched_adapt, which reads a
    # text too short for two streams as one exact stream too.
    adapt = adapt_logprobs if settings.streams == 1 else batched_adapt_logprobs
    logprobs = adapt(lm.net, ids, lm.tokenizer.context_id(), settings, report)
    return ScoreResult(list(ids), [lm.tokenizer.token_text(i) for i in ids], logprobs, chars)


def adapt_text(lm: LanguageModel, text: str, settings: AdaptSettings | None = None,
               on_window: Progress | None = None) -> ScoreResult:
    """Score text with dynamic evaluation; comparable with rnnlm.scoring.score_text's result."""
    return adapt_ids(lm, lm.tokenizer.encode(text), len(text), settings or AdaptSettings(), on_window)
