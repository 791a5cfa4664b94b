"""AppTest of Generate's arrival sample: every visitor who chose nothing gets the text sampled
once for all; anything a visitor chose is sampled for that session alone."""

from dataclasses import replace

import pytest
from app_util import app, coloured_texts
from test_app_generate import expected_text, shown_request

import rnnlm
from playground import catalogue as cat
from playground import state
from playground.views.generate import arrival
from playground.widgets import generation
from rnnlm.service import arrival_cache
from rnnlm.service.arrival_cache import ArrivalCache


@pytest.fixture
def sampled(monkeypatch) -> list:
    """The prompts of every generation sampled from now on, with a fresh process cache."""
    monkeypatch.setattr(arrival_cache, "_shared", [ArrivalCache()])
    prompts, real = [], generation.generate
    monkeypatch.setattr(generation, "generate", lambda lm, prompt, settings: prompts.append(prompt)
                        or real(lm, prompt, settings))
    return prompts


def test_visitors_share_the_defaults_text_sampled_once(sampled):
    first, second = app(), app()
    request = shown_request(first)
    assert arrival.shared(cat.find(state_catalogue(), request.model), request)
    assert coloured_texts(first) == coloured_texts(second) == [expected_text(request)]  # as sampled alone
    assert len(sampled) == 1
    second.button(key="generate").click().run()  # the same defaults again: the same text, not sampled again
    assert coloured_texts(second) == [expected_text(request)] and len(sampled) == 1 and not second.exception


def test_a_visitors_own_prompt_or_seed_is_never_shared(sampled):
    first, second = app(), app()
    for at in (first, second):
        at.text_area(key=state.widget_key(state.PROMPT)).set_value("My own words").run()
    assert len(sampled) == 3  # the defaults once, then each session's own prompt for itself
    assert coloured_texts(first) == coloured_texts(second) == [expected_text(shown_request(first))]
    assert len(arrival_cache.shared_cache()) == 1  # only the defaults' text is kept
    linked = app({"seed": "7"})
    assert coloured_texts(linked) == [expected_text(shown_request(linked))] and len(sampled) == 4


def test_only_a_shipped_models_exact_defaults_are_shared():
    info = cat.find(state_catalogue(), cat.FIRST_MODEL)
    defaults = arrival.default_request(info)
    assert arrival.shared(info, defaults) and defaults.prompt == cat.default_prompt(info.corpus)
    for changed in ({"prompt": "ROMEO"}, {"seed": 2}, {"length": 301}, {"temperature": 0.81}, {"top_k": 5},
                    {"top_p": 0.9}, {"stop": "\\n"}, {"clamp": "1:1=0"}, {"force": "1:2"}):
        assert not arrival.shared(info, replace(defaults, **changed)), changed
    session_model = cat.model_info({**info.entry, "name": "mine"}, path="/tmp/mine")
    assert not arrival.shared(session_model, replace(defaults, model="mine"))
    linked_model = cat.model_info({**info.entry, "store": "/tmp/store"})
    assert not arrival.shared(linked_model, defaults)


def state_catalogue():
    return cat.build_catalogue(rnnlm.read_manifest(), [])
