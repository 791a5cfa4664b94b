"""The Score page's scores, computed once per (model, text) and shared by every session.

Arguments starting with "_" are not hashed: `model` (resources.model_key) stands for the model.
"""

import streamlit as st

from rnnlm import LanguageModel, ScoreResult, score_text

MINUTES_KEPT = 20


@st.cache_data(max_entries=64, ttl=MINUTES_KEPT * 60, show_spinner="Scoring…")
def score(model: str, text: str, _lm: LanguageModel) -> ScoreResult:
    return score_text(_lm, text)
