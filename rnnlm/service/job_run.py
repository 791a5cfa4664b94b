"""What one training job does, in its own process (job_child): score and sample the base model
on a held-out slice, fine-tune (or train from scratch) with fit, then sample the new model and
write its card.

Its progress leaves through a ProgressReporter (job_progress), the trainer's callbacks, as
messages the server applies to the job's snapshot.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

from ..checkpoint import load_model
from ..corpus import split_corpus
from ..sampling import SamplingSettings, sample_text
from ..scoring import score_text
from ..training.fit import fit
from .job_progress import ProgressReporter, chars_per_token
from .job_spec import JobSpec, train_config
from .job_status import JobResult

# The page and older callers import chars_per_token from here.
__all__ = ["MAX_HELD_OUT_CHARS", "chars_per_token", "held_out_split", "train_job"]

# Every evaluation scores all of the held-out slice (so the trainer never rescores the kept
# model when stopping, which keeps Cancel quick): ~1.4 s for a 2x512 LSTM on one core.
MAX_HELD_OUT_CHARS = 10_000


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


def train_job(spec: JobSpec, name: str, run_dir: Path, train_threads: int, send: Callable[[dict], None],
              should_stop: Callable[[], bool]) -> JobResult | None:
    """The job's work, its progress sent as messages; None if it was stopped before training began."""
    train, val = held_out_split(spec.text)
    report = ProgressReporter(send, run_dir, val)
    cfg = train_config(spec, train, train_threads)
    # A new word model's tokenizer is built by fit: the reporter measures it at the first evaluation.
    known = chars_per_token(spec.base.tokenizer, val) if spec.base is not None else \
        1.0 if cfg.level == "char" else None
    report.update(phase="preparing", message="scoring the base model on the held-out text", chars_per_token=known)
    # float32, as the trainer scores: before and after must differ only by the training
    before = score_text(spec.base, val, precision="float32").nats_per_char if spec.base is not None else None
    sample_before = _sample(spec.base, spec) if spec.base is not None else None
    if should_stop():
        return None
    report.update(phase="training", message="")
    fitted = fit(cfg, train, val, run_dir, init_from=spec.base, callbacks=report, should_stop=should_stop,
                 facts={"upload_chars": len(spec.text), "job": name})
    report.update(phase="finishing", message="sampling from the new model")
    tuned = load_model(fitted.model_dir, name=name)
    result = JobResult(fitted.model_dir, name, before, fitted.best_val, len(val), spec.prompt, spec.seed,
                       sample_before, _sample(tuned, spec), fitted.steps, fitted.minutes, fitted.stopped_by,
                       dict(fitted.facts), base_name=spec.base.name if spec.base is not None else None,
                       best_step=tuned.metadata.get("best_step"))
    (fitted.model_dir / "card.md").write_text(_card(name, spec, result), encoding="utf-8")
    shutil.rmtree(run_dir / "checkpoint", ignore_errors=True)  # optimizer state: a page job never resumes
    return result
