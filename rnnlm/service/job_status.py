"""What the page polls about a training job: its JobSnapshot while it runs, and the JobResult
(before/after loss and samples) once it is done."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

FINISHED = ("cancelled", "done", "failed")


@dataclass(frozen=True)
class JobResult:
    model_dir: Path  # a model folder: load_model, model_zip_bytes, the model picker
    name: str
    val_before: float | None  # base model's nats/char on the held-out slice; None from scratch
    val_after: float | None  # the kept (best) model's nats/char on the same slice
    held_out_chars: int
    prompt: str
    seed: int
    sample_before: str | None  # the base's sample; None from scratch
    sample_after: str
    steps: int
    minutes: float
    stopped_by: str  # max_minutes, max_steps, cancelled, early_stop, diverged
    facts: dict = field(default_factory=dict)  # unknown_rate, added_chars, base_model, ...
    base_name: str | None = None  # the model fine-tuned (it wrote sample_before); None from scratch
    best_step: int | None = None  # the step whose weights were kept (they wrote sample_after)

    @property
    def relative_drop(self) -> float | None:
        if self.val_before is None or self.val_after is None or self.val_before <= 0:
            return None
        return (self.val_before - self.val_after) / self.val_before


@dataclass(frozen=True)
class JobSnapshot:
    job_id: str
    name: str
    kind: str  # fine-tune | scratch
    status: str  # queued | running | cancelled | done | failed
    phase: str = ""  # while running: preparing | training | cancelling | finishing
    queue_position: int = 0  # 1: next to start; 0: not queued
    message: str = ""  # why it failed, or what it is doing
    fraction: float = 0.0  # of the time or step budget
    eta_seconds: float | None = None
    step: int = 0
    elapsed_seconds: float = 0.0
    tokens_per_second: float = 0.0
    grad_norm: float = 0.0
    clip_rate: float = 0.0
    train_loss: tuple[tuple[int, float], ...] = ()  # (step, nats/token)
    # Characters per token of the held-out text: train loss / this = nats/char, comparable with
    # val_loss. 1 at char level; None until a from-scratch word model's tokenizer exists.
    chars_per_token: float | None = None
    val_loss: tuple[tuple[int, float], ...] = ()  # (step, nats/char) per evaluation
    samples: tuple[tuple[int, str], ...] = ()  # (step, sample) per evaluation
    result: JobResult | None = None
    pid: int | None = None  # the process training it, while it runs (job_process)

    @property
    def finished(self) -> bool:
        return self.status in FINISHED

