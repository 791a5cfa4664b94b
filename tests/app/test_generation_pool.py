"""playground.widgets.generation.run through the sampling pool: the same text, bounded redraws,
and a page that stops (a Stop click, a closed tab) cancels its sampling."""

import threading
import time
from itertools import islice

import pytest
from conftest import tiny_model

from playground.request import Request
from playground.widgets import generation
from playground.widgets.generation import Generation
from rnnlm import generate


class PageStopped(Exception):
    """What Streamlit raises in a script run it was told to end."""


@pytest.fixture(scope="module")
def model(char_tokenizer):
    return tiny_model(char_tokenizer, cell="lstm", hidden=384)


def request(length: int, seed: int = 5) -> Request:
    return Request("tiny", "To be", 0.9, 0, 1.0, seed, length)


def test_the_same_steps_as_sampling_alone_with_bounded_redraws(model):
    redraws = []
    started = time.perf_counter()
    result = generation.run(model, request(1500), lambda steps: redraws.append(list(steps)), refresh_seconds=0.1)
    seconds = time.perf_counter() - started
    alone = list(generate(model, "To be", request(1500).settings()))
    assert [(s.token_id, s.prob, s.entropy) for s in result.steps] == [(s.token_id, s.prob, s.entropy) for s in alone]
    assert result.finished and result.text == "To be" + "".join(s.text for s in alone if not s.from_prompt)
    assert redraws and not redraws[0][-1].from_prompt  # the first redraw shows the first new tokens
    assert len(redraws) <= 2 + seconds / 0.1  # at most one redraw per refresh interval


@pytest.mark.parametrize("stopped_in", ["check_stop", "on_progress"])
def test_a_stopped_page_cancels_its_sampling_and_keeps_the_tokens_so_far(model, stopped_in, monkeypatch):
    started = []  # the generator the run hands to the pool
    monkeypatch.setattr(generation, "generate", lambda *args: started.append(generate(*args)) or started[-1])
    calls = []

    def stop_after_a_few(*_):
        calls.append(time.perf_counter())
        if len(calls) >= 3:
            raise PageStopped

    callbacks = {"check_stop": (None, stop_after_a_few),  # e.g. waiting in the queue: nothing to redraw
                 "on_progress": (stop_after_a_few, lambda: None)}[stopped_in]
    kept = Generation(request(10_000))
    with pytest.raises(PageStopped):
        generation.run(model, kept.request, callbacks[0], refresh_seconds=0.05, into=kept, check_stop=callbacks[1])
    count = len(kept.steps)
    deadline = time.monotonic() + 5.0
    while started[0].gi_frame is not None and time.monotonic() < deadline:
        time.sleep(0.01)
    assert started[0].gi_frame is None  # the pool dropped and closed it: it samples no more
    assert not kept.finished and len(kept.steps) == count
    alone = list(islice(generate(model, "To be", kept.request.settings()), count))
    assert [s.token_id for s in kept.steps] == [s.token_id for s in alone]  # the start of the same text
    assert len(kept.new_steps) < 10_000
    after = generation.run(model, request(20))  # the pool has moved on
    assert after.finished and len(after.new_steps) == 20


def test_a_rerun_reads_a_stopped_result_only_once_its_old_run_has_let_go(model):
    """Streamlit's fastReruns start the rerun after a Stop click on a new thread while the old
    run still writes its last steps: the rerun's settled() waits for them (CI drew 71 of 99)."""
    kept, asked_to_stop, ended = Generation(request(10_000)), threading.Event(), threading.Event()

    def slow_to_stop():  # the old run reaches its next stop point a while after the click
        if asked_to_stop.is_set():
            time.sleep(0.3)
            raise PageStopped

    def old_run():
        try:
            generation.run(model, kept.request, refresh_seconds=0.05, into=kept, check_stop=slow_to_stop)
        except PageStopped:
            ended.set()

    thread = threading.Thread(target=old_run)
    thread.start()
    deadline = time.monotonic() + 30
    while not kept.new_steps and time.monotonic() < deadline:
        time.sleep(0.01)
    asked_to_stop.set()
    seen = len(kept.settled().steps)
    thread.join(30)
    assert ended.is_set() and not kept.finished
    assert seen == len(kept.steps)  # nothing was added after the rerun read it
