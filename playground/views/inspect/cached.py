"""The Inspect page's expensive results, computed once per (model, text) and shared by every session.

The trace itself is resources.trace (Learn reads texts too). Small results (cell matches,
scores) use st.cache_data. Arguments starting with "_" are not hashed: `model` (resources.model_key) stands for it.
"""

from __future__ import annotations

import numpy as np
import streamlit as st

from playground.views.inspect.traces import order_and_strip
from rnnlm.cell_validation import search_halves
from rnnlm.interpret import CellMatch, Saturation, Trace, gate_saturation, token_feature_tracks
from rnnlm.regex_feature import RegexFeature, regex_feature

MINUTES_KEPT = 20
OWN_PER_LAYER = 5  # units ranked per layer for your own feature


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

