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
  for static scoring (bench/bench_adapt.py).
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
from .model import RNNLM, State, detach_state
from .scoring import ScoreResult
from .settings_checks import CheckedSettings, is_number, is_whole

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


# --- one stream through the recurrent layers, a window at a time, with a hand-written backward ---
#
# nn.GRU's CPU backward at batch 1 computes each step's weight gradient as an outer product
# that writes the whole recurrent matrix, 50 times a window; oneDNN's LSTM is ~2x its
# matrix-vector floor at batch 1. Here a step is one matrix-vector product and a few vector
# operations each way, and the weight gradients are one matrix product per window
# (measured at window 50, one thread: 2x512 GRU 1,040 -> 1,680 chars/s, 2x640 LSTM 870 ->
# 1,050). Each layer's input projection is also one matrix product per window. The tests
# check these against torch.autograd.gradcheck and against the nn modules.


class _LSTMWindow(torch.autograd.Function):
    """x (T, in), h0 and c0 (H,), nn.LSTM's weights -> outputs (T, H), h_T, c_T. Gates i, f, g, o."""

    @staticmethod
    def forward(ctx, x, h0, c0, w_ih, w_hh, b_ih, b_hh):
        steps, hidden = x.shape[0], h0.shape[0]
        pre = torch.addmm(b_ih + b_hh, x, w_ih.t())  # the inputs' share of every gate, for the whole window
        hs, cs = x.new_empty(steps + 1, hidden), x.new_empty(steps + 1, hidden)
        acts, tanh_cs = x.new_empty(steps, 4 * hidden), x.new_empty(steps, hidden)
        hs[0], cs[0] = h0, c0
        i, f, g, o = (slice(k * hidden, (k + 1) * hidden) for k in range(4))
        for t in range(steps):
            a = acts[t]
            torch.addmv(pre[t], w_hh, hs[t], out=a)
            torch.tanh(a[g], out=a[g])
            torch.sigmoid(a[:g.start], out=a[:g.start])  # i and f
            torch.sigmoid(a[o], out=a[o])
            torch.addcmul(a[f] * cs[t], a[i], a[g], out=cs[t + 1])
            torch.tanh(cs[t + 1], out=tanh_cs[t])
            torch.mul(a[o], tanh_cs[t], out=hs[t + 1])
        ctx.save_for_backward(x, w_ih, w_hh, hs, cs, acts, tanh_cs)
        return hs[1:], hs[steps].clone(), cs[steps].clone()

    @staticmethod
    def backward(ctx, d_out, d_h_last, d_c_last):
        x, w_ih, w_hh, hs, cs, acts, tanh_cs = ctx.saved_tensors
        steps, hidden = x.shape[0], hs.shape[1]
        i, f, g, o = acts.split(hidden, dim=1)
        # All that does not depend on the recurrence, for every step at once, so that a step is
        # a few vector operations and one matrix-vector product.
        dc_per_dh = o * (1 - tanh_cs * tanh_cs)
        ifg_factors = torch.stack([g * i * (1 - i), cs[:-1] * f * (1 - f), i * (1 - g * g)], 1)  # (T, 3, H)
        o_factor = tanh_cs * o * (1 - o)
        d_pre = x.new_empty(steps, 4 * hidden)
        dh, dc = d_h_last.clone(), d_c_last.clone()
        w_hh_t = w_hh.t()
        for t in range(steps - 1, -1, -1):
            dh += d_out[t]
            dc.addcmul_(dh, dc_per_dh[t])
            row = d_pre[t]
            torch.mul(ifg_factors[t], dc, out=row[:3 * hidden].view(3, hidden))
            torch.mul(dh, o_factor[t], out=row[3 * hidden:])
            dc.mul_(f[t])
            dh = torch.mv(w_hh_t, row)
        d_bias = d_pre.sum(0)
        return d_pre @ w_ih, dh, dc, d_pre.t() @ x, d_pre.t() @ hs[:-1], d_bias, d_bias.clone()


