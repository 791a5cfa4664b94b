"""Runs a job in its own process; the server's side of it.

    outcome = run_in_process(job, train_threads, limits)   # in the job's thread of the server

Each job trains in a child process (job_child.run_child) forked by multiprocessing's fork
server, never by fork() of the threaded web server. The fork server starts with the server's
first job (or at warm_up()), once per server process, and loads torch and the trainer once
(job_forkserver): the first job waits for that (~5 s), later ones start in tens of
milliseconds. Until then a server that never trains pays nothing for it (the fork server
holds ~260 MB of its own memory, docs/DEPLOY.md). The server keeps a thread per running job that reads the
child's messages (job_progress: JSON objects of numbers and strings) from a Pipe and applies
them to the job's snapshot, so progress, curves and samples reach the page as before.

A child that crashes (segfault, os._exit, the out-of-memory killer's SIGKILL) only ends its own
job, as failed, with the way it ended; the server keeps serving and the queue moves on.
Cancel sends SIGTERM: the child stops after its current step and keeps the best model so far;
a child still running cancel_seconds later gets SIGKILL. Children are daemons and are killed
when the server exits (atexit); if the server is killed outright, a child ends at its next
message, which fails with no reader.
"""

from __future__ import annotations

import atexit
import logging
import multiprocessing
import signal
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from multiprocessing import forkserver
from multiprocessing.connection import wait

from .job_child import run_child
from .job_progress import MAX_MESSAGE_BYTES, Job, decode
from .job_task import ProcessLimits, make_task, remove_inputs
from .settings import ENV_NAMES

log = logging.getLogger(__name__)
PRELOAD = ["rnnlm.service.job_forkserver"]
POLL_SECONDS = 0.25  # how often a job's thread looks at a Cancel deadline while nothing arrives
_context_lock = threading.Lock()
_live: set[JobProcess] = set()


def job_context():
    """The fork server context, with its preload set (once per process)."""
    with _context_lock:
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(PRELOAD)
        return context


def warm_up() -> None:
    """Start the fork server now (it loads in the background), so the first job need not wait for it."""
    job_context()
    forkserver.ensure_running()


class JobProcess:
    """One job's child process and the read end of its messages."""

    def __init__(self, task: dict, cancel_seconds: float):
        context = job_context()
        self._reader, writer = context.Pipe(duplex=False)
        self._process = context.Process(target=run_child, args=(task, writer), daemon=True,
                                        name=f"rnnlm-job-{task['name']}")
        self._lock = threading.Lock()  # Process's poll and signals are not meant for two threads at once
        self.cancel_seconds, self.stop_deadline = cancel_seconds, None
        self.killed: str | None = None  # why it was sent SIGKILL
        with self._lock:
            self._process.start()
        writer.close()  # the child holds the only write end: its exit ends the stream
        _live.add(self)

    @property
    def pid(self) -> int:
        return self._process.pid

    @property
    def exitcode(self) -> int | None:
        with self._lock:
            return self._process.exitcode

    def stop(self) -> None:
        """Cancel: SIGTERM once; messages() sends SIGKILL if the child outlives cancel_seconds."""
        with self._lock:
            if self.stop_deadline is None and self._process.exitcode is None:
                self.stop_deadline = time.monotonic() + self.cancel_seconds
                self._process.terminate()

    def kill(self, why: str) -> None:
        with self._lock:
            if self._process.exitcode is None:  # polls first: never signal a pid that may be reused
                self._process.kill()
                self.killed = self.killed or why

    def messages(self) -> Iterator[dict]:
        """Each message the child sends, until it has ended and everything it sent is read."""
        reader, sentinel, reading = self._reader, self._process.sentinel, True
        while True:
            ready = wait([sentinel, reader] if reading else [sentinel], timeout=POLL_SECONDS)
            if reading and reader in ready:
                try:
                    data = reader.recv_bytes(MAX_MESSAGE_BYTES)
                except (EOFError, OSError):  # the child closed its end, or died
                    reading = False
                    continue
                try:
                    message = decode(data)
                except (ValueError, TypeError):
                    log.warning("job process %s sent an unreadable message", self.pid)
                    continue
                yield message
                continue
            if sentinel in ready:
                if reading and reader.poll():  # sent just before it ended: read that first
                    continue
                break
            if self.stop_deadline is not None and time.monotonic() > self.stop_deadline:
                self.kill(f"the training process did not stop within {self.cancel_seconds:g} s of Cancel and was "
                          "ended; no model was kept")
        self.close()

    def close(self) -> None:
        with self._lock:
            self._process.join(5)
        self._reader.close()
        _live.discard(self)


def run_in_process(job: Job, train_threads: int, limits: ProcessLimits) -> dict:
    """Run job in a child process; its outcome: {"status", "message"[, "result"]}."""
    worker = None
    try:
        job.update(message="starting the training process")  # the first job also waits for the fork server
        task = make_task(job, train_threads, limits)
        if job.cancel.is_set():
            return {"status": "cancelled", "message": "cancelled before training began"}
        worker = JobProcess(task, limits.cancel_seconds)  # not under the lock: the first waits for the fork server
        with job.lock:
            job.worker = worker
            job.snap = replace(job.snap, pid=worker.pid)
        if job.cancel.is_set():  # cancel() may have come while there was no worker to stop
            worker.stop()
        for message in worker.messages():
            try:
                job.apply(message)
            except (KeyError, TypeError, ValueError):
                log.warning("job %s: a malformed %r message was ignored", job.id, message.get("kind"))
        return outcome(job, worker.exitcode, worker.killed, limits)
    finally:
        if worker is not None and worker.exitcode is None:  # this thread failed: the process must not outlive it
            worker.kill("the job's server thread failed")
            worker.close()
        remove_inputs(job.run_dir)


def outcome(job: Job, exitcode: int | None, killed: str | None, limits: ProcessLimits) -> dict:
    """How the job ended, from what its process said last and how the process ended."""
    with job.lock:
        result, error, cancelled = job.result, job.error, job.cancel.is_set()
    if result is not None:
        return {"status": "cancelled" if result.stopped_by == "cancelled" else "done", "result": result, "message": ""}
    if error is not None:
        return {"status": "failed", "message": error}
    if cancelled:
        return {"status": "cancelled", "message": killed or "cancelled before training began"}
    return {"status": "failed", "message": ended_unexpectedly(exitcode, limits.memory_mb)}


def ended_unexpectedly(exitcode: int | None, memory_mb: float = 0) -> str:
    if exitcode is not None and exitcode < 0:
        name = signal.Signals(-exitcode).name if -exitcode in signal.valid_signals() else f"signal {-exitcode}"
        how = f"killed by {name}" + (", as the system's out-of-memory killer does" if name == "SIGKILL" else "")
    else:
        how = f"exit code {exitcode}"
    ceiling = f"; it may have run out of memory: a job may use {memory_mb:g} MiB " \
              f"({ENV_NAMES['job_memory_mb']})" if memory_mb else ""
    return (f"the training process ended unexpectedly ({how}){ceiling}. Nothing was kept; the server is "
            "fine: try again, with less text or a smaller model if it happens again")


@atexit.register
def _kill_children() -> None:
    """No orphans: a job's process dies with the server (runs before multiprocessing's own
    atexit, which would SIGTERM daemons and wait for them to finish their step and sample)."""
    for worker in list(_live):
        worker.kill("the server stopped")
