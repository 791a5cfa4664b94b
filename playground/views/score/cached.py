"""The Score page's scores, computed once per (model, text) and shared by every session.

A bounded, shared store rather than st.cache_data: scoring reports its progress to a bar the
page drew before the call, and st.cache_data would record those bar updates and replay them on
every later hit. `model` (resources.model_key) names the model's weights.

The comparison's scores are jobs on rnnlm.score_many's shared workers. A job's result is kept
when it ends, by the worker, so a comparison the user interrupts (a rerun, a closed tab) is not
lost; and a job still running is handed to the next run or session that asks for the same
score instead of being started twice.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import OrderedDict
from collections.abc import Callable

import streamlit as st

from rnnlm import LanguageModel, ScoreResult, score_text
from rnnlm.score_many import ScoreJob, by_cost, default_workers, shared_pool, wait_all

MINUTES_KEPT = 20
MAX_KEPT = 64


class _Kept:
    """Least recently used first out, each entry dropped MINUTES_KEPT after it was computed."""

    def __init__(self):
        self.lock = threading.Lock()
        self.entries: OrderedDict[tuple[str, str], tuple[float, ScoreResult]] = OrderedDict()
        self.running: dict[tuple[str, str], ScoreJob] = {}

    def get(self, key) -> ScoreResult | None:
        with self.lock:
            return self._get(key)

    def put(self, key, result: ScoreResult) -> None:
        with self.lock:
            self._put(key, result)

    def job(self, key, name: str, lm: LanguageModel, text: str) -> tuple[ScoreJob, bool]:
        """(the kept score as a finished job, the running one, or a new one; whether it is new)."""
        with self.lock:
            found = self._get(key)
            if found is not None:
                return ScoreJob.finished(name, found), False
            if key in self.running:
                return self.running[key], False
            job = self.running[key] = ScoreJob(name, lm, text)
        job.future.add_done_callback(lambda _: self._finish(key, job))
        return job, True

    def _finish(self, key, job: ScoreJob) -> None:
        """In the thread that ran the job: keep its result, then forget the job (one step, so a
        caller in between finds one or the other)."""
        with self.lock:
            if not job.future.cancelled() and job.future.exception() is None:
                self._put(key, job.future.result())
            if self.running.get(key) is job:
                del self.running[key]

    def _get(self, key) -> ScoreResult | None:
        found = self.entries.get(key)
        if found is None or time.monotonic() - found[0] > MINUTES_KEPT * 60:
            self.entries.pop(key, None)
            return None
        self.entries.move_to_end(key)
        return found[1]

    def _put(self, key, result: ScoreResult) -> None:
        self.entries[key] = (time.monotonic(), result)
        self.entries.move_to_end(key)
        while len(self.entries) > MAX_KEPT:
            self.entries.popitem(last=False)


@st.cache_resource
def _kept() -> _Kept:
    return _Kept()


def kept(model: str, text: str) -> ScoreResult | None:
    return _kept().get(_key(model, text))


def is_kept(model: str, text: str) -> bool:
    return kept(model, text) is not None


def _key(model: str, text: str) -> tuple[str, str]:
    return model, hashlib.sha256(text.encode("utf-8")).hexdigest()


def score(model: str, text: str, lm: LanguageModel,
          on_progress: Callable[[int, int], None] | None = None) -> ScoreResult:
    """The kept result, the result of a comparison's job already reading it, or a fresh one computed
    in this thread; on_progress(done, total) as it goes. Never mutate it: it is shared."""
    key = _key(model, text)
    result = _kept().get(key)
    if result is not None:
        return result
    job = _kept().running.get(key)
    if job is not None and job.running:  # a rerun (another model picked mid-comparison): no second reading
        wait_all({job.name: job}, None if on_progress is None else lambda _: on_progress(job.done, job.total))
        if job.future.exception() is None:
            return job.result()
    result = score_text(lm, text, on_progress=on_progress)  # failed there: read here, where errors are reported
    _kept().put(key, result)
    return result


def jobs(models: dict[str, tuple[str, LanguageModel]], text: str, workers: int | None = None) -> dict[str, ScoreJob]:
    """name -> its score's job, for models given as name -> (model key, model). New jobs go to the
    shared workers (one per torch thread of this script thread), the largest models first; with
    one worker they run in this thread when rnnlm.score_many.wait_all is called."""
    workers = workers or default_workers()
    found, new = {}, []
    for name in by_cost({name: lm for name, (_, lm) in models.items()}):
        model, lm = models[name]
        found[name], started = _kept().job(_key(model, text), name, lm, text)
        if started:
            new.append(found[name])
    if workers > 1:
        pool = shared_pool(workers)
        for job in new:
            pool.submit(job)
    return found
