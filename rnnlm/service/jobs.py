"""Background training jobs for a multi-user server: one queue per process, progress to poll, cancel.

    manager = JobManager()                                   # one per server process, shared by its sessions
    job_id = manager.submit(session_id, JobSpec(text, base=lm, minutes=2))
    snap = manager.snapshot(job_id)   # status, queue position, fraction, ETA, curves, samples, result
    manager.cancel(job_id)            # stops within about a step; the best model so far is kept
    manager.end_session(session_id)   # cancel its jobs, delete its folder; manager.sweep() for stale ones

Each job runs rnnlm.training.fit.fit in its own daemon thread, at most max_concurrent at once;
later jobs wait in a FIFO queue and see their position. The base model is never changed
(fit trains a deep copy). A job first scores the base model on the held-out slice and
samples from it, so the result carries before/after loss and samples on one prompt and seed.

Threads. torch.set_num_threads (which fit calls with TrainConfig.threads) sets the calling
thread's OpenMP pool and the default for threads started later. So a job trains with
train_threads (default 1) torch threads, and the web server's request threads started while it
runs inherit that count for scoring: on a 2-core server one core trains and the other
keeps serving. The process default is captured when the first job starts and restored
when the last one ends (fit's own restore would race when two jobs overlap). NumPy
sampling uses OpenBLAS's one process-wide pool, which threadpoolctl lets only the first
thread that limited it change: a server limits it to 1 thread at start, and fit's
attempt from a job thread is then a no-op, so sampling keeps the server's setting.
"""

from __future__ import annotations

import logging
import shutil
import threading
import uuid
from dataclasses import dataclass, field, replace
from pathlib import Path

import torch

from ..checkpoint import load_model
from ..corpus import split_corpus
from ..errors import RnnlmError
from ..sampling import SamplingSettings, sample_text
from ..scoring import score_text
from ..training.fit import Callbacks, Progress, fit
from .job_spec import JobSpec, check_spec, train_config
from .session_store import SessionStore
from .uploads import label

log = logging.getLogger(__name__)
# Every evaluation scores all of the held-out slice (so the trainer never rescores the kept
# model when stopping, which keeps Cancel quick): ~1.4 s for a 2x512 LSTM on one core.
MAX_HELD_OUT_CHARS = 10_000
MAX_CURVE_POINTS = 4000  # longer loss histories are thinned (every other point) to bound memory
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
    val_loss: tuple[tuple[int, float], ...] = ()  # (step, nats/char) per evaluation
    samples: tuple[tuple[int, str], ...] = ()  # (step, sample) per evaluation
    result: JobResult | None = None

    @property
    def finished(self) -> bool:
        return self.status in FINISHED


class _Job:
    """One job's mutable state; every field is read and written under the manager's lock."""

    def __init__(self, job_id: str, session_id: str, spec: JobSpec, name: str, run_dir: Path):
        self.id, self.session_id, self.spec, self.run_dir = job_id, session_id, spec, run_dir
        self.snap = JobSnapshot(job_id, name, spec.kind, "queued")
        self.train_loss: list[tuple[int, float]] = []
        self.cancel, self.done = threading.Event(), threading.Event()


class _Recorder(Callbacks):
    """The trainer's callbacks, copied into the job's snapshot for the page to poll."""

    def __init__(self, manager: "JobManager", job: _Job):
        self.manager, self.job = manager, job

    def on_step(self, p: Progress) -> None:
        eta = p.eta_seconds if p.eta_seconds != float("inf") else None
        with self.manager._lock:
            losses = self.job.train_loss
            losses.append((p.step, p.loss))
            if len(losses) > MAX_CURVE_POINTS:
                losses[:] = losses[::2]
            self.job.snap = replace(self.job.snap, fraction=p.fraction, eta_seconds=eta, step=p.step,
                                    elapsed_seconds=p.elapsed_seconds, tokens_per_second=p.tokens_per_second,
                                    grad_norm=p.grad_norm, clip_rate=p.clip_rate)

    def on_eval(self, p: Progress) -> None:
        with self.manager._lock:
            snap = self.job.snap
            samples = snap.samples + ((p.step, p.sample),) if p.sample is not None else snap.samples
            self.job.snap = replace(snap, val_loss=snap.val_loss + ((p.step, p.val_loss),), samples=samples)


