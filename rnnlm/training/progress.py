"""What the trainer reports: Progress for each step and evaluation, the Callbacks that receive
it, and the FitResult that fit() returns.

The trainer only fires callbacks; the CLI draws a progress bar from them and the playground's
job service copies them into a snapshot for the page to poll.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..model import RNNLM


@dataclass
class Progress:
    step: int
    max_steps: int
    loss: float
    lr: float
    grad_norm: float
    clipped: bool
    clip_rate: float  # fraction of all steps so far whose gradient was clipped
    tokens_per_second: float
    elapsed_seconds: float
    eta_seconds: float
    fraction: float  # of the step or time budget, whichever is further along
    val_loss: float | None = None  # nats per character, set on evaluations
    val_by_weights: dict | None = None  # {"current": x, "averaged": y} when ema_decay averages the weights
    best_val: float | None = None
    sample: str | None = None


class Callbacks:
    """Override any of these; the trainer calls them on rank 0 only."""

    def on_step(self, progress: Progress) -> None: ...

    def on_eval(self, progress: Progress) -> None: ...

    def on_checkpoint(self, path: Path) -> None: ...


@dataclass
class FitResult:
    model_dir: Path
    best_val: float | None  # nats/char of the best model on all of the held-out text (rank 0)
    steps: int
    tokens_seen: int
    minutes: float
    stopped_by: str
    facts: dict = field(default_factory=dict)
    net: RNNLM | None = field(default=None, repr=False)  # the weights after the last step, on every rank

