"""Batched dynamic evaluation: B segments of the text adapt one shared copy of the weights.

Why: the single stream (rnnlm.dynamic_eval) is a chain of matrix-vector products, bound by
memory bandwidth, far below the machine's arithmetic rate. Here the text is cut into B
contiguous segments read side by side as B streams of a batch. Step j scores window j of
every segment with the current adapted weights, then takes one gradient step on the mean
loss of those B windows. A step is then matrix products of B rows (bench/bench_adapt.py).

Why the total is still a true log-probability of the text: read the text in the order
"window 0 of every segment, update, window 1 of every segment, update, ...". A decoder can
decode in exactly that order, and every token is predicted from text earlier in it only:
its own segment's tokens before it, and weights learnt from windows of earlier steps. So a
segment cannot start from the state at the end of the segment before it (that text comes
last in the order): each starts from a fresh state, as if it followed a newline, which
costs a little at B - 1 boundaries. The tests check both: a change in any window changes no
score of an earlier step, nor any score before it in its own segment.

What changes against one stream: B times fewer steps, each learning from B places of the
text at once, and B - 1 fresh starts; the shared step is lr x sqrt(B) (adapt_settings.shared_lr),
and each stream may keep its own correction to the output layer (rnnlm.stream_heads). Tuned
settings and figures: docs/ADAPT.md.

With one stream (a short text, or streams=1) the steps are the single stream's, through the
same kernels, so the figures equal rnnlm.dynamic_eval.adapt_logprobs's bit for bit (tested).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import numpy as np
import torch
import torch.nn.functional as F

from .adapt_settings import AdaptSettings, shared_lr, stream_bounds, streams_for
from .adapt_step import Updater, private_copy
from .batch_window_layers import batch_recur
from .model import RNNLM, State, detach_state
from .scoring import native_bfloat16
from .stream_heads import StreamHeads, stream_heads_fit
from .window_layers import module_window_forward, window_forward

IGNORED = -100  # cross_entropy's ignore_index: the padding after the last, shorter segment


def segment_matrices(ids: list[int], context_id: int, bounds: list[tuple[int, int]]
                     ) -> tuple[torch.Tensor, torch.Tensor]:
    """(inputs, targets), each (B, longest segment): segment b predicts ids[start:end] from
    context_id followed by ids[start:end - 1] (never from the text before it: that comes later
    in the decoding order). Targets past a segment's end are IGNORED."""
    width = max(end - start for start, end in bounds)
    inputs = np.full((len(bounds), width), context_id, dtype=np.int64)
    targets = np.full((len(bounds), width), IGNORED, dtype=np.int64)
    for row, (start, end) in enumerate(bounds):
        inputs[row, 1:end - start] = ids[start:end - 1]
        targets[row, :end - start] = ids[start:end]
    return torch.from_numpy(inputs), torch.from_numpy(targets)


def uses_bfloat16(settings: AdaptSettings, streams: int) -> bool:
    """"auto" is bfloat16 for B streams where the CPU has it natively, and float32 for one stream,
    as the reference (rnnlm.dynamic_eval) reads it."""
    if streams == 1 or settings.precision != "auto":
        return settings.precision == "bfloat16"
    return native_bfloat16()


def one_stream_forward(settings: AdaptSettings):
    """The single stream's window forward (the reference's, rnnlm.dynamic_eval, and the batched
    mode's with one stream): torch's modules under autocast for bfloat16, else the hand-written layers."""
    return module_window_forward if uses_bfloat16(settings, 1) else window_forward


def what_runs(net: RNNLM, count: int, settings: AdaptSettings) -> dict:
    """What adapting a text of `count` tokens with these settings really does, for reports: the
    streams, the shared step, the precision and whether each stream has its own output layer."""
    streams = streams_for(count, settings)
    vocab, hidden = net.head.weight.shape
    return {"mode": "batched" if streams > 1 else "single-stream", "streams": streams,
            "shared_lr": shared_lr(settings, streams),
            "precision": "bfloat16" if uses_bfloat16(settings, streams) else "float32",
            "own_output_layers": stream_heads_fit(streams, vocab, hidden, settings)}