class _ServerThreads:
    """The process's default torch thread count, captured when the first job starts and
    restored when the last one ends."""

    def __init__(self):
        self.lock, self.running, self.saved = threading.Lock(), 0, 1

    def job_started(self) -> None:
        with self.lock:
            if self.running == 0:  # a fresh thread reports the process default, not a job's
                self.saved = torch.get_num_threads()
            self.running += 1

    def job_ended(self) -> None:
        with self.lock:
            self.running -= 1
            if self.running == 0:
                torch.set_num_threads(self.saved)


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


def _train(manager: "JobManager", job: _Job) -> JobResult | None:
    """The job's work; None if it was cancelled before training began."""
    spec = job.spec
    train, val = held_out_split(spec.text)
    cfg = train_config(spec, train, manager.train_threads)
    manager._update(job, phase="preparing", message="scoring the base model on the held-out text")
    # float32, as the trainer scores: before and after must differ only by the training
    before = score_text(spec.base, val, precision="float32").nats_per_char if spec.base is not None else None
    sample_before = _sample(spec.base, spec) if spec.base is not None else None
    if job.cancel.is_set():
        return None
    manager._update(job, phase="training", message="")
    if job.cancel.is_set():  # cancelled while the phase changed: keep saying so
        manager._update(job, phase="cancelling")
    fitted = fit(cfg, train, val, job.run_dir, init_from=spec.base, callbacks=_Recorder(manager, job),
                 should_stop=job.cancel.is_set, facts={"upload_chars": len(spec.text), "job": job.snap.name})
    manager._update(job, phase="finishing", message="sampling from the new model")
    tuned = load_model(fitted.model_dir, name=job.snap.name)
    result = JobResult(fitted.model_dir, job.snap.name, before, fitted.best_val, len(val), spec.prompt, spec.seed,
                       sample_before, _sample(tuned, spec), fitted.steps, fitted.minutes, fitted.stopped_by,
                       dict(fitted.facts))
    (fitted.model_dir / "card.md").write_text(_card(job.snap.name, spec, result), encoding="utf-8")
    shutil.rmtree(job.run_dir / "checkpoint", ignore_errors=True)  # optimizer state: a page job never resumes
    return result


