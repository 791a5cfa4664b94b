"""Background training jobs for a multi-user server: one queue per process, progress to poll, cancel.

    manager = JobManager()                                   # one per server process, shared by its sessions
    job_id = manager.submit(session_id, JobSpec(text, base=lm, minutes=2))
    snap = manager.snapshot(job_id)   # status, queue position, fraction, ETA, curves, samples, result
    manager.cancel(job_id)            # stops within about a step; the best model so far is kept
    manager.end_session(session_id)   # ends its jobs, deletes its folder; manager.sweep() for stale ones

Each job trains in its own child process (job_process: forked by multiprocessing's fork server,
at a lower CPU priority, with train_threads torch threads), at most max_concurrent at once;
later jobs wait in a FIFO queue and see their position. The queue, the limits and every
session's jobs live here, in the server process; a thread per running job reads the child's
progress messages into its snapshot. A child that crashes fails its own job only.

The base model is never changed: the child loads its own copy from the model's folder. A job
first scores the base model on the held-out slice and samples from it, so the result carries
before/after loss and samples on one prompt and seed (job_run).

The server's own thread settings are untouched: the training threads belong to the child.
"""

from __future__ import annotations

import logging
import threading
import uuid
from dataclasses import replace

from ..errors import RnnlmError
from .job_process import run_in_process
from .job_progress import Job
from .job_run import held_out_split
from .job_spec import JobSpec, check_spec, numbered_name
from .job_status import JobResult, JobSnapshot
from .job_task import ProcessLimits
from .session_store import SessionStore
from .uploads import label

# The page and the tests import these from here: one module for the whole service.
__all__ = ["JobManager", "JobResult", "JobSnapshot", "ProcessLimits", "held_out_split"]
log = logging.getLogger(__name__)


class JobManager:
    """Server-wide: the job queue, the running jobs' processes, and every session's jobs."""

    def __init__(self, store: SessionStore | None = None, max_concurrent: int = 1, train_threads: int = 1,
                 max_queue: int = 8, max_minutes: float = 30.0, jobs_per_session: int = 1,
                 limits: ProcessLimits | None = None):
        self.store = store or SessionStore()
        self.max_concurrent, self.train_threads, self.max_queue = max_concurrent, train_threads, max_queue
        self.max_minutes, self.jobs_per_session = max_minutes, jobs_per_session
        self.limits = limits or ProcessLimits()
        self._lock = threading.RLock()
        self._jobs: dict[str, Job] = {}
        self._queue: list[Job] = []
        self._running = 0

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
        """A queued job is dropped at once; a running one stops after its current step (its
        process gets SIGTERM) and keeps the best model so far."""
        with self._lock:
            self._cancel(self._job(job_id), kill=False)

    def wait(self, job_id: str, timeout: float | None = None) -> JobSnapshot:
        with self._lock:
            job = self._job(job_id)
        job.done.wait(timeout)
        return self.snapshot(job_id)

    def end_session(self, session_id: str, timeout: float = 30.0) -> bool:
        """End the session's jobs (their processes are killed), delete its folder; False if a job outlived timeout."""
        with self._lock:
            jobs = [j for j in self._jobs.values() if j.session_id == session_id]
            for job in jobs:  # nothing of theirs is kept, so their processes end at once
                self._cancel(job, kill=True)
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

    def _cancel(self, job: Job, kill: bool) -> None:
        """Called under the lock."""
        job.cancel.set()
        if job in self._queue:
            self._queue.remove(job)
            job.snap = replace(job.snap, status="cancelled", message="cancelled before it started")
            job.done.set()
            return
        if job.snap.finished:
            return
        job.snap = replace(job.snap, phase="cancelling", message="stopping; keeping the best model so far")
        if job.worker is None:  # run_in_process stops it as soon as it exists
            return
        if kill:
            job.worker.kill("its session ended")
        else:
            job.worker.stop()

    def _dispatch(self) -> None:
        """Start queued jobs while slots are free (called under the lock)."""
        while self._queue and self._running < self.max_concurrent:
            job = self._queue.pop(0)
            self._running += 1
            job.snap = replace(job.snap, status="running", phase="preparing")
            threading.Thread(target=self._run, args=(job,), name=f"rnnlm-job-{job.id}", daemon=True).start()

    def _run(self, job: Job) -> None:
        try:
            outcome = run_in_process(job, self.train_threads, self.limits)
        except Exception as exc:  # a bug, or no process could start: the page shows a line, the log the traceback
            log.exception("training job %s failed", job.id)
            outcome = {"status": "failed", "message": f"training failed: {type(exc).__name__}: {exc}"}
        with self._lock:  # the slot is free before anyone waiting on `done` looks again
            self._running -= 1
            job.snap = replace(job.snap, phase="", pid=None, **outcome)
            job.worker = None
            job.done.set()
            self._dispatch()
