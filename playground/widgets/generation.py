"""Running one Request through rnnlm.generate, reporting progress as tokens arrive.

The sampling itself runs in the process's sampling pool (rnnlm.service.sampling_pool: a
thread per core, fair time slices), not on the page's script thread: with many visitors
generating at once, each gets its share of the cores and a new one its first tokens at once.
The script thread only waits and redraws. No Streamlit here: the caller passes on_progress
(the views redraw an st.empty with it) and check_stop (a point where the page may be told to
stop). Progress is reported for the first sampled token at once, so the user sees text start,
then at most every `refresh_seconds`, stretched while the pool holds more generations than it
has workers (each then runs at a fraction of its idle speed, so a redraw still brings about as
many new tokens): each redraw sends the whole text so far to the browser, which spends about
14 ms of CPU on it (a Streamlit delta; measured with bench/bench_render.py), where the
bench's browsers share the server's cores.

shared=True: a Request every visitor gets alike (the arrival sample: shipped defaults only,
the caller decides) is sampled once per process and handed to every session that asks
(rnnlm.service.arrival_cache); sessions asking while it is sampled wait for it and draw it as
it arrives. Its steps are those of sampling it alone, byte for byte.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from playground.request import Request
from rnnlm.sampling import Step, generate
from rnnlm.service.arrival_cache import model_identity, shared_cache
from rnnlm.service.sampling_pool import Task, shared_pool

if TYPE_CHECKING:  # annotations only: the first page is drawn before torch is imported
    from rnnlm import LanguageModel

REFRESH_SECONDS = 0.25
MAX_STRETCH = 4.0  # under load, redraw at most every REFRESH_SECONDS x this (1 s): the page still moves
FIRST_TOKEN_POLL_SECONDS = 0.05  # how often a waiting page may be stopped before its first token


@dataclass
class Generation:
    request: Request
    steps: list[Step] = field(default_factory=list)
    seconds: float = 0.0
    finished: bool = False  # False while sampling, and for ever if the user stopped it
    # Held by run() while it writes steps. A Stop click reruns the page on a new script thread at
    # once (Streamlit's fastReruns) while the old one is still writing its last steps; the rerun
    # reads the kept result through settled(), or it could draw 71 tokens and then count 99.
    writing: threading.Lock = field(default_factory=threading.Lock, compare=False, repr=False)

    def settled(self, timeout: float = 10.0) -> Generation:
        """This result once no run() writes to it any more (or after timeout seconds: a run that
        has not let go by then is one a page never stopped, and its steps so far are shown)."""
        if self.writing.acquire(timeout=timeout):
            self.writing.release()
        return self

    @property
    def prompt_steps(self) -> list[Step]:
        return [step for step in self.steps if step.from_prompt]

    @property
    def new_steps(self) -> list[Step]:
        return [step for step in self.steps if not step.from_prompt]

    @property
    def text(self) -> str:
        """Prompt plus generated text, as `python -m rnnlm sample` prints it."""
        return self.request.prompt + self.generated_text

    @property
    def generated_text(self) -> str:
        return "".join(step.text for step in self.new_steps)

    @property
    def tokens_per_second(self) -> float:
        return len(self.new_steps) / max(self.seconds, 1e-9)


def run(lm: LanguageModel, request: Request, on_progress: Callable[[Sequence[Step]], None] | None = None,
        refresh_seconds: float = REFRESH_SECONDS, into: Generation | None = None,
        check_stop: Callable[[], None] | None = None, shared: bool = False) -> Generation:
    """Sample request into `into` (a fresh Generation by default), token by token: whoever holds
    it sees every token so far, so a run stopped midway (the page's Stop button) keeps its text.
    check_stop is called whenever the wait is not a redraw; if it (or on_progress) raises, the
    sampling task is cancelled and the exception goes on, with the tokens so far in the result.
    shared: through the process's arrival cache (see the module's docstring)."""
    result = into if into is not None else Generation(request)
    if shared:
        return run_shared(lm, request, on_progress, refresh_seconds, result, check_stop)
    with result.writing:
        started = time.perf_counter()
        task = shared_pool().submit(generate(lm, request.prompt, request.settings()))
        try:
            follow(task, result, started, on_progress, refresh_seconds, check_stop)
        finally:
            result.steps.extend(task.cancel())  # a no-op once ended; else a Stop or a closed tab
            result.seconds = time.perf_counter() - started
        result.finished = True
    return result


def follow(task: Task, result: Generation, started: float, on_progress, refresh_seconds: float, check_stop) -> None:
    """Move the task's steps into result until it ends, redrawing at a bounded rate."""
    next_tick, first_reported = 0.0, False
    pool = shared_pool()
    while True:
        # Before the first new token is drawn, wake for any step (to draw it at once); after, once a tick.
        first_pending = on_progress is not None and not first_reported
        timeout = FIRST_TOKEN_POLL_SECONDS if first_pending else max(next_tick - time.perf_counter(), 0.0)
        steps, over = task.wait(min(timeout, refresh_seconds), for_steps=first_pending)
        result.steps.extend(steps)
        result.seconds = time.perf_counter() - started
        if over:
            return
        now = time.perf_counter()
        has_new = bool(result.steps) and not result.steps[-1].from_prompt
        if on_progress is not None and has_new and (first_pending or (steps and now >= next_tick)):
            on_progress(result.steps)
            first_reported, next_tick = True, now + redraw_interval(pool, refresh_seconds)
            continue
        if now >= next_tick:
            next_tick = now + refresh_seconds
        if check_stop is not None:
            check_stop()