class BatchedForward:
    """ids (T, B) -> logits (T, B, vocab) and the state after them: the single stream's kernels
    for one stream (so that it is the reference bit for bit); for B streams the batched layers,
    the shared output layer and, where they fit, each stream's own correction to it."""

    def __init__(self, net: RNNLM, settings: AdaptSettings, streams: int):
        self.net, self.bfloat16 = net, uses_bfloat16(settings, streams)
        vocab, hidden = net.head.weight.shape
        fit = stream_heads_fit(streams, vocab, hidden, settings)
        self.heads = StreamHeads(streams, vocab, hidden, settings) if fit else None
        self.single = None if streams > 1 else one_stream_forward(settings)

    def __call__(self, ids: torch.Tensor, state: State) -> tuple[torch.Tensor, State]:
        if self.single is not None:
            logits, state = self.single(self.net, ids[:, 0], state)
            return logits.unsqueeze(1), state
        x, state = batch_recur(self.net, ids, state, self.bfloat16)  # (T, B, hidden)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=self.bfloat16):
            logits = self.net.head(x)
            if self.heads is not None:
                logits = self.heads.logits(x, logits)
        return logits.float(), state

    def zero_grad(self) -> None:
        if self.heads is not None:
            self.heads.zero_grad()

    def step(self) -> None:
        if self.heads is not None:
            self.heads.step()


def batched_adapt_logprobs(net: RNNLM, ids: list[int], context_id: int, settings: AdaptSettings,
                           on_window: Callable[[int], None] | None = None) -> np.ndarray:
    """Log-probability of each of ids, read in streams_for(len(ids), settings) segments side by
    side, each window scored before the shared copy of net learns from it. net itself is only
    read. on_window(tokens_done) after each step. settings: with their window (AdaptSettings.for_level)."""
    settings.validate().window_needed()
    count = len(ids)
    if count == 0:
        return np.zeros(0)
    bounds = stream_bounds(count, streams_for(count, settings))
    lengths = np.array([end - start for start, end in bounds])
    # Inside a caller's inference_mode the copy, and every tensor made here, could not carry
    # gradients; this pass needs them.
    with torch.inference_mode(False), torch.enable_grad():
        inputs, targets = segment_matrices(ids, context_id, bounds)  # (B, width)
        streams, width = inputs.shape
        nll_all = np.zeros((streams, width))
        twin = private_copy(net)
        anchors = [p.detach() for p in net.parameters()]  # read only: the copy decays toward these
        updater = Updater(list(twin.parameters()), anchors, replace(settings, lr=shared_lr(settings, streams)))
        forward = BatchedForward(twin, settings, streams)
        state = twin.initial_state(streams)
        for start in range(0, width, settings.window):
            end = min(start + settings.window, width)
            y = targets[:, start:end].t().reshape(-1)  # (T * B), time-major as the logits
            logits, state = forward(inputs[:, start:end].t().contiguous(), state)
            nll = F.cross_entropy(logits.reshape(y.shape[0], -1), y, reduction="none", ignore_index=IGNORED)
            nll_all[:, start:end] = nll.detach().view(end - start, streams).t().double().numpy()
            if end < width:  # after the last step there is nothing left to predict
                updater.zero_grad()
                forward.zero_grad()
                nll[y != IGNORED].mean().backward()  # a mean, so that lr scales with neither B nor the window
                updater.step()
                forward.step()
            state = detach_state(state)
            if on_window is not None:
                on_window(int(np.minimum(lengths, end).sum()))
    result = np.empty(count)
    for row, (start, end) in enumerate(bounds):
        result[start:end] = -nll_all[row, :end - start]  # scored before learning from it
    return result
