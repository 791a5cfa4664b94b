"""The Learn page's measurements, computed once per (model, text, settings) and shared by every
session. Arguments starting with "_" are not hashed: `model` (resources.model_key) stands for them."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import streamlit as st
import torch

from rnnlm import LanguageModel
from rnnlm.lessons.clipping import ClippingSettings, Run, clipping_experiment
from rnnlm.lessons.gradient_flow import GradientFlow, gradient_flow
from rnnlm.lessons.memory import MemoryCurve, effective_memory
from rnnlm.runtime import free_cores
from rnnlm.scoring import ScoreResult, score_text

KEPT, MINUTES_KEPT = 32, 30


# The reach lesson's measurements on the free cores only (rnnlm.runtime.free_cores): its batched
# products do use a second core (three Shakespeare char models, 2 idle cores: 10.7-11.3 s on two
# threads, 15.5-15.8 s on one, at the lesson's settings: reach.py), but a thread
# spinning on a busy core costs far more than it gives (see clipping below).
@st.cache_data(max_entries=KEPT, ttl=MINUTES_KEPT * 60, show_spinner=False)
def flow(model: str, text: str, max_lag: int, positions: int, _lm: LanguageModel, _progress=None) -> GradientFlow:
    with torch_threads(free_cores()):
        return gradient_flow(_lm.net, _lm.tokenizer.encode(text), max_lag, positions, progress=_progress)


@st.cache_data(max_entries=KEPT, ttl=MINUTES_KEPT * 60, show_spinner=False)
def memory(model: str, text: str, contexts: tuple[int, ...], positions: int, _lm: LanguageModel,
           _progress=None) -> MemoryCurve:
    with torch_threads(free_cores()):
        return effective_memory(_lm.net, _lm.tokenizer.encode(text), contexts, positions, progress=_progress)


@contextmanager
def torch_threads(count: int) -> Iterator[None]:
    """This script thread runs torch ops on `count` threads, then on its own number again. Sessions
    whose threads already asked keep theirs (the count is per thread from then on); a thread that
    first asks meanwhile gets `count`, fewer threads, never more (rnnlm/score_many.py)."""
    before = torch.get_num_threads()
    torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(before)


@st.cache_data(max_entries=KEPT, ttl=MINUTES_KEPT * 60, show_spinner=False)
def clipping(text: str, settings: ClippingSettings, _progress=None) -> tuple[Run, Run]:
    """On one torch thread: the tiny RNN's products (8 windows x 64 units) are too small for a second
    thread to pay, and the server's count (every core) oversubscribed the machine as soon as a browser
    or another session wanted a core: on one core, 15.5 s with two threads against 6-8 s with one."""
    with torch_threads(1):
        return clipping_experiment(text, settings, progress=_progress)


@st.cache_data(max_entries=KEPT, ttl=MINUTES_KEPT * 60, show_spinner="Scoring…")
def score(model: str, text: str, _lm: LanguageModel) -> ScoreResult:
    return score_text(_lm, text)
