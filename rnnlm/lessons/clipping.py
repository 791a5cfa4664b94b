"""Exploding gradients, live: train the same small plain RNN on a short text twice, from the
same seed, with and without gradient clipping, and record every step's loss and gradient norm.

The recurrent weights start large (spectral radius above 1), the classic setting in which
backpropagation through time multiplies the gradient by the recurrent Jacobian again and again:
some windows' gradients come out hundreds of times larger than the rest. Unclipped, one such
step throws the weights far away (the loss jumps, or becomes NaN); clipped to a norm of
`threshold`, the same step is scaled down and training goes on.

Deterministic (one seed, one thread's worth of work), bounded (at most MAX_STEPS steps of a
model with at most MAX_HIDDEN units), and cancellable between steps.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from torch import nn

from ..errors import SettingsError

MAX_STEPS = 1000
MAX_HIDDEN = 256
MAX_TEXT_CHARS = 200_000


@dataclass(frozen=True)
class ClippingSettings:
    steps: int = 300
    hidden: int = 64
    window: int = 80           # long windows: more steps for the Jacobians to multiply over
    batch: int = 8
    lr: float = 3.0            # plain SGD, so one huge gradient is one huge step
    recurrent_scale: float = 2.0  # initial spectral radius of the recurrent weights
    threshold: float = 1.0     # the clipping run's largest gradient norm
    seed: int = 0

    def __post_init__(self):
        checks = [(1 <= self.steps <= MAX_STEPS, f"steps must be 1-{MAX_STEPS}"),
                  (4 <= self.hidden <= MAX_HIDDEN, f"hidden units must be 4-{MAX_HIDDEN}"),
                  (2 <= self.window <= 400, "window must be 2-400 tokens"),
                  (1 <= self.batch <= 64, "batch must be 1-64"),
                  (0 < self.lr <= 100, "learning rate must be above 0 and at most 100"),
                  (0 < self.recurrent_scale <= 5, "recurrent scale must be above 0 and at most 5"),
                  (0 < self.threshold, "the clip threshold must be above 0")]
        for ok, message in checks:
            if not ok:
                raise SettingsError(message)


@dataclass
class Run:
    clipped: bool
    losses: list[float] = field(default_factory=list)  # nats per character, per step
    grad_norms: list[float] = field(default_factory=list)  # before clipping
    diverged_at: int | None = None  # the step whose loss or gradient was not finite

    @property
    def final_loss(self) -> float:
        finite = [v for v in self.losses[-20:] if math.isfinite(v)]
        return sum(finite) / len(finite) if finite and self.diverged_at is None else math.nan

    def spikes(self, factor: float = 10.0) -> list[int]:
        """Steps whose gradient norm is over factor times the run's median."""
        finite = sorted(v for v in self.grad_norms if math.isfinite(v))
        median = finite[len(finite) // 2] if finite else 0.0
        return [i for i, v in enumerate(self.grad_norms) if not math.isfinite(v) or v > factor * median]


class _TinyRNN(nn.Module):
    def __init__(self, vocab: int, settings: ClippingSettings):
        super().__init__()
        self.embedding = nn.Embedding(vocab, 32)
        self.rnn = nn.RNN(32, settings.hidden, batch_first=True)
        self.head = nn.Linear(settings.hidden, vocab)
        with torch.no_grad():  # an orthogonal matrix times the scale has every singular value = scale
            nn.init.orthogonal_(self.rnn.weight_hh_l0)
            self.rnn.weight_hh_l0.mul_(settings.recurrent_scale)

    def forward(self, ids):
        out, _ = self.rnn(self.embedding(ids))
        return self.head(out)


def clipping_experiment(text: str, settings: ClippingSettings = ClippingSettings(),
                        progress: Callable[[float], bool | None] | None = None) -> tuple[Run, Run]:
    """(run without clipping, run with clipping). progress(fraction) is called after each step;
    returning False stops both runs where they are."""
    if len(text) > MAX_TEXT_CHARS:
        raise SettingsError(f"the text has {len(text):,} characters; at most {MAX_TEXT_CHARS:,}")
    vocab = sorted(set(text))
    ids = torch.tensor([vocab.index(c) for c in text], dtype=torch.long) if text else torch.zeros(0)
    if len(ids) < settings.window + 2:
        raise SettingsError(f"the text needs at least {settings.window + 2} characters for windows of "
                            f"{settings.window}; it has {len(text)}")
    runs = (Run(clipped=False), Run(clipped=True))
    total = 2 * settings.steps
    done = 0
    for run in runs:
        for _ in _train(ids, len(vocab), settings, run):
            done += 1
            if progress and progress(done / total) is False:
                return runs
        done = settings.steps
    return runs


def _train(ids: torch.Tensor, vocab: int, settings: ClippingSettings, run: Run):
    """Yields after each step; both runs draw the same initial weights and the same windows."""
    torch.manual_seed(settings.seed)
    model = _TinyRNN(vocab, settings)
    optimizer = torch.optim.SGD(model.parameters(), lr=settings.lr)
    windows = torch.Generator().manual_seed(settings.seed)
    for step in range(settings.steps):
        starts = torch.randint(0, len(ids) - settings.window - 1, (settings.batch,), generator=windows)
        batch = torch.stack([ids[s:s + settings.window + 1] for s in starts.tolist()])
        logits = model(batch[:, :-1])
        loss = nn.functional.cross_entropy(logits.reshape(-1, vocab), batch[:, 1:].reshape(-1))
        optimizer.zero_grad()
        loss.backward()
        norm = float(torch.nn.utils.clip_grad_norm_(model.parameters(), settings.threshold if run.clipped else math.inf))
        run.losses.append(float(loss.detach()))
        run.grad_norms.append(norm)
        if not (math.isfinite(norm) and math.isfinite(run.losses[-1])):
            run.diverged_at = step
            return
        optimizer.step()
        yield step
