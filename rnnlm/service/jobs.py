"""Background training jobs for a multi-user server: one queue per process, progress to poll, cancel.

    manager = JobManager()                                   # one per server process, shared by its sessions
    job_id = manager.submit(session_id, JobSpec(text, base=lm, minutes=2))
    snap = manager.snapshot(job_id)   # status, queue position, fraction, ETA, curves, samples, result
    manager.cancel(job_id)            # stops within about a step; the best model so far is kept
    manager.end_session(session_id)   # cancel its jobs, delete its folder; manager.sweep() for stale ones

Each job runs rnnlm.training.fit.fit (job_run.train_job) in its own daemon thread, at most max_concurrent at once;
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
import threading
import uuid
from dataclasses import replace

import torch

from ..errors import RnnlmError
from .job_run import Job, held_out_split, train_job
from .job_spec import JobSpec, check_spec, numbered_name
from .job_status import JobResult, JobSnapshot
from .session_store import SessionStore
from .uploads import label

# The page and the tests import these from here: one module for the whole service.
__all__ = ["JobManager", "JobResult", "JobSnapshot", "held_out_split"]
log = logging.getLogger(__name__)


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

class JobManager:
    """Server-wide: the job queue, the running threads, and every session's jobs."""

    def __init__(self, store: SessionStore | None = None, max_concurrent: int = 1, train_threads: int = 1,
                 max_queue: int = 8, max_minutes: float = 30.0, jobs_per_session: int = 1):
        self.store = store or SessionStore()
        self.max_concurrent, self.train_threads, self.max_queue = max_concurrent, train_threads, max_queue
        self.max_minutes, self.jobs_per_session = max_minutes, jobs_per_session
        self._lock = threading.RLock()
        self._jobs: dict[str, Job] = {}
        self._queue: list[Job] = []
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
            name = label(spec.name)[:60] if spec.name.strip() else self._default_name(session_id, spec)
            job = Job(job_id, session_id, spec, name, self.store.new_folder(session_id, "run"), self._lock)
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
    def _job(self, job_id: str) -> Job:
        if job_id not in self._jobs:
            raise RnnlmError(f"no training job {label(job_id)!r} (finished long ago, or from another server?)")
        return self._jobs[job_id]

    def _default_name(self, session_id: str, spec: JobSpec) -> str:
        """Numbered among the session's own jobs: another session's jobs never shift it."""
        return numbered_name(spec.name_stem, {j.snap.name for j in self._jobs.values() if j.session_id == session_id})

    def _dispatch(self) -> None:
        """Start queued jobs while slots are free (called under the lock)."""
        while self._queue and self._running < self.max_concurrent:
            job = self._queue.pop(0)
            self._running += 1
            job.snap = replace(job.snap, status="running", phase="preparing")
            threading.Thread(target=self._run, args=(job,), name=f"rnnlm-job-{job.id}", daemon=True).start()

    def _run(self, job: Job) -> None:
        self._threads.job_started()
        try:
            result = train_job(job, self.train_threads)
            outcome = {"status": "cancelled" if result is None or result.stopped_by == "cancelled" else "done",
                       "result": result, "message": ""}
        except RnnlmError as exc:
            outcome = {"status": "failed", "message": str(exc)}
        except Exception as exc:  # a bug: the page shows a line, the log keeps the traceback
            log.exception("training job %s failed", job.id)
            outcome = {"status": "failed", "message": f"training failed: {type(exc).__name__}: {exc}"}
        finally:
            self._threads.job_ended()
        with self._lock:  # the slot is free before anyone waiting on `done` looks again
            self._running -= 1
            job.snap = replace(job.snap, phase="", **outcome)
            job.done.set()
            self._dispatch()