class _GRUWindow(torch.autograd.Function):
    """x (T, in), h0 (H,), nn.GRU's weights -> outputs (T, H), h_T. Gates r, z, n as nn.GRU has them:
    n = tanh(x W_in + b_in + r (h W_hn + b_hn)), h' = (1 - z) n + z h."""

    @staticmethod
    def forward(ctx, x, h0, w_ih, w_hh, b_ih, b_hh):
        steps, hidden = x.shape[0], h0.shape[0]
        gi = torch.addmm(b_ih, x, w_ih.t())  # (T, 3H)
        hs = x.new_empty(steps + 1, hidden)
        rz, n, gh_n = x.new_empty(steps, 2 * hidden), x.new_empty(steps, hidden), x.new_empty(steps, hidden)
        gh = x.new_empty(3 * hidden)
        hs[0] = h0
        for t in range(steps):
            torch.addmv(b_hh, w_hh, hs[t], out=gh)
            torch.sigmoid(gi[t, :2 * hidden] + gh[:2 * hidden], out=rz[t])
            gh_n[t] = gh[2 * hidden:]
            torch.tanh(torch.addcmul(gi[t, 2 * hidden:], rz[t, :hidden], gh_n[t]), out=n[t])
            torch.addcmul(n[t], rz[t, hidden:], hs[t] - n[t], out=hs[t + 1])
        ctx.save_for_backward(x, w_ih, w_hh, hs, rz, n, gh_n)
        return hs[1:], hs[steps].clone()

    @staticmethod
    def backward(ctx, d_out, d_h_last):
        x, w_ih, w_hh, hs, rz, n, gh_n = ctx.saved_tensors
        steps, hidden = x.shape[0], hs.shape[1]
        r, z = rz.split(hidden, dim=1)
        z_factor = (hs[:-1] - n) * z * (1 - z)
        n_factor = (1 - z) * (1 - n * n)
        r_factor = gh_n * r * (1 - r)
        d_gi = x.new_empty(steps, 3 * hidden)  # gradients of the gates' input parts
        d_gh = x.new_empty(3 * hidden)  # ... and of one step's recurrent parts
        dh = d_h_last.clone()
        w_hh_t = w_hh.t()
        for t in range(steps - 1, -1, -1):
            dh += d_out[t]
            d_r, d_z, d_n = d_gi[t].split(hidden)
            torch.mul(dh, z_factor[t], out=d_z)
            torch.mul(dh, n_factor[t], out=d_n)
            torch.mul(d_n, r_factor[t], out=d_r)
            d_gh[:2 * hidden] = d_gi[t, :2 * hidden]
            torch.mul(d_n, r[t], out=d_gh[2 * hidden:])
            dh = torch.addmv(dh * z[t], w_hh_t, d_gh)
        d_gh_all = d_gi.clone()
        d_gh_all[:, 2 * hidden:] *= r
        return (d_gi @ w_ih, dh, d_gi.t() @ x, d_gh_all.t() @ hs[:-1], d_gi.sum(0), d_gh_all.sum(0))


class _RNNWindow(torch.autograd.Function):
    """x (T, in), h0 (H,), nn.RNN's weights (tanh) -> outputs (T, H), h_T."""

    @staticmethod
    def forward(ctx, x, h0, w_ih, w_hh, b_ih, b_hh):
        steps, hidden = x.shape[0], h0.shape[0]
        pre = torch.addmm(b_ih + b_hh, x, w_ih.t())
        hs = x.new_empty(steps + 1, hidden)
        hs[0] = h0
        for t in range(steps):
            torch.tanh(torch.addmv(pre[t], w_hh, hs[t]), out=hs[t + 1])
        ctx.save_for_backward(x, w_ih, w_hh, hs)
        return hs[1:], hs[steps].clone()

    @staticmethod
    def backward(ctx, d_out, d_h_last):
        x, w_ih, w_hh, hs = ctx.saved_tensors
        tanh_factor = 1 - hs[1:] * hs[1:]
        d_pre = torch.empty_like(tanh_factor)
        dh = d_h_last.clone()
        w_hh_t = w_hh.t()
        for t in range(x.shape[0] - 1, -1, -1):
            dh += d_out[t]
            torch.mul(dh, tanh_factor[t], out=d_pre[t])
            dh = torch.mv(w_hh_t, d_pre[t])
        d_bias = d_pre.sum(0)
        return d_pre @ w_ih, dh, d_pre.t() @ x, d_pre.t() @ hs[:-1], d_bias, d_bias.clone()


def window_forward(net: RNNLM, ids: torch.Tensor, state: State) -> tuple[torch.Tensor, State]:
    """net's forward for one stream: ids (T,) -> logits (T, vocab) and the state after them, with
    the hand-written recurrent layers (net in eval mode: no dropout between layers)."""
    x = net.embedding(ids)
    last = [[] for _ in state]
    for layer in range(net.config.num_layers):
        weights = [getattr(net.rnn, f"{kind}_l{layer}") for kind in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]
        if net.config.cell == "lstm":
            x, h, c = _LSTMWindow.apply(x, state[0][layer, 0], state[1][layer, 0], *weights)
            last[1].append(c)
        else:
            x, h = (_GRUWindow if net.config.cell == "gru" else _RNNWindow).apply(x, state[0][layer, 0], *weights)
        last[0].append(h)
    return net.head(x), tuple(torch.stack(parts).unsqueeze(1) for parts in last)


def _module_window(net: RNNLM, ids: torch.Tensor, state: State) -> tuple[torch.Tensor, State]:
    """The same through nn.LSTM / nn.GRU / nn.RNN under bfloat16 autocast (the hand-written layers are
    float32 only; bfloat16 was slower here anyway: docs/ADAPT.md)."""
    with torch.autocast("cpu", dtype=torch.bfloat16):
        logits, state = net(ids.view(1, -1), state)
    return logits[0].float(), state


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
        forward = _module_window if settings.precision == "bfloat16" else window_forward
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
