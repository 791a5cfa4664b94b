"""The Learn page's measurements, computed once per (model, text, settings) and shared by every
session. Arguments starting with "_" are not hashed: `model` (resources.model_key) stands for them."""

from __future__ import annotations

import streamlit as st

from rnnlm import LanguageModel
from rnnlm.lessons.clipping import ClippingSettings, Run, clipping_experiment
from rnnlm.lessons.gradient_flow import GradientFlow, gradient_flow
from rnnlm.lessons.memory import MemoryCurve, effective_memory
from rnnlm.scoring import ScoreResult, score_text

KEPT, MINUTES_KEPT = 32, 30


@st.cache_data(max_entries=KEPT, ttl=MINUTES_KEPT * 60, show_spinner=False)
def flow(model: str, text: str, max_lag: int, positions: int, _lm: LanguageModel, _progress=None) -> GradientFlow:
    return gradient_flow(_lm.net, _lm.tokenizer.encode(text), max_lag, positions, progress=_progress)


@st.cache_data(max_entries=KEPT, ttl=MINUTES_KEPT * 60, show_spinner=False)
def memory(model: str, text: str, contexts: tuple[int, ...], positions: int, _lm: LanguageModel,
           _progress=None) -> MemoryCurve:
    return effective_memory(_lm.net, _lm.tokenizer.encode(text), contexts, positions, progress=_progress)


@st.cache_data(max_entries=KEPT, ttl=MINUTES_KEPT * 60, show_spinner=False)
def clipping(text: str, settings: ClippingSettings, _progress=None) -> tuple[Run, Run]:
    return clipping_experiment(text, settings, progress=_progress)


@st.cache_data(max_entries=KEPT, ttl=MINUTES_KEPT * 60, show_spinner="Scoring…")
def score(model: str, text: str, _lm: LanguageModel) -> ScoreResult:
    return score_text(_lm, text)
