"""Per-token log-probabilities of a text, and nats/bits per character.

Per-character figures divide total nats by the number of characters, so char and word
models compare on the same text. Every text is read as if it followed a newline (the
tokenizer's context token), so every one of its tokens is scored.

Speed: a single stream through an LSTM is a chain of matrix-vector products. Long texts
are therefore cut into `streams` contiguous segments scored side by side (matrix-matrix
products). Each segment first re-reads the `warmup` tokens before it, so its state holds
the preceding context; an LSTM's effective memory is far shorter than the default 512
tokens, and tests check the result against the exact single-stream score.
16 streams is the measured sweet spot on 2 cores (python bench/bench_core.py): a
2x512 LSTM scored 18-20k chars/s at 12-16 streams against 15k at 32 or 64 on an AVX2
machine, near its fp32 bound (6.9 MFLOP per character against a ~120-150 GFLOP/s peak).

Precision: on a CPU with native bfloat16 dot products (AVX512-BF16), "auto" runs the
matrix products in bfloat16 with float32 accumulation (torch.autocast), about twice as
fast (2x512 LSTM: 23k -> 49k chars/s on 2 cores); the whole Tiny Shakespeare validation
split then scored 1.42951 against 1.42950 nats/char in float32. Elsewhere bfloat16 would
be emulated and slower, so "auto" means float32. torch's GRU and RNN ignore autocast, so
those cells step in a loop of our own (rnnlm.bfloat16_recurrence). Several models scoring one
text run side by side, one per core: rnnlm.score_many. Warm-up tokens only carry state:
the output layer and softmax run on scored tokens only (a word model's 8,000-way head over
16 x 512 warm-up tokens had doubled its time: c-word-gru, 20,000 chars of C, 21 s -> 3.2 s
on one loaded core). bfloat16 figures move within its rounding: the shipped char models
on 20,000 chars of C differ from the previous bfloat16 path by at most 8e-4 nats/char. Figures that are recorded (training
evaluations, model cards) ask for "float32", so they do not depend on the machine.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from .bfloat16_recurrence import recurrence
from .cpu_features import native_bfloat16
from .errors import SettingsError
from .language_model import LanguageModel
from .model import RNNLM, State
from .units import nats_to_bits

PRECISIONS = ("auto", "float32", "bfloat16")


def uses_bfloat16(precision: str) -> bool:
    if precision not in PRECISIONS:
        raise SettingsError(f"precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")
    return precision == "bfloat16" or (precision == "auto" and native_bfloat16())


class PerCharFigures:
    """The figures of a score from its total_nats, chars and tokens (ScoreResult, score_file's ScoreTotals)."""

    total_nats: float
    chars: int
    tokens: int

    @property
    def nats_per_char(self) -> float:
        return self.total_nats / max(self.chars, 1)

    @property
    def bits_per_char(self) -> float:
        return nats_to_bits(self.nats_per_char)

    def summary(self) -> dict:
        return {"nats_per_char": self.nats_per_char, "bits_per_char": self.bits_per_char,
                "chars": self.chars, "tokens": self.tokens}


@dataclass
class ScoreResult(PerCharFigures):
    token_ids: list[int]
    token_texts: list[str]
    logprobs: np.ndarray  # (tokens,) natural-log probability of each token given all before it
    chars: int

    @property
    def tokens(self) -> int:
        return len(self.token_ids)

    @property
    def total_nats(self) -> float:
        return float(-self.logprobs.sum())

    def per_char_nats(self) -> np.ndarray:
        """This score's surprisal character by character (see per_char_nats)."""
        return per_char_nats(self.token_texts, self.logprobs, self.chars)


def per_char_nats(token_texts: list[str], logprobs, chars: int) -> np.ndarray:
    """Each token's surprisal spread evenly over its characters, so a char and a word model
    can be compared character by character (the sums stay each model's total)."""
    spread = np.zeros(chars, dtype=np.float64)
    offset = 0
    for text, logprob in zip(token_texts, logprobs):
        width = max(len(text), 1)
        end = min(offset + width, chars)
        if end > offset:
            spread[offset:end] = -float(logprob) / width
        elif chars:  # past the end (a token of no width): charge the last character
            spread[chars - 1] += -float(logprob)
        offset += len(text)
    return spread


def stream_segments(count: int, streams: int, warmup: int) -> list[tuple[int, int, int]]:
    """(read_from, score_from, end) per stream; a short text is one exact stream."""
    if streams <= 1 or count < streams * warmup:
        return [(0, 0, count)]
    length = math.ceil(count / streams)
    return [(max(0, start - warmup), start, min(start + length, count)) for start in range(0, count, length)]


def window_nll(net: RNNLM, recur, inputs: torch.Tensor, targets: torch.Tensor, state: State | None,
               bfloat16: bool) -> tuple[torch.Tensor, State]:
    """(negative log-probability of each target, 0 where the target is -100; the state after the
    window). inputs, targets: (streams, window). Call under torch.inference_mode()."""
    nll = torch.zeros(inputs.shape)
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bfloat16):
        out, state = recur(inputs, state)  # (streams, window, hidden)
        scored = targets != -100  # warm-up tokens only carry state: no head, no softmax
        logits = net.head(out[scored])  # (scored tokens, vocab)
    nll[scored] = F.cross_entropy(logits.float(), targets[scored], reduction="none")
    return nll, state


