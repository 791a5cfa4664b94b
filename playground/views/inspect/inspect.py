"""Inspect page: inside the recurrent cell while it reads a text.

The text (what Generate just wrote, a pasted text, or a slice of the model's validation
text) is read once through the model's stepper, cached per model and text. Then: a units
x time heatmap of any layer and quantity, one unit painted on the text, the units that
track features of the text (quotes, brace depth, position in line, ..., or a regular
expression you type), and how often each gate is saturated. Clicking a unit in the heatmap's strip, a dot in the saturation
plot, or a found cell shows that unit on the text.
"""

from dataclasses import dataclass

import numpy as np
import streamlit as st

from playground import resources, state
from playground.views.inspect import cached, findings, heatmaps, keys, neuron_text, own_feature, text_source, traces
from playground.widgets import blocks
from playground.widgets.token_html import UNKNOWN_MARK, markdown_literal, readable_tokens
from rnnlm import RnnlmError
from rnnlm.interpret import Trace

WHAT_A_CELL_HOLDS = {"lstm": "hidden state, cell state and gates (input, forget, output)",
                     "gru": "hidden state and gates (update, reset): a GRU keeps no separate cell state",
                     "rnn": "hidden state: a plain RNN has no gates and no cell state"}


@dataclass(frozen=True)
class View:
    layer: int
    quantity: str
    squash: bool
    sort: str
    feature: str | None
    window: tuple[int, int]


# --- the controls -----------------------------------------------------------------------

def controls(trace: Trace, features: list[str]) -> View:
    layers, quantities = list(range(trace.states.shape[1])), list(trace.quantities)
    spans = traces.windows(len(trace.token_ids), state.value(keys.IN_WINDOW_SIZE))
    state.keep_valid(keys.IN_LAYER, layers)
    state.keep_valid(keys.IN_QUANTITY, quantities)
    state.keep_valid(keys.IN_WINDOW, list(range(len(spans))))
    columns = st.columns([1, 2, 2, 2])
    columns[0].selectbox("Layer", layers, format_func=lambda layer: f"layer {layer + 1}", **state.bind(keys.IN_LAYER))
    columns[1].selectbox("Show", quantities, format_func=lambda q: traces.QUANTITY_LABELS.get(q, q),
                         **state.bind(keys.IN_QUANTITY))
    columns[2].selectbox("Sort units", list(traces.SORTS), format_func=traces.SORTS.get, **state.bind(keys.IN_SORT))
    feature = None
    if state.value(keys.IN_SORT) == "correlation" and features:
        state.keep_valid(keys.IN_FEATURE, features)
        columns[3].selectbox("Feature", features, **state.bind(keys.IN_FEATURE))
        feature = state.value(keys.IN_FEATURE)
    if state.value(keys.IN_QUANTITY) == "c":
        st.checkbox("Squash c with tanh (what the output gate sees)", **state.bind(keys.IN_SQUASH))
    size, count, window = st.columns([1, 1, 3])
    size.selectbox("Tokens per view", keys.WINDOW_SIZES, **state.bind(keys.IN_WINDOW_SIZE))
    count.selectbox("Units shown", keys.UNITS_SHOWN, format_func=lambda n: f"first {n} in this order",
                    **state.bind(keys.IN_UNITS_SHOWN))
    if len(spans) > 1:
        window.select_slider("Tokens shown", list(range(len(spans))), **state.bind(keys.IN_WINDOW),
                             format_func=lambda i: f"{spans[i][0]:,}–{spans[i][1] - 1:,}")
    return View(state.value(keys.IN_LAYER), state.value(keys.IN_QUANTITY), bool(state.value(keys.IN_SQUASH)),
                state.value(keys.IN_SORT), feature, spans[state.value(keys.IN_WINDOW)])


# --- the sections -----------------------------------------------------------------------

def pick_from_heatmap() -> None:
    unit = heatmaps.unit_from_points(state.chart_points(keys.IN_HEATMAP))
    if unit is not None:
        state.set_value(keys.IN_UNIT, unit)


