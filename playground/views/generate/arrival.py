"""Which of Generate's texts every visitor shares: those made from shipped defaults alone.

A visitor who has typed, picked or linked nothing gets the shipped model's default prompt,
settings and seed: the same text for everyone, so the server samples it once and hands it to
every session (playground.widgets.generation, shared=True). Anything a user chose (a prompt of
their own, another seed, length or setting, clamps, branches, a model of their session or a
shared link) is sampled for that session alone: how fast a text came back must never tell a
user what another has asked for.
"""

from __future__ import annotations

from playground import catalogue as cat
from playground import state
from playground.catalogue import ModelInfo
from playground.request import Request


def default_request(info: ModelInfo) -> Request:
    """What the Generate page samples for a visitor who has chosen nothing on this shipped model."""
    d = state.DEFAULTS
    return Request(info.name, cat.default_prompt(info.corpus), d[state.TEMPERATURE], d[state.TOP_K],
                   d[state.TOP_P], d[state.SEED], d[state.LENGTH], d[state.STOP], d[state.CLAMP], d[state.FORCE])


def shared(info: ModelInfo, request: Request) -> bool:
    """True only for a shipped model's defaults, exactly."""
    return not info.from_session and not info.shared and request == default_request(info)
