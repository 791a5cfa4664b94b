"""A bounded pool of sampling threads shared by every user of a process, in fair time slices.

    pool = SamplingPool(workers=2)              # or shared_pool(): one per process, a thread per core
    task = pool.submit(rnnlm.generate(lm, prompt, settings))
    steps, over = task.wait(timeout=0.25)       # the steps produced since the last call; True once ended
    task.cancel()                               # the user pressed Stop or left: its thread moves on

Each generation is a Task around its step iterator (rnnlm.sampling.generate yields one Step
per token, so it can be paused between any two tokens). A worker takes the task at the head
of the queue, runs it for one slice (SLICE_SECONDS, at least one step) and puts it back at the
end, so N generations share the workers round-robin, each getting ~workers/N of a core
whatever its model's cost per token. A new task goes to the head: it gets its first tokens
within one slice of a worker coming free instead of after a whole round. The steps are the
iterator's own, in its order, so the text is exactly what sampling alone gives.

Threads, not processes: most of a step is NumPy's matrix-vector products, which run without
the GIL (shakespeare-char-lstm: ~0.75 ms of a 0.9 ms token; docs/DEPLOY.md "Serving under
load"), so `cores` threads keep `cores` cores busy, and every model stays loaded once, shared
with the pages. What the pool bounds is the number of threads competing for the GIL: one per
core, where every visitor's script thread used to sample for itself.
"""

from __future__ import annotations

import os
import threading
import time
from collections import deque
from collections.abc import Iterator

SLICE_SECONDS = 0.02


class Task:
    """One generation: its iterator (touched only by workers), and the steps handed over."""

    def __init__(self, steps: Iterator):
        self._steps = steps
        self._changed = threading.Condition()
        self._handed: list = []  # produced, not yet taken by the waiter
        self._over = self._cancelled = False
        self._error: BaseException | None = None

    def wait(self, timeout: float, for_steps: bool = True) -> tuple[list, bool]:
        """Wait up to `timeout` s for new steps (or, with for_steps=False, only for the end);
        return the steps produced since the last call and whether the task has ended. Raises
        what the iterator raised, once its earlier steps have been taken."""
        with self._changed:
            self._changed.wait_for(lambda: self._over or (for_steps and self._handed), timeout)
            steps, self._handed = self._handed, []
            if self._over and self._error is not None and not steps:
                raise self._error
            return steps, self._over and self._error is None  # an error: raised on the next call

    def cancel(self) -> list:
        """Stop producing (a no-op once ended); returns the steps produced but not yet taken.
        The worker drops the task at its next step at the latest."""
        with self._changed:
            self._cancelled = True
            steps, self._handed = self._handed, []
            return steps

    @property
    def cancelled(self) -> bool:
        return self._cancelled

    def _hand_over(self, steps: list, over: bool = False, error: BaseException | None = None) -> bool:
        """Publish a slice's steps; False if the task was cancelled meanwhile (they are dropped)."""
        with self._changed:
            if self._cancelled:
                return False
            self._handed.extend(steps)
            self._over, self._error = over, error
            self._changed.notify_all()
            return True

    def _run_slice(self, seconds: float) -> bool:
        """Produce steps for about `seconds` (at least one); True if the task has more to do."""
        deadline, steps, over, error = time.perf_counter() + seconds, [], False, None
        try:
            while not self._cancelled:
                steps.append(next(self._steps))
                if time.perf_counter() >= deadline:
                    break
        except StopIteration:
            over = True
        except Exception as exc:  # noqa: BLE001  (handed to the waiter, which raises it in its own thread)
            over, error = True, exc
        more = self._hand_over(steps, over, error) and not over
        if not more:
            self._close()
        return more

    def _close(self) -> None:
        close = getattr(self._steps, "close", None)
        if close is not None:
            close()  # a generator's cleanup runs now, in the worker that last ran it


class SamplingPool:
    """`workers` daemon threads (started on the first submit) serving one round-robin queue."""

    def __init__(self, workers: int, slice_seconds: float = SLICE_SECONDS):
        if workers < 1:
            raise ValueError(f"a sampling pool needs at least one worker, got {workers}")
        self.workers, self.slice_seconds = workers, slice_seconds
        self._ready = threading.Condition()
        self._queue: deque[Task] = deque()
        self._running = 0  # tasks a worker holds for a slice right now
        self._threads: list[threading.Thread] = []

    def submit(self, steps: Iterator) -> Task:
        task = Task(steps)
        with self._ready:
            self._start_workers()
            self._queue.appendleft(task)  # ahead of the running ones: its first tokens within one slice
            self._ready.notify()
        return task

    def thread_count(self) -> int:
        return sum(thread.is_alive() for thread in self._threads)

    def tasks_per_worker(self) -> float:
        """Generations in the pool (queued or running) per worker: above 1, each gets that much
        less than a core, and its page need not be redrawn as often (widgets.generation)."""
        with self._ready:
            return (len(self._queue) + self._running) / self.workers

    def _start_workers(self) -> None:
        while len(self._threads) < self.workers:
            thread = threading.Thread(target=self._work, name=f"sampling-{len(self._threads)}", daemon=True)
            self._threads.append(thread)
            thread.start()

    def _work(self) -> None:
        while True:
            with self._ready:
                self._ready.wait_for(lambda: self._queue)
                task = self._queue.popleft()
                self._running += 1
            more = False
            try:
                if task.cancelled:
                    task._close()
                else:
                    more = task._run_slice(self.slice_seconds)
            finally:
                with self._ready:
                    self._running -= 1
                    if more:
                        self._queue.append(task)  # the end of the queue: everyone else goes first
                        self._ready.notify()


_SHARED_LOCK = threading.Lock()
_shared: list[SamplingPool] = []


def shared_pool() -> SamplingPool:
    """The process's pool, made on first use: one worker per core this process may run on.
    Locked: sessions starting at once must not each make a pool (the bound is per process)."""
    with _SHARED_LOCK:
        if not _shared:
            cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
            _shared.append(SamplingPool(workers=cores or 1))
        return _shared[0]
