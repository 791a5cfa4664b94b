"""playground.widgets.generation with shared=True (the arrival sample): sampled once for every
session asking at once, and byte for byte the text an unshared run gives."""

import threading
import time

import pytest
from conftest import run_together, tiny_model

from playground.request import Request
from playground.widgets import generation
from playground.widgets.generation import Generation
from rnnlm import generate
from rnnlm.service import arrival_cache
from rnnlm.service.arrival_cache import ArrivalCache


class PageStopped(Exception):
    """What Streamlit raises in a script run it was told to end."""


@pytest.fixture
def model(char_tokenizer, monkeypatch):
    """A fresh model object and a fresh process cache for each test, so no test finds another's text."""
    monkeypatch.setattr(arrival_cache, "_shared", [ArrivalCache()])
    return tiny_model(char_tokenizer, cell="lstm", hidden=256)


def paced(steps, seconds: float = 0.001):
    """The steps, each a millisecond late: on a quiet machine the tiny model would otherwise finish
    before the other sessions start waiting, and the tests would not see any session wait."""
    for step in steps:
        time.sleep(seconds)
        yield step


@pytest.fixture
def samplings(monkeypatch) -> list:
    """Every generator the runs hand to the sampling pool (paced, as a real model's would be)."""
    started = []
    monkeypatch.setattr(generation, "generate", lambda *args: started.append(paced(generate(*args))) or started[-1])
    return started


def request(length: int = 400, seed: int = 1) -> Request:
    return Request("tiny", "ROMEO:", 0.8, 0, 1.0, seed, length)


def fingerprint(result: Generation) -> list[tuple]:
    return [(s.index, s.token_id, s.text, s.from_prompt, s.prob, s.model_prob, s.entropy, s.top) for s in result.steps]


def at_once(count: int, run) -> list:
    """count sessions calling run(i) together; their results (or PageStopped), in order."""
    return run_together(count, run, catch=PageStopped, timeout=60)


def test_sessions_arriving_at_once_sample_once_and_get_the_unshared_text(model, samplings):
    redraws = [[] for _ in range(5)]
    results = at_once(5, lambda i: generation.run(model, request(), redraws[i].append, refresh_seconds=0.05,
                                                  shared=True))
    assert len(samplings) == 1
    unshared = generation.run(model, request())
    assert all(result.finished and result.text == unshared.text for result in results)
    assert all(fingerprint(result) == fingerprint(unshared) for result in results)  # probabilities, alternatives
    assert all(redraws)  # every session drew the text as it arrived
    assert len({id(result.steps) for result in results}) == 5  # each session holds its own list
    later = generation.finished_shared(model, request())
    assert later.text == unshared.text and later.steps is not results[0].steps and len(samplings) == 2


def test_anything_else_in_the_request_or_another_model_object_is_sampled_afresh(model, samplings, char_tokenizer):
    generation.run(model, request(seed=1), shared=True)
    assert generation.finished_shared(model, request(seed=2)) is None
    assert generation.finished_shared(model, request(length=401)) is None
    assert generation.finished_shared(tiny_model(char_tokenizer, cell="lstm", hidden=256), request()) is None
    assert generation.finished_shared(model, request()) is not None and len(samplings) == 1


def test_when_the_sampling_session_is_stopped_a_waiting_one_samples_the_same_text(model, samplings):
    others_wait = threading.Event()

    def stop_once_others_wait(_steps):
        if others_wait.is_set():
            raise PageStopped

    def run(i):
        if i == 0:  # the first to ask samples; its page is stopped once the others wait for it
            return generation.run(model, request(3000), stop_once_others_wait, refresh_seconds=0.01, shared=True)
        while not samplings:
            time.sleep(0.01)
        return generation.run(model, request(3000), lambda _: others_wait.set(), refresh_seconds=0.01, shared=True)

    stopped, *others = at_once(3, run)
    assert isinstance(stopped, PageStopped) and len(samplings) == 2
    unshared = generation.run(model, request(3000))
    assert all(fingerprint(result) == fingerprint(unshared) for result in others)


def test_a_waiting_session_that_is_stopped_keeps_the_start_of_the_text(model, samplings):
    sampling = threading.Thread(target=generation.run, args=(model, request(3000)), kwargs={"shared": True})
    sampling.start()
    while not samplings:
        time.sleep(0.01)
    kept, calls = Generation(request(3000)), []

    def stop_soon(_steps):
        calls.append(1)
        if len(calls) >= 3:
            raise PageStopped

    with pytest.raises(PageStopped):
        generation.run(model, request(3000), stop_soon, refresh_seconds=0.01, into=kept, shared=True)
    sampling.join(60)
    whole = generation.finished_shared(model, request(3000))
    assert not kept.finished and 0 < len(kept.steps) < len(whole.steps) and len(samplings) == 1
    assert fingerprint(kept) == fingerprint(whole)[:len(kept.steps)]


def test_redraws_are_spread_out_while_the_pool_is_crowded():
    class Pool:
        def __init__(self, tasks_per_worker):
            self.tasks_per_worker = lambda: tasks_per_worker

    assert generation.redraw_interval(Pool(0.5), 0.25) == 0.25  # alone: as often as ever
    assert generation.redraw_interval(Pool(3.0), 0.25) == 0.75  # three generations per core
    assert generation.redraw_interval(Pool(50.0), 0.25) == 0.25 * generation.MAX_STRETCH
