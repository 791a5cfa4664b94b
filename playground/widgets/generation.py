"""Running one Request through rnnlm.generate, reporting progress as tokens arrive.

The sampling itself runs in the process's sampling pool (rnnlm.service.sampling_pool: a
thread per core, fair time slices), not on the page's script thread: with many visitors
generating at once, each gets its share of the cores and a new one its first tokens at once.
The script thread only waits and redraws. No Streamlit here: the caller passes on_progress
(the views redraw an st.empty with it) and check_stop (a point where the page may be told to
stop). Progress is reported for the first sampled token at once, so the user sees text start,
then at most every `refresh_seconds`: each redraw sends the whole text so far to the browser,
and many sessions redrawing fast cost more than their sampling.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from playground.request import Request
from rnnlm.sampling import Step, generate
from rnnlm.service.sampling_pool import Task, shared_pool

if TYPE_CHECKING:  # annotations only: the first page is drawn before torch is imported
    from rnnlm import LanguageModel

REFRESH_SECONDS = 0.25
FIRST_TOKEN_POLL_SECONDS = 0.05  # how often a waiting page may be stopped before its first token


@dataclass
class Generation:
    request: Request
    steps: list[Step] = field(default_factory=list)
    seconds: float = 0.0
    finished: bool = False  # False while sampling, and for ever if the user stopped it

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
        check_stop: Callable[[], None] | None = None) -> Generation:
    """Sample request into `into` (a fresh Generation by default), token by token: whoever holds
    it sees every token so far, so a run stopped midway (the page's Stop button) keeps its text.
    check_stop is called whenever the wait is not a redraw; if it (or on_progress) raises, the
    sampling task is cancelled and the exception goes on, with the tokens so far in the result."""
    result = into if into is not None else Generation(request)
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
            first_reported, next_tick = True, now + refresh_seconds
            continue
        if now >= next_tick:
            next_tick = now + refresh_seconds
        if check_stop is not None:
            check_stop()
