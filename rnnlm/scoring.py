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
be emulated and slower, so "auto" means float32. Figures that are recorded (training
evaluations, model cards) ask for "float32", so they do not depend on the machine.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from .errors import SettingsError
from .language_model import LanguageModel
from .model import RNNLM
from .units import nats_to_bits

PRECISIONS = ("auto", "float32", "bfloat16")


def native_bfloat16() -> bool:
    """Does this CPU multiply bfloat16 in hardware? (A private torch probe: absent means no.)"""
    probe = getattr(torch.cpu, "_is_avx512_bf16_supported", None)
    return bool(probe and probe())


def uses_bfloat16(precision: str) -> bool:
    if precision not in PRECISIONS:
        raise SettingsError(f"precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")
    return precision == "bfloat16" or (precision == "auto" and native_bfloat16())


@dataclass
class ScoreResult:
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

    @property
    def nats_per_char(self) -> float:
        return self.total_nats / max(self.chars, 1)

    @property
    def bits_per_char(self) -> float:
        return nats_to_bits(self.nats_per_char)

    def summary(self) -> dict:
        return {"nats_per_char": self.nats_per_char, "bits_per_char": self.bits_per_char,
                "chars": self.chars, "tokens": self.tokens}


def _segments(count: int, streams: int, warmup: int) -> list[tuple[int, int, int]]:
    """(read_from, score_from, end) per stream; a short text is one exact stream."""
    if streams <= 1 or count < streams * warmup:
        return [(0, 0, count)]
    length = math.ceil(count / streams)
    return [(max(0, start - warmup), start, min(start + length, count)) for start in range(0, count, length)]


@torch.inference_mode()
def token_logprobs(net: RNNLM, ids: list[int], context_id: int, streams: int = 16, window: int = 256,
                   warmup: int = 512, precision: str = "auto") -> np.ndarray:
    """Log-probability of ids[i] given context_id and ids[:i], for every i."""
    bfloat16 = uses_bfloat16(precision)
    count = len(ids)
    if count == 0:
        return np.zeros(0)
    was_training = net.training
    net.eval()
    inputs = np.array([context_id] + list(ids[:-1]), dtype=np.int64)
    targets = np.array(ids, dtype=np.int64)
    segments = _segments(count, streams, warmup)
    width = max(end - read for read, _, end in segments)
    x = np.zeros((len(segments), width), dtype=np.int64)
    y = np.full((len(segments), width), -100, dtype=np.int64)  # -100: cross_entropy ignores it
    for row, (read, score, end) in enumerate(segments):
        x[row, :end - read] = inputs[read:end]
        y[row, score - read:end - read] = targets[score:end]
    x_t, y_t = torch.from_numpy(x), torch.from_numpy(y)
    nll = torch.zeros(x.shape)
    state = None
    for start in range(0, width, window):
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bfloat16):
            logits, state = net(x_t[:, start:start + window], state)  # (streams, window, vocab)
        chunk_targets = y_t[:, start:start + window]
        nll[:, start:start + window] = F.cross_entropy(
            logits.float().reshape(-1, logits.shape[-1]), chunk_targets.reshape(-1), reduction="none",
            ignore_index=-100).view(chunk_targets.shape)
    net.train(was_training)
    result = np.empty(count)
    for row, (read, score, end) in enumerate(segments):
        result[score:end] = -nll[row, score - read:end - read].double().numpy()
    return result


def score_ids(lm: LanguageModel, ids: list[int], chars: int, **speed) -> ScoreResult:
    logprobs = token_logprobs(lm.net, ids, lm.tokenizer.context_id(), **speed)
    return ScoreResult(list(ids), [lm.tokenizer.token_text(i) for i in ids], logprobs, chars)


def score_text(lm: LanguageModel, text: str, **speed) -> ScoreResult:
    """Score a whole text with full context; speed options: streams, window, warmup, precision."""
    return score_ids(lm, lm.tokenizer.encode(text), len(text), **speed)
