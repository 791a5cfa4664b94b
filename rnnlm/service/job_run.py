"""What one training job does in its thread: score and sample the base model on a held-out
slice, fine-tune (or train from scratch) with fit, then sample the new model and write its card.

The job's progress reaches its snapshot through JobRecorder, the trainer's callbacks; every
change to a Job is made under the manager's lock, which the job holds.
"""

from __future__ import annotations

import shutil
import threading
from dataclasses import replace
from pathlib import Path

from ..checkpoint import CONFIG_FILE, load_model
from ..corpus import split_corpus
from ..sampling import SamplingSettings, sample_text
from ..scoring import score_text
from ..tokenizers import Tokenizer, load_tokenizer
from ..training.fit import Callbacks, Progress, fit
from .job_spec import JobSpec, train_config
from .job_status import JobResult, JobSnapshot

# Every evaluation scores all of the held-out slice (so the trainer never rescores the kept
# model when stopping, which keeps Cancel quick): ~1.4 s for a 2x512 LSTM on one core.
MAX_HELD_OUT_CHARS = 10_000
MAX_CURVE_POINTS = 4000  # longer loss histories are thinned (every other point) to bound memory


class Job:
    """One job's mutable state; every field is read and written under lock, the manager's
    (one lock for all jobs, so the manager sees its queue and every job at one instant)."""

    def __init__(self, job_id: str, session_id: str, spec: JobSpec, name: str, run_dir: Path,
                 lock: threading.RLock):
        self.id, self.session_id, self.spec, self.run_dir, self.lock = job_id, session_id, spec, run_dir, lock
        self.snap = JobSnapshot(job_id, name, spec.kind, "queued")
        self.train_loss: list[tuple[int, float]] = []
        self.cancel, self.done = threading.Event(), threading.Event()

    def update(self, **changes) -> None:
        with self.lock:
            self.snap = replace(self.snap, **changes)


class JobRecorder(Callbacks):
    """The trainer's callbacks, copied into the job's snapshot for the page to poll."""

    def __init__(self, job: Job, held_out: str = ""):
        self.job, self.held_out = job, held_out

    def on_step(self, p: Progress) -> None:
        eta = p.eta_seconds if p.eta_seconds != float("inf") else None
        with self.job.lock:
            losses = self.job.train_loss
            losses.append((p.step, p.loss))
            if len(losses) > MAX_CURVE_POINTS:
                losses[:] = losses[::2]
            self.job.snap = replace(self.job.snap, fraction=p.fraction, eta_seconds=eta, step=p.step,
                                    elapsed_seconds=p.elapsed_seconds, tokens_per_second=p.tokens_per_second,
                                    grad_norm=p.grad_norm, clip_rate=p.clip_rate)

    def on_eval(self, p: Progress) -> None:
        with self.job.lock:
            known = self.job.snap.chars_per_token
        if known is None:  # a new word model: its tokenizer exists once an evaluation exported it
            known = self._exported_chars_per_token()
        with self.job.lock:
            snap = self.job.snap
            samples = snap.samples + ((p.step, p.sample),) if p.sample is not None else snap.samples
            self.job.snap = replace(snap, val_loss=snap.val_loss + ((p.step, p.val_loss),), samples=samples,
                                    chars_per_token=known)

    def _exported_chars_per_token(self) -> float | None:
        folder = self.job.run_dir / "model"
        if not self.held_out or not (folder / CONFIG_FILE).is_file():
            return None
        return chars_per_token(load_tokenizer(folder), self.held_out)


def chars_per_token(tokenizer: Tokenizer, text: str) -> float:
    """Characters per token of text: a loss in nats/token divided by it is in nats/char (1 at char level)."""
    return len(text) / max(1, len(tokenizer.encode(text)))


def held_out_split(text: str) -> tuple[str, str]:
    """split_corpus's held-out tail, at most MAX_HELD_OUT_CHARS of it."""
    train, val = split_corpus(text)
    if len(val) > MAX_HELD_OUT_CHARS:
        train, val = text[:-MAX_HELD_OUT_CHARS], text[-MAX_HELD_OUT_CHARS:]
    return train, val


def _sample(lm, spec: JobSpec) -> str:
    return sample_text(lm, spec.prompt, SamplingSettings(max_new_tokens=spec.sample_tokens, seed=spec.seed))


def _card(name: str, spec: JobSpec, result: JobResult) -> str:
    origin = f"fine-tuned from {spec.base.name}" if spec.base is not None else \
        f"trained from scratch ({spec.level} level, {spec.preset} preset)"
    before = "" if result.val_before is None else f"{result.val_before:.4f} before, "
    after = "n/a" if result.val_after is None else f"{result.val_after:.4f}"
    return (f"# {name}\n\nA session model {origin} in the playground on {len(spec.text):,} uploaded characters: "
            f"{result.steps} steps, {result.minutes:.1f} minutes, stopped by {result.stopped_by}.\n\n"
            f"Held-out nats/char ({result.held_out_chars:,} characters): {before}{after} after.\n")


def train_job(job: Job, train_threads: int) -> JobResult | None:
    """The job's work; None if it was cancelled before training began."""
    spec = job.spec
    train, val = held_out_split(spec.text)
    cfg = train_config(spec, train, train_threads)
    # A new word model's tokenizer is built by fit: JobRecorder measures it at the first evaluation.
    known = chars_per_token(spec.base.tokenizer, val) if spec.base is not None else \
        1.0 if cfg.level == "char" else None
    job.update(phase="preparing", message="scoring the base model on the held-out text", chars_per_token=known)
    # float32, as the trainer scores: before and after must differ only by the training
    before = score_text(spec.base, val, precision="float32").nats_per_char if spec.base is not None else None
    sample_before = _sample(spec.base, spec) if spec.base is not None else None
    if job.cancel.is_set():
        return None
    job.update(phase="training", message="")
    if job.cancel.is_set():  # cancelled while the phase changed: keep saying so
        job.update(phase="cancelling")
    fitted = fit(cfg, train, val, job.run_dir, init_from=spec.base, callbacks=JobRecorder(job, val),
                 should_stop=job.cancel.is_set, facts={"upload_chars": len(spec.text), "job": job.snap.name})
    job.update(phase="finishing", message="sampling from the new model")
    tuned = load_model(fitted.model_dir, name=job.snap.name)
    result = JobResult(fitted.model_dir, job.snap.name, before, fitted.best_val, len(val), spec.prompt, spec.seed,
                       sample_before, _sample(tuned, spec), fitted.steps, fitted.minutes, fitted.stopped_by,
                       dict(fitted.facts), base_name=spec.base.name if spec.base is not None else None,
                       best_step=tuned.metadata.get("best_step"))
    (fitted.model_dir / "card.md").write_text(_card(job.snap.name, spec, result), encoding="utf-8")
    shutil.rmtree(job.run_dir / "checkpoint", ignore_errors=True)  # optimizer state: a page job never resumes
    return result