def redraw_interval(pool, refresh_seconds: float) -> float:
    """refresh_seconds, stretched by how many generations share each worker (at most MAX_STRETCH):
    eight at once on two cores each sample at a quarter of their idle speed, so redrawing them a
    quarter as often shows the same number of new tokens per redraw for a quarter of the cost."""
    return refresh_seconds * min(max(pool.tasks_per_worker(), 1.0), MAX_STRETCH)


def finished_shared(lm: LanguageModel, request: Request) -> Generation | None:
    """The process's finished generation of this shared request, as this session's own copy; None
    if there is none yet (sample it with run(..., shared=True))."""
    kept = shared_cache().finished(shared_key(lm, request))
    return own_copy(kept) if kept is not None else None


def shared_key(lm: LanguageModel, request: Request) -> tuple:
    """Everything that determines the text: the model's weights (by identity and checksums) and
    the whole Request (model name, prompt, every sampling setting, seed, clamps, branches, length)."""
    return model_identity(lm), request


def own_copy(kept: Generation) -> Generation:
    """A session's own Generation of a shared one: its own list of the same (never changed) steps."""
    return Generation(kept.request, list(kept.steps), kept.seconds, kept.finished)


def run_shared(lm: LanguageModel, request: Request, on_progress, refresh_seconds: float, result: Generation,
               check_stop) -> Generation:
    """run() for a request every visitor gets alike: sampled once per process, into the first
    asker's result; the others follow its steps, drawing them as run() would, until it is done."""
    def start() -> Generation:
        result.steps.clear()  # a waiter whose sampling session gave up samples it afresh
        return result

    def compute(progress: Generation) -> Generation:
        return own_copy(run(lm, request, on_progress, refresh_seconds, progress, check_stop))

    drawn = {"first": False, "next": 0.0}

    def waiting(progress: Generation) -> None:
        """Catch up with the sampling session's steps; redraw as run() does; else a stop point."""
        result.steps[len(result.steps):] = progress.steps[len(result.steps):]
        result.seconds = progress.seconds
        now, has_new = time.perf_counter(), any(not step.from_prompt for step in result.steps[-1:])
        if on_progress is not None and has_new and (not drawn["first"] or now >= drawn["next"]):
            on_progress(result.steps)
            drawn["first"], drawn["next"] = True, now + redraw_interval(shared_pool(), refresh_seconds)
        elif check_stop is not None:
            check_stop()

    shared = shared_cache().fetch(shared_key(lm, request), start=start, compute=compute, waiting=waiting)
    if not result.finished:  # another session sampled it: take its steps
        result.steps[:] = shared.steps
        result.seconds, result.finished = shared.seconds, shared.finished
    return result
