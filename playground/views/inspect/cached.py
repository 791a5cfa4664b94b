"""The Inspect page's expensive results, computed once per (model, text) and shared by every session.

A trace of a 2 x 512 LSTM is 24 KB a token (tens of MB for a long text) and is only ever
read, so it is kept with st.cache_resource: st.cache_data would unpickle a fresh copy on
every rerun (every click on the page). Small results (cell matches, scores) use
st.cache_data. Arguments starting with "_" are not hashed: `model` (resources.model_key) stands for it.
"""

from __future__ import annotations

import numpy as np
import streamlit as st

from playground.views.inspect.traces import order_and_strip
from rnnlm import LanguageModel
from rnnlm.cell_validation import search_halves
from rnnlm.clamp import parse_clamps
from rnnlm.interpret import CellMatch, Saturation, Trace, gate_saturation, token_feature_tracks, trace_ids, trace_text
from rnnlm.regex_feature import RegexFeature, regex_feature

TRACES_KEPT, MINUTES_KEPT = 4, 20  # a trace is up to traces.TRACE_BUDGET_BYTES (64 MB)
TOP_GUESSES = 5
OWN_PER_LAYER = 5  # units ranked per layer for your own feature


@st.cache_resource(max_entries=TRACES_KEPT, ttl=MINUTES_KEPT * 60, show_spinner="Reading the text through the model…")
def trace(model: str, text: str, _lm: LanguageModel, ids: tuple[int, ...] | None = None, clamp: str = "") -> Trace:
    """text read through the model; ids, when given, are text's own tokens (a generation's); clamp:
    the generation's clamps (rnnlm.clamp spec), so the heatmaps show the clamped run."""
    clamps = parse_clamps(clamp)
    if ids is None:
        return trace_text(_lm, text, top_n=TOP_GUESSES, clamps=clamps)
    return trace_ids(_lm, ids, top_n=TOP_GUESSES, clamps=clamps)


@st.cache_data(max_entries=32, ttl=MINUTES_KEPT * 60, show_spinner=False)
def features(model: str, text: str, _trace: Trace) -> dict[str, np.ndarray]:
    return token_feature_tracks(_trace)


@st.cache_data(max_entries=32, ttl=MINUTES_KEPT * 60, show_spinner="Searching for interpretable cells and checking them…")
def cells(model: str, text: str, quantity: str, _trace: Trace) -> list[CellMatch]:
    """Found on the first half of the text, checked on the second half and against chance: validated first."""
    return search_halves(_trace, quantity=quantity, per_feature=3, features=features(model, text, _trace))


@st.cache_data(max_entries=32, ttl=MINUTES_KEPT * 60, show_spinner=False)
def own_feature(model: str, text: str, pattern: str, _tokens: tuple[str, ...]) -> RegexFeature:
    """The characters pattern matches (rnnlm.regex_feature); a SettingsError is raised, not cached."""
    return regex_feature(pattern, _tokens)


@st.cache_data(max_entries=32, ttl=MINUTES_KEPT * 60, show_spinner="Searching for units that follow your pattern…")
def own_cells(model: str, text: str, pattern: str, quantity: str, _trace: Trace,
              _feature: RegexFeature) -> list[CellMatch]:
    """Found on the first half, checked on the second, as the built-in features are."""
    return search_halves(_trace, quantity=quantity, per_feature=OWN_PER_LAYER, features={_feature.name: _feature.tokens})


@st.cache_data(max_entries=32, ttl=MINUTES_KEPT * 60, show_spinner=False)
def saturation(model: str, text: str, _trace: Trace) -> list[Saturation]:
    return gate_saturation(_trace)


@st.cache_data(max_entries=32, ttl=MINUTES_KEPT * 60, show_spinner="Sorting the units…")
def unit_order(model: str, text: str, layer: int, quantity: str, squash: bool, by: str, feature: str | None,
               _values: np.ndarray, _feature: np.ndarray | None) -> tuple[np.ndarray, np.ndarray, str]:
    """traces.order_and_strip, kept: sorting by similarity takes a second for 512 units."""
    return order_and_strip(_values, by, _feature)

