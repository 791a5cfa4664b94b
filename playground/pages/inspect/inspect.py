"""Inspect page: inside the recurrent cell while it reads a text.

The text (what Generate just wrote, a pasted text, or a slice of the model's validation
text) is read once through the model's stepper, cached per model and text. Then: a units
x time heatmap of any layer and quantity, one unit painted on the text, the units that
track features of the text (quotes, brace depth, position in line, ...), and how often
each gate is saturated. Clicking a unit in the heatmap's strip, a dot in the saturation
plot, or a found cell shows that unit on the text.
"""

from dataclasses import dataclass

import numpy as np
import streamlit as st

from playground import resources, state
from playground.widgets import blocks
from playground.pages.inspect import cached
from playground.pages.inspect import heatmaps
from playground.pages.inspect import neuron_text
from playground.pages.inspect import traces
from playground import catalogue as cat
from playground.widgets.token_html import UNKNOWN_MARK, markdown_literal, readable_tokens
from playground.pages.inspect import keys
from rnnlm import RnnlmError
from rnnlm.corpus import corpus_file
from rnnlm.interpret import Trace

SOURCES = {"generated": "What Generate wrote", "pasted": "A pasted text", "validation": "A validation slice"}
MAX_PASTED_CHARS = 20_000
MAX_CELL_LINKS = 30


@dataclass(frozen=True)
class View:
    layer: int
    quantity: str
    squash: bool
    sort: str
    feature: str | None
    window: tuple[int, int]


# --- the text ---------------------------------------------------------------------------

def chosen_text(info) -> tuple[str, tuple[int, ...] | None]:
    """The text to read, with its own token ids when it is this model's generation."""
    st.radio("Text to read", list(SOURCES), format_func=SOURCES.get, horizontal=True, **state.bind(keys.IN_SOURCE))
    source = state.value(keys.IN_SOURCE)
    if source == "generated":
        return generated_text(info)
    if source == "pasted":
        st.text_area("Text", height=140, max_chars=MAX_PASTED_CHARS, placeholder="Paste any text: code, a poem…",
                     **state.bind(keys.IN_PASTED))
        return state.value(keys.IN_PASTED), None
    return validation_slice(info), None


def generated_text(info) -> tuple[str, tuple[int, ...] | None]:
    generation = state.last_generation()
    if generation is None:
        st.info("Nothing generated in this session yet: generate a text on the Generate page, "
                "or read a pasted text or a validation slice.")
        return "", None
    st.caption(f"The prompt and the {len(generation.new_steps):,} tokens that "
               f"{markdown_literal(generation.request.model)} generated last.")
    # The generating model reads its own tokens: re-encoding the text can split it differently.
    own = generation.request.model == info.name
    return generation.text, tuple(step.token_id for step in generation.steps) if own else None


def validation_slice(info) -> str:
    path = corpus_file(info.corpus)
    validation = cached.validation_text(str(path), info.corpus) if path else None
    if not validation:
        st.warning(f"The training text of this model ({markdown_literal(cat.corpus_label(info.corpus))}) is not on "
                   "this server (data/ or ../shared/data/ next to the project): read a pasted text instead.")
        return ""
    length, again = st.columns([4, 1], vertical_alignment="bottom")
    length.slider("Characters", *traces.SLICE_CHARS, step=100, **state.bind(keys.IN_SLICE_CHARS))
    again.button("Another slice", icon=":material/casino:", key="in_another", on_click=keys.roll_slice,
                 width="stretch")
    st.caption(f"Held-out text of {markdown_literal(cat.corpus_label(info.corpus))}: the model never trained on it.")
    return traces.validation_slice(validation, state.value(keys.IN_SLICE_CHARS), state.value(keys.IN_SLICE_SEED))


# --- the controls -----------------------------------------------------------------------

def keep_valid(key: str, options: list) -> None:
    state.set_value(key, traces.clamp_choice(state.value(key), options))


