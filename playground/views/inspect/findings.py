"""What the Inspect page finds in a trace: units that track a feature of the text (cells),
and how often each gate is saturated. Picking either shows that unit on the text."""

import streamlit as st

from playground import state
from playground.views.inspect import cached, heatmaps, keys, traces
from rnnlm.cell_validation import CHANCE_PERCENTILE, SHIFTS
from rnnlm.interpret import Trace

MAX_CELL_LINKS = 30


def show_unit(layer: int, quantity: str, unit: int) -> None:
    state.set_value(keys.IN_LAYER, layer)
    state.set_value(keys.IN_QUANTITY, quantity)
    state.set_value(keys.IN_UNIT, unit)


def cells(model: str, text: str, trace: Trace, quantity: str) -> None:
    st.subheader("Interpretable cells")
    label = traces.QUANTITY_LABELS.get(quantity, quantity)
    st.caption(f"For each layer and feature of the text, the units of the {label} whose activation follows it "
               "best on the first half of this text, checked on the second half (Pearson r on each; negative: "
               "the unit falls as the feature rises). Searching every unit finds some correlation even in "
               "noise: chance is the best |r| over all units when the feature is shifted in time "
               f"({CHANCE_PERCENTILE}th percentile of {SHIFTS} shifts). A cell holds (✓) when both r beat chance "
               "with the same sign; the others are marked ✗.")
    matches = cached.cells(model, text, quantity, trace)
    if not matches:
        st.info("No feature varies in this text: try a longer one.")
        return
    if not any(m.validated for m in matches):
        st.info("No cell holds on both halves of this text: a longer text gives a lower chance level.")
    st.dataframe(traces.cell_rows(matches), hide_index=True, width="stretch")
    found = sorted(matches, key=traces.cell_order)[:MAX_CELL_LINKS]
    state.keep_valid(keys.IN_CELL, list(range(len(found))))
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
