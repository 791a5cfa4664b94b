"""The settings of dynamic evaluation (rnnlm.dynamic_eval), checked, with their tuned defaults.

Measured settings and figures: docs/ADAPT.md.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from .settings_checks import CheckedSettings, is_number, is_whole

RULES = ("rms", "sgd")
ADAPT_PRECISIONS = ("auto", "float32", "bfloat16")
MAX_WINDOW = 10_000
MAX_STREAMS = 256
# The graph of one step holds every token of its B windows (about 36 KB a token for a 2x640
# LSTM, plus a word model's logits): this bounds memory whatever the settings.
MAX_STEP_TOKENS = 20_000
# A stream shorter than this gets too few steps of its own to be worth the fresh state it
# starts from: a short text runs in fewer streams (one, for the Score page's typical paste).
MIN_STREAM_TOKENS = 2_000
MAX_STREAM_LR = 10.0  # a logit change per step: more than this only makes noise
# Tokens scored between two updates when the settings leave it to the model (window=None). A word
# piece is about 3.2 characters of C, so 50 pieces let a word model learn every ~160 characters,
# three times less often than a char model: 20 pieces took c-word-gru from 0.7424 to 0.7131
# nats/char on its split's first 100,000 characters (0.6788 to 0.6436 on 100,000 further on), for
# 1.5x the time; for char models 20 was no better than 50 and 2.4x slower (docs/ADAPT.md).
WINDOW_BY_LEVEL = {"char": 50, "word": 20}


@dataclass(frozen=True)
class AdaptSettings(CheckedSettings):
    # Defaults tuned on 100,000-character validation slices of the shipped models (docs/ADAPT.md).
    # One stream: lr 1e-3 was better for some models, worse for others; 5e-4 was best or within
    # 0.02 nats/char of it for all. Batched: 16 streams at lr 5e-4 x 4 with their own output layers
    # gave up 0.02-0.03 nats/char against one stream for 4.8x its speed (C and Linux char LSTMs).
    rule: str = "rms"  # "rms" (normalised steps) or "sgd"
    lr: float = 5e-4  # step size of one stream; B streams step by lr x sqrt(B); 0 with one stream: static scoring
    window: int | None = None  # tokens scored between two updates; None: the model's level's (WINDOW_BY_LEVEL)
    decay: float = 1e-3  # pull toward the trained weights after each step, in [0, 1]
    clip: float = 0.0  # largest gradient norm per step; 0 means no clipping
    # "auto": bfloat16 matrix products in the batched mode where the CPU has them natively (1.6x
    # faster there), float32 in the single stream (torch's bfloat16 matrix-vector product is slower)
    precision: str = "auto"
    streams: int = 16  # B: segments read side by side, one shared step (batched); 1: the exact single stream
    stream_lr: float = 0.3  # batched: each stream's own output layer, its step as a logit change; 0 = off

    def problems(self) -> list[str]:
        found = []
        if self.rule not in RULES:
            found.append(f"rule must be one of {', '.join(RULES)}, got {self.rule!r}")
        if not is_number(self.lr) or not 0.0 <= self.lr <= 1.0:
            found.append(f"lr must be a number from 0 to 1, got {self.lr!r}")
        if self.window is not None and (not is_whole(self.window) or not 1 <= self.window <= MAX_WINDOW):
            found.append(f"window must be a whole number of tokens from 1 to {MAX_WINDOW}, got {self.window!r}")
        if not is_number(self.decay) or not 0.0 <= self.decay <= 1.0:
            found.append(f"decay must be a number from 0 (none) to 1 (back to the trained weights), "
                         f"got {self.decay!r}")
        if not is_number(self.clip) or self.clip < 0:
            found.append(f"clip must be a gradient norm of 0 (off) or more, got {self.clip!r}")
        if self.precision not in ADAPT_PRECISIONS:
            found.append(f"precision must be one of {', '.join(ADAPT_PRECISIONS)}, got {self.precision!r}")
        if not is_number(self.stream_lr) or not 0.0 <= self.stream_lr <= MAX_STREAM_LR:
            found.append(f"stream_lr must be a number from 0 (off) to {MAX_STREAM_LR:g}, got {self.stream_lr!r}")
        if not is_whole(self.streams) or not 1 <= self.streams <= MAX_STREAMS:
            found.append(f"streams must be a whole number from 1 (one exact stream) to {MAX_STREAMS}, "
                         f"got {self.streams!r}")
        elif is_whole(self.longest_window) and self.streams * self.longest_window > MAX_STEP_TOKENS:
            found.append(f"streams x window must be at most {MAX_STEP_TOKENS:,} tokens (the memory of one step), "
                         f"got {self.streams} x {self.longest_window}; use fewer streams or a shorter window")
        return found

    @property
    def mode(self) -> str:
        return "batched" if self.streams > 1 else "single-stream"

    @property
    def longest_window(self):
        """The window, or when the model chooses it, the longest a model may choose."""
        return max(WINDOW_BY_LEVEL.values()) if self.window is None else self.window

    def window_needed(self) -> AdaptSettings:
        """Refuse settings still waiting for a model to choose their window (code that reads ids
        without knowing the model's level must be given settings.for_level(level))."""
        if self.window is None:
            raise ValueError("these settings leave the window to the model: pass settings.for_level(lm.level)")
        return self

    def for_level(self, level: str) -> AdaptSettings:
        """These settings for a model of this level ("char" or "word"): the window filled in."""
        return self if self.window is not None else replace(self, window=WINDOW_BY_LEVEL[level])


def streams_for(count: int, settings: AdaptSettings) -> int:
    """How many streams a text of `count` tokens is read in: at most settings.streams, and each
    at least MIN_STREAM_TOKENS long, so that a short text stays one exact stream."""
    if settings.streams <= 1:
        return 1
    return max(1, min(settings.streams, count // MIN_STREAM_TOKENS))


def shared_lr(settings: AdaptSettings, streams: int) -> float:
    """The shared step of `streams` streams: the mean gradient of B windows is about sqrt(B) times
    less noisy than one window's, so it takes a step sqrt(B) times larger (at 16 and 32 streams
    this scaling was as good as or better than the lr tried around it: docs/ADAPT.md)."""
    return settings.lr * math.sqrt(streams)


def stream_bounds(count: int, streams: int) -> list[tuple[int, int]]:
    """(start, end) of each stream's contiguous segment of the text; only the last may be shorter."""
    length = math.ceil(count / max(streams, 1))
    return [(start, min(start + length, count)) for start in range(0, count, length)] if count else []