def controls(trace: Trace, features: list[str]) -> View:
    layers, quantities = list(range(trace.states.shape[1])), list(trace.quantities)
    spans = traces.windows(len(trace.token_ids))
    keep_valid(keys.IN_LAYER, layers)
    keep_valid(keys.IN_QUANTITY, quantities)
    keep_valid(keys.IN_WINDOW, list(range(len(spans))))
    columns = st.columns([1, 2, 2, 2])
    columns[0].selectbox("Layer", layers, format_func=lambda layer: f"layer {layer + 1}", **state.bind(keys.IN_LAYER))
    columns[1].selectbox("Show", quantities, format_func=lambda q: traces.QUANTITY_LABELS.get(q, q),
                         **state.bind(keys.IN_QUANTITY))
    columns[2].selectbox("Sort units", list(traces.SORTS), format_func=traces.SORTS.get, **state.bind(keys.IN_SORT))
    feature = None
    if state.value(keys.IN_SORT) == "correlation" and features:
        keep_valid(keys.IN_FEATURE, features)
        columns[3].selectbox("Feature", features, **state.bind(keys.IN_FEATURE))
        feature = state.value(keys.IN_FEATURE)
    if state.value(keys.IN_QUANTITY) == "c":
        st.checkbox("Squash c with tanh (what the output gate sees)", **state.bind(keys.IN_SQUASH))
    if len(spans) > 1:
        st.select_slider("Tokens shown", list(range(len(spans))), **state.bind(keys.IN_WINDOW),
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
    shown = order[:heatmaps.MAX_UNITS]
    if len(order) > len(shown):
        st.caption(f"The first {len(shown)} of {len(order)} units in this order.")
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


def show_unit(layer: int, quantity: str, unit: int) -> None:
    state.set_value(keys.IN_LAYER, layer)
    state.set_value(keys.IN_QUANTITY, quantity)
    state.set_value(keys.IN_UNIT, unit)


def cells(model: str, text: str, trace: Trace, view: View) -> None:
    st.subheader("Interpretable cells")
    label = traces.QUANTITY_LABELS.get(view.quantity, view.quantity)
    st.caption(f"For each layer and feature of the text, the units of the {label} whose activation follows it "
               "best (Pearson correlation over this text; negative: the unit falls as the feature rises).")
    matches = cached.cells(model, text, view.quantity, trace)
    if not matches:
        st.info("No feature varies in this text: try a longer one.")
        return
    st.dataframe(traces.cell_rows(matches), hide_index=True, width="stretch")
    found = matches[:MAX_CELL_LINKS]
    keep_valid(keys.IN_CELL, list(range(len(found))))
    pick, button = st.columns([4, 1], vertical_alignment="bottom")
    pick.selectbox("Strongest cells", list(range(len(found))), format_func=lambda i: traces.cell_label(found[i]),
                   **state.bind(keys.IN_CELL))
    chosen = found[state.value(keys.IN_CELL)]
    button.button("Show on the text", key="in_show_cell", on_click=show_unit,
                  args=(chosen.layer, chosen.quantity, chosen.unit), width="stretch")


def saturation(model: str, text: str, trace: Trace) -> None:
    if not traces.has_gates(trace.quantities):
        return
    st.subheader("Gate saturation")
    memory = ("Forget gates high up keep their memory for long" if "forget" in trace.quantities else
              "Update gates high up keep their old state for long (PyTorch's GRU: h = (1 - z) · candidate + z · h)")
    st.caption("Each dot is one unit's gate: how often it is nearly closed (< 0.1, left) or nearly open (> 0.9, up) "
               f"over this text. {memory}; click a dot to see that gate.")
    found = cached.saturation(model, text, trace)

    def pick() -> None:
        chosen = heatmaps.saturation_pick(state.chart_points(keys.IN_SATURATION), found)
        if chosen is not None:
            show_unit(*chosen)

    st.plotly_chart(heatmaps.saturation_figure(found), key=keys.IN_SATURATION, on_select=pick,
                    selection_mode="points", config=heatmaps.CONFIG)


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
    cells(model, text, trace, view)


def read_text(info, lm) -> tuple[str, Trace] | None:
    text, ids = chosen_text(info)
    if not text:
        return None
    budget = traces.token_budget(lm.config.num_layers, len(lm.quantities), lm.config.hidden_size)
    if len(text) > budget:
        st.caption(f"Reading the first {budget:,} of {len(text):,} characters (the memory budget for this model).")
        if ids is None:
            text = traces.fit_to_budget(text, budget)
        else:
            ids, chars = traces.ids_within(ids, [lm.tokenizer.token_text(i) for i in ids], budget)
            text = text[:chars]
    trace = cached.trace(resources.model_key(info), text, lm, ids)
    if not trace.token_ids:
        st.info("This text has no tokens to read.")
        return None
    return text, trace


def show() -> None:
    info = state.current_model(blocks.catalogue())
    state.start_page({**keys.INSPECT_DEFAULTS, keys.IN_SOURCE: "generated"} if state.last_generation()
                     else keys.INSPECT_DEFAULTS)
    st.title("Inspect")
    st.caption(f"Inside **{markdown_literal(info.name)}** ({info.shape}) while it reads a text: every layer's "
               "hidden state, cell state and gates after each token.")
    try:
        lm = resources.load(info)
    except RnnlmError as exc:
        st.error(str(exc))
        return
    read = read_text(info, lm)
    if read is None:
        return
    text, trace = read
    model = resources.model_key(info)
    explorer(model, text, trace, cached.features(model, text, trace))
    saturation(model, text, trace)


show()
