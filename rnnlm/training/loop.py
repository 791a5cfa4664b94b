"""The training loop's outer shape: step until a stop condition that every rank agrees on."""

from __future__ import annotations

import math

from .progress import Progress


def stop_reason(run, progress: Progress | None = None) -> str | None:
    """Why the run (fit's _Run) should stop now, or None; progress: the step just taken."""
    cfg, counters = run.cfg, run.counters
    if run.should_stop():
        return "cancelled"
    if run.interrupted.is_set():
        return "interrupted"
    if progress is not None and not (math.isfinite(progress.loss) and math.isfinite(progress.grad_norm)):
        return "diverged"
    if counters.step >= cfg.max_steps:
        return "max_steps"
    if cfg.max_minutes and counters.elapsed_seconds >= cfg.max_minutes * 60:
        return "max_minutes"
    if cfg.patience and counters.evals_without_improvement >= cfg.patience:
        return "early_stop"
    return None


def train_until_stopped(run) -> str:
    """Optimisation steps until rank 0 says stop; returns why."""
    reason = stop_reason(run)  # a resumed run may have nothing left to do
    while not run.agree(reason):
        progress = run.train_step()
        reason = run.report(progress) if run.ranks.leader else None
        if run.counters.step % run.cfg.checkpoint_every == 0:
            run.checkpoint()
    return reason or "stopped by rank 0"