@torch.inference_mode()
def token_logprobs(net: RNNLM, ids: list[int], context_id: int, streams: int = 16, window: int = 256,
                   warmup: int = 512, precision: str = "auto",
                   on_progress: Callable[[int, int], None] | None = None) -> np.ndarray:
    """Log-probability of ids[i] given context_id and ids[:i], for every i. on_progress(done, total)
    is called after each window, in steps of the longest stream (total: its length)."""
    bfloat16 = uses_bfloat16(precision)
    count = len(ids)
    if count == 0:
        return np.zeros(0)
    was_training = net.training
    net.eval()
    inputs = np.array([context_id] + list(ids[:-1]), dtype=np.int64)
    targets = np.array(ids, dtype=np.int64)
    segments = stream_segments(count, streams, warmup)
    width = max(end - read for read, _, end in segments)
    x = np.zeros((len(segments), width), dtype=np.int64)
    y = np.full((len(segments), width), -100, dtype=np.int64)  # -100: cross_entropy ignores it
    for row, (read, score, end) in enumerate(segments):
        x[row, :end - read] = inputs[read:end]
        y[row, score - read:end - read] = targets[score:end]
    x_t, y_t = torch.from_numpy(x), torch.from_numpy(y)
    nll = torch.zeros(x.shape)
    state = None
    recur = recurrence(net, bfloat16)
    for start in range(0, width, window):
        nll[:, start:start + window], state = window_nll(net, recur, x_t[:, start:start + window],
                                                         y_t[:, start:start + window], state, bfloat16)
        if on_progress is not None:
            on_progress(min(start + window, width), width)
    net.train(was_training)
    result = np.empty(count)
    for row, (read, score, end) in enumerate(segments):
        result[score:end] = -nll[row, score - read:end - read].double().numpy()
    return result


def score_ids(lm: LanguageModel, ids: list[int], chars: int, **speed) -> ScoreResult:
    logprobs = token_logprobs(lm.net, ids, lm.tokenizer.context_id(), **speed)
    return ScoreResult(list(ids), [lm.tokenizer.token_text(i) for i in ids], logprobs, chars)


def score_text(lm: LanguageModel, text: str, **speed) -> ScoreResult:
    """Score a whole text with full context; speed options: streams, window, warmup, precision;
    on_progress(done, total) after each window."""
    return score_ids(lm, lm.tokenizer.encode(text), len(text), **speed)
