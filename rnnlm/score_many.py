"""Score one text with several models side by side: worker threads with one torch thread each.

    results = score_many({"c-char-gru": lm1, "c-char-lstm": lm2}, text)  # name -> ScoreResult

Why: a scoring step is a small product (16 streams x 512 units), which a second torch thread
speeds up by only ~1.45x (2 idle cores: the 8 char models on 20,000 characters of C, 9.30 s on
one thread, 6.34 s on two), while two models on two single-thread workers keep both cores busy
all along. Single-thread workers never spin-wait on each other either, so when another process
takes a core they slow down by the share they lose, not many-fold (rnnlm.runtime).

torch.set_num_threads is half per-thread: it sets the calling thread's OpenMP and MKL thread
counts, and a process-wide count that a thread copies the first time it runs a parallel op or
asks for its count, even over a count it set itself. Tried: a thread that asked, then set 1,
keeps 1 after another thread sets 2; one that set 1 without asking first gets 2 when it first
asks; a thread started while the process-wide count is 1 gets 1. So each worker asks, then sets
1, once, when its pool starts; the thread that started the pool then sets the process-wide count
back to its own, so threads started later (Streamlit's script runs) keep the cores they should
have. A call uses as many workers as its own thread has torch threads, so the workers' threads
never outnumber what one call would have used.

A model's result is the one score_text gives with one torch thread, bit for bit (and, on the
shipped char models, the one it gives with two).
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import Future, wait

import torch

from .errors import RnnlmError
from .language_model import LanguageModel
from .scoring import ScoreResult, score_text


class ScoringInterrupted(RnnlmError):
    """What the others waiting for a job get when the thread reading it was stopped."""


class ScoreJob:
    """One model's score of one text, queued, running or done. Any thread may read its progress;
    result() waits and returns the ScoreResult or raises what scoring raised."""

    def __init__(self, name: str, lm: LanguageModel | None, text: str, speed: dict | None = None):
        self.name, self.lm, self.text, self.speed = name, lm, text, speed or {}
        self.future: Future[ScoreResult] = Future()
        self.done, self.total = 0, 1  # steps read of the longest stream (scoring's on_progress)
        self.queued = False  # in a pool's queue: a worker runs it, else whoever waits for it does
        self._claim = threading.Lock()
        self._claimed = False

    @property
    def fraction(self) -> float:
        return 1.0 if self.future.done() else self.done / max(self.total, 1)

    @property
    def running(self) -> bool:
        return self.future.running()

    def run(self, on_step: Callable[[], None] | None = None) -> None:
        """Score in the calling thread, unless another thread has taken the job (or it was cancelled);
        on_step() after each window, in this thread."""
        with self._claim:
            if self._claimed:
                return
            self._claimed = True
        if not self.future.set_running_or_notify_cancel():
            return
        try:
            result = score_text(self.lm, self.text, on_progress=lambda done, total: self._progress(done, total, on_step),
                                **self.speed)
        except Exception as exc:  # noqa: BLE001  (handed to whoever waits: a worker outlives a failed job)
            self.future.set_exception(exc)
        except BaseException:  # a stopped script (Streamlit's StopException) in the thread reading it
            self.future.set_exception(ScoringInterrupted(f"scoring with {self.name} was stopped; score the text again"))
            if not self.queued:  # that thread is the waiter's, which must stop
                raise
        else:
            self.future.set_result(result)

    def _progress(self, done: int, total: int, on_step: Callable[[], None] | None) -> None:
        self.done, self.total = done, total
        if on_step is not None:
            on_step()

    def result(self, timeout: float | None = None) -> ScoreResult:
        return self.future.result(timeout)

    @classmethod
    def finished(cls, name: str, result: ScoreResult) -> ScoreJob:
        """A job whose result is known already (a kept score)."""
        job = cls(name, None, "")
        job._claimed = True
        job.future.set_running_or_notify_cancel()
        job.future.set_result(result)
        return job


class ScorePool:
    """`workers` daemon threads, each with one torch thread, taking jobs first come first served."""

    def __init__(self, workers: int):
        self.workers, self.jobs = workers, queue.SimpleQueue()
        own = torch.get_num_threads()
        ready = threading.Barrier(workers + 1)
        for index in range(workers):
            threading.Thread(target=self._work, args=(ready,), name=f"rnnlm-score-{index}", daemon=True).start()
        ready.wait()
        torch.set_num_threads(own)  # the process-wide count back; this thread's own is unchanged

    def _work(self, ready: threading.Barrier) -> None:
        torch.get_num_threads()  # a thread's first parallel op copies the process-wide count: let that happen now,
        torch.set_num_threads(1)  # or it would overwrite this 1 with the count restored below
        ready.wait()
        while True:
            self.jobs.get().run()

    def submit(self, job: ScoreJob) -> ScoreJob:
        job.queued = True
        self.jobs.put(job)
        return job


_pools: dict[int, ScorePool] = {}
_pools_lock = threading.Lock()


def shared_pool(workers: int) -> ScorePool:
    """The process's pool of this size, started on first use: every caller shares its workers."""
    with _pools_lock:
        if workers not in _pools:
            _pools[workers] = ScorePool(workers)
        return _pools[workers]


def default_workers() -> int:
    """As many workers as the calling thread has torch threads (one thread: no pool)."""
    return torch.get_num_threads()


def by_cost(models: Mapping[str, LanguageModel]) -> list[str]:
    """Names, most parameters first: the longest jobs start first, so the last to finish is short."""
    return sorted(models, key=lambda name: -models[name].net.config.parameter_count())


def start(models: Mapping[str, LanguageModel], text: str, workers: int | None = None, **speed) -> dict[str, ScoreJob]:
    """A job per model, largest first. With one worker the jobs are run by wait_all, in the
    caller's thread (with its torch threads), so no thread is ever started for them."""
    workers = max(1, workers or default_workers())  # a pool per size: sizes must not multiply with callers
    jobs = {name: ScoreJob(name, models[name], text, speed) for name in by_cost(models)}
    if workers > 1:
        pool = shared_pool(workers)
        for job in jobs.values():
            pool.submit(job)
    return jobs


def wait_all(jobs: Mapping[str, ScoreJob], on_progress: Callable[[list[ScoreJob]], None] | None = None,
             poll: float = 0.1) -> None:
    """Until every job is done; on_progress(jobs) in this thread every `poll` seconds and at the end
    (a Streamlit bar must be updated from the script's own thread). Jobs in no pool run here."""
    listed = list(jobs.values())
    report = None if on_progress is None else (lambda: on_progress(listed))
    for job in listed:
        if not job.queued and not job.future.done():
            job.run(report)  # one worker: this thread is the worker (with its own torch threads)
    pending = {job.future for job in listed}
    while pending:
        _, pending = wait(pending, timeout=poll)
        if on_progress is not None:
            on_progress(listed)


def score_many(models: Mapping[str, LanguageModel], text: str, workers: int | None = None,
               on_progress: Callable[[list[ScoreJob]], None] | None = None, **speed) -> dict[str, ScoreResult]:
    """Every model's score_text of the text, several at once (see the module's docstring);
    raises the first error met, in the models' order."""
    jobs = start(models, text, workers, **speed)
    wait_all(jobs, on_progress)
    return {name: jobs[name].result() for name in models}
