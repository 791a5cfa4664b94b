"""How far back a model can look: the norm of the gradient of log p(token at t+1) with
respect to the input at t - k, against k, averaged over many t.

A plain tanh RNN multiplies the gradient by its recurrent Jacobian once per step, so the
norm shrinks geometrically (vanishing gradients); an LSTM's cell state carries it along
the forget gate's path, a GRU's along its update gate's, so theirs falls far more slowly.

The shared network is never changed: gradients are taken with torch.autograd.grad with
respect to the inputs only, so no parameter's .grad is written.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch

from ..errors import SettingsError
from ..model import RNNLM

MAX_LAG = 400
MAX_POSITIONS = 256


@dataclass(frozen=True)
class GradientFlow:
    lags: list[int]  # k = 0, 1, ..., max lag
    mean_norm: list[float]  # mean over positions of |d log p / d input at t - k|
    positions: int

    def relative(self) -> list[float]:
        """Each norm over the norm at k = 0: how much of the nearest input's influence is left."""
        first = self.mean_norm[0] or 1.0
        return [n / first for n in self.mean_norm]

    def reach(self, fraction: float = 0.01) -> int | None:
        """The first lag whose gradient norm is below fraction of k = 0's, or None if none is."""
        return next((k for k, r in zip(self.lags, self.relative()) if r < fraction), None)


def window_starts(token_count: int, span: int, positions: int) -> list[int]:
    """Evenly spread starts of windows of span tokens (plus the target after them)."""
    last = token_count - span - 1
    if last < 0:
        raise SettingsError(f"the text has {token_count:,} tokens: at least {span + 1:,} are needed "
                            "for this many steps back; give a longer text or fewer steps")
    count = min(positions, last + 1)
    return [round(i * last / max(count - 1, 1)) for i in range(count)]


def gradient_flow(net: RNNLM, ids: Sequence[int], max_lag: int = 100, positions: int = 64, warmup: int = 50,
                  batch: int = 16, progress: Callable[[float], None] | None = None) -> GradientFlow:
    """The mean gradient norm at each lag. Each window first reads warmup tokens without
    gradients, so its state is a real one rather than zeros, then max_lag + 1 tokens whose
    inputs are differentiated, then scores the token after them."""
    if not 1 <= max_lag <= MAX_LAG or not 1 <= positions <= MAX_POSITIONS:
        raise SettingsError(f"steps back must be 1-{MAX_LAG} and positions 1-{MAX_POSITIONS}")
    ids_tensor = torch.as_tensor(list(ids), dtype=torch.long)
    starts = window_starts(len(ids_tensor), warmup + max_lag + 1, positions)
    total = torch.zeros(max_lag + 1, dtype=torch.float64)
    net.eval()
    for first in range(0, len(starts), batch):
        chunk = starts[first:first + batch]
        windows = torch.stack([ids_tensor[s:s + warmup + max_lag + 2] for s in chunk])
        total += _batch_norms(net, windows, warmup).sum(0)
        if progress:
            progress(min(1.0, (first + len(chunk)) / len(starts)))
    mean = (total / len(starts)).flip(0)  # column j is lag max_lag - j
    return GradientFlow(list(range(max_lag + 1)), [float(v) for v in mean], len(starts))


def _batch_norms(net: RNNLM, windows: torch.Tensor, warmup: int) -> torch.Tensor:
    """(batch, lags + 1) gradient norms, oldest input first."""
    with torch.no_grad():
        state = net.initial_state(len(windows))
        if warmup:
            _, state = net(windows[:, :warmup], state)
    with torch.enable_grad():
        inputs = net.embedding(windows[:, warmup:-1]).detach().requires_grad_(True)
        hx = state if net.config.cell == "lstm" else state[0]
        out, _ = net.rnn(inputs, hx)
        log_probs = torch.log_softmax(net.head(out[:, -1]).float(), dim=-1)
        chosen = log_probs.gather(1, windows[:, -1:]).sum()  # rows are independent: one backward serves all
        (grad,) = torch.autograd.grad(chosen, inputs)
    return grad.double().norm(dim=-1)