class JobManager:
    """Server-wide: the job queue, the running threads, and every session's jobs."""

    def __init__(self, store: SessionStore | None = None, max_concurrent: int = 1, train_threads: int = 1,
                 max_queue: int = 8, max_minutes: float = 30.0, jobs_per_session: int = 1):
        self.store = store or SessionStore()
        self.max_concurrent, self.train_threads, self.max_queue = max_concurrent, train_threads, max_queue
        self.max_minutes, self.jobs_per_session = max_minutes, jobs_per_session
        self._lock = threading.RLock()
        self._jobs: dict[str, _Job] = {}
        self._queue: list[_Job] = []
        self._running = 0
        self._threads = _ServerThreads()

    # --- what the page calls -------------------------------------------------------------
    def submit(self, session_id: str, spec: JobSpec) -> str:
        """Queue a job (it starts at once if a slot is free); its id. RnnlmError if the spec is
        invalid, the session already has a job, or the queue is full."""
        check_spec(spec, self.max_minutes, self.train_threads)
        with self._lock:
            active = [j for j in self._jobs.values() if j.session_id == session_id and not j.snap.finished]
            if len(active) >= self.jobs_per_session:
                raise RnnlmError("this session already has a training job; wait for it to finish or cancel it")
            if len(self._queue) >= self.max_queue:
                raise RnnlmError(f"the server is busy: {len(self._queue)} training jobs are waiting; "
                                 "try again in a few minutes")
            job_id = uuid.uuid4().hex[:12]
            name = label(spec.name)[:60] if spec.name.strip() else self._default_name(spec)
            job = _Job(job_id, session_id, spec, name, self.store.new_folder(session_id, "run"))
            self._jobs[job_id] = job
            self._queue.append(job)
            self._dispatch()
            return job_id

    def snapshot(self, job_id: str) -> JobSnapshot:
        with self._lock:
            job = self._job(job_id)
            position = self._queue.index(job) + 1 if job in self._queue else 0
            return replace(job.snap, queue_position=position, train_loss=tuple(job.train_loss))

    def session_jobs(self, session_id: str) -> list[JobSnapshot]:
        with self._lock:
            ids = [j.id for j in self._jobs.values() if j.session_id == session_id]
        return [self.snapshot(i) for i in ids]

    def cancel(self, job_id: str) -> None:
        """A queued job is dropped at once; a running one stops after its current step."""
        with self._lock:
            job = self._job(job_id)
            job.cancel.set()
            if job in self._queue:
                self._queue.remove(job)
                job.snap = replace(job.snap, status="cancelled", message="cancelled before it started")
                job.done.set()
            elif not job.snap.finished:  # the page shows at once that Cancel was heard
                job.snap = replace(job.snap, phase="cancelling", message="stopping; keeping the best model so far")

    def wait(self, job_id: str, timeout: float | None = None) -> JobSnapshot:
        with self._lock:
            job = self._job(job_id)
        job.done.wait(timeout)
        return self.snapshot(job_id)

    def end_session(self, session_id: str, timeout: float = 30.0) -> bool:
        """Cancel the session's jobs, wait for them, delete its folder; False if a job outlived timeout."""
        with self._lock:
            jobs = [j for j in self._jobs.values() if j.session_id == session_id]
        for job in jobs:
            self.cancel(job.id)
        if not all(job.done.wait(timeout) for job in jobs):
            return False
        with self._lock:
            for job in jobs:
                self._jobs.pop(job.id, None)
        self.store.remove(session_id)
        return True

    def sweep(self) -> list[str]:
        """Delete folders of sessions unused for the store's age limit (not those with a live job)."""
        with self._lock:
            busy = {j.session_id for j in self._jobs.values() if not j.snap.finished}
            removed = self.store.sweep(busy)
            for job_id in [i for i, j in self._jobs.items() if not self.store.exists(j.session_id)]:
                del self._jobs[job_id]
        return removed

    # --- internals -------------------------------------------------------------------------
    def _job(self, job_id: str) -> _Job:
        if job_id not in self._jobs:
            raise RnnlmError(f"no training job {label(job_id)!r} (finished long ago, or from another server?)")
        return self._jobs[job_id]

    def _default_name(self, spec: JobSpec) -> str:
        stem = f"{spec.base.name}-tuned" if spec.base is not None else f"{spec.level}-{spec.preset}"
        return f"{stem}-{len(self._jobs) + 1}"

    def _update(self, job: _Job, **changes) -> None:
        with self._lock:
            job.snap = replace(job.snap, **changes)

    def _dispatch(self) -> None:
        """Start queued jobs while slots are free (called under the lock)."""
        while self._queue and self._running < self.max_concurrent:
            job = self._queue.pop(0)
            self._running += 1
            job.snap = replace(job.snap, status="running", phase="preparing")
            threading.Thread(target=self._run, args=(job,), name=f"rnnlm-job-{job.id}", daemon=True).start()

    def _run(self, job: _Job) -> None:
        self._threads.job_started()
        try:
            result = _train(self, job)
            outcome = dict(status="cancelled" if result is None or result.stopped_by == "cancelled" else "done",
                           result=result, message="")
        except RnnlmError as exc:
            outcome = dict(status="failed", message=str(exc))
        except Exception as exc:  # a bug: the page shows a line, the log keeps the traceback
            log.exception("training job %s failed", job.id)
            outcome = dict(status="failed", message=f"training failed: {type(exc).__name__}: {exc}")
        finally:
            self._threads.job_ended()
        with self._lock:  # the slot is free before anyone waiting on `done` looks again
            self._running -= 1
            job.snap = replace(job.snap, phase="", **outcome)
            job.done.set()
            self._dispatch()