def heatmap(model: str, text: str, tokens: list[str], view: View, values: np.ndarray, tracks: dict) -> None:
    order, strip, strip_name = cached.unit_order(model, text, view.layer, view.quantity, view.squash, view.sort,
                                                   view.feature, values, tracks.get(view.feature))
    shown = order[:min(heatmaps.MAX_UNITS, state.value(keys.IN_UNITS_SHOWN))]
    if len(order) > len(shown):
        st.caption(f"The first {len(shown)} of {len(order)} units in this order ({traces.SORTS[view.sort].lower()}).")
    start, end = view.window
    figure = heatmaps.heatmap_figure(
        values[start:end][:, shown], shown, tokens[start:end], start,
        heatmaps.value_range(view.quantity, values, view.squash), strip[shown], strip_name)
    st.plotly_chart(figure, key=keys.IN_HEATMAP, on_select=pick_from_heatmap, selection_mode="points",
                    config=heatmaps.CONFIG, theme=None)
    st.caption(f"Units top to bottom, tokens left to right; hover for values. The strip at the right shows each "
               f"unit's {strip_name} over the whole text: click it to paint that unit on the text below. "
               "Drag to zoom, double-click to zoom out.")


def neuron(trace: Trace, tokens: list[str], view: View, values: np.ndarray, tracks: dict) -> None:
    st.subheader("One unit on the text")
    hidden = values.shape[1]
    state.set_value(keys.IN_UNIT, traces.clamp_index(state.value(keys.IN_UNIT), hidden))
    st.number_input(f"Unit (0–{hidden - 1})", 0, hidden - 1, step=1, **state.bind(keys.IN_UNIT))
    unit, (start, end) = state.value(keys.IN_UNIT), view.window
    low, high = heatmaps.value_range(view.quantity, values, view.squash)
    label = f"unit {unit}, layer {view.layer + 1}, {traces.QUANTITY_LABELS.get(view.quantity, view.quantity)}"
    st.html(neuron_text.neuron_html(tokens[start:end], values[start:end, unit], trace.next_top[start:end],
                                    low, high, label) + neuron_text.legend_html(low, high, label))
    if UNKNOWN_MARK in "".join(trace.token_texts[start:end]):
        st.caption("Some characters here are new to this model (never in its training text): it reads each of "
                   "them as its one unknown token.")
    closest = traces.strongest_features(values[:, unit], tracks)
    if closest:
        st.caption("Follows most closely: " + " · ".join(f"{name} (r = {r:+.2f})" for name, r in closest))


# --- the page ---------------------------------------------------------------------------

@st.fragment
def explorer(model: str, text: str, trace: Trace, tracks: dict) -> None:
    """The controls and every section they change. A fragment, so picking a layer, quantity,
    sort or unit reruns only this part: the rest of the page (the text source, the gate
    saturation plot, a quarter of a full rerun) stays as it is."""
    view = controls(trace, traces.usable_features(tracks))
    values = traces.display_values(trace, view.layer, view.quantity, view.squash)
    tokens = readable_tokens(trace.token_texts, text)
    heatmap(model, text, tokens, view, values, tracks)
    neuron(trace, tokens, view, values, tracks)
    findings.cells(model, text, trace, view.quantity)
    own_feature.section(model, text, trace, view.quantity)


def show() -> None:
    info = state.current_model(blocks.catalogue())
    state.start_page({**keys.INSPECT_DEFAULTS, keys.IN_SOURCE: "generated"} if state.last_generation()
                     else keys.INSPECT_DEFAULTS)
    st.title("Inspect")
    st.caption(f"Inside **{markdown_literal(info.name)}** ({info.shape}) while it reads a text: every layer's "
               f"{WHAT_A_CELL_HOLDS.get(info.cell, 'hidden state')} after each token.")
    try:
        lm = resources.load(info)
    except RnnlmError as exc:
        st.error(str(exc))
        return
    read = text_source.read_text(info, lm)
    if read is None:
        return
    text, trace = read
    model = resources.model_key(info)
    explorer(model, text, trace, cached.features(model, text, trace))
    findings.saturation(model, text, trace)


show()
