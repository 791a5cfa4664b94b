"""Running one Request through rnnlm.generate, reporting progress as tokens arrive.

No Streamlit here: the caller passes on_progress (the views redraw an st.empty with it).
Progress is reported for the first sampled token at once, so the user sees text start,
then at most every `refresh_seconds`, since redrawing per token would cost more than sampling.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable, Sequence

from playground.request import Request
from rnnlm.sampling import Step, generate

if TYPE_CHECKING:  # annotations only: the first page is drawn before torch is imported
    from rnnlm import LanguageModel

REFRESH_SECONDS = 0.06


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
        refresh_seconds: float = REFRESH_SECONDS, into: Generation | None = None) -> Generation:
    """Sample request into `into` (a fresh Generation by default), token by token: whoever holds
    it sees every token so far, so a run stopped midway (the page's Stop button) keeps its text."""
    result = into if into is not None else Generation(request)
    started = last_report = time.perf_counter()
    for step in generate(lm, request.prompt, request.settings()):
        result.steps.append(step)
        result.seconds = time.perf_counter() - started
        if on_progress is None or step.from_prompt:
            continue
        now = time.perf_counter()
        if step.index == len(result.prompt_steps) or now - last_report >= refresh_seconds:
            on_progress(result.steps)
            last_report = now
    result.seconds = time.perf_counter() - started
    result.finished = True
    return result
