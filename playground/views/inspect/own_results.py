"""The units that follow your own feature, as a table and a picker: the same for a regular
expression and a selection, so both are read the same way."""

from collections.abc import Sequence

import streamlit as st

from playground import state
from playground.views.inspect import findings, keys, traces
from rnnlm.interpret import CellMatch


def show(matches: Sequence[CellMatch], none_hold: str) -> None:
    """The ranked, validated units (validated first) and a button that paints the picked one on the text."""
    if not any(m.validated for m in matches):
        st.info(none_hold)
    st.dataframe(traces.cell_rows(matches), hide_index=True, width="stretch")
    found = sorted(matches, key=traces.cell_order)
    if not found:
        return
    state.keep_valid(keys.IN_OWN_CELL, list(range(len(found))))
    pick, button = st.columns([4, 1], vertical_alignment="bottom")
    pick.selectbox("Units that follow your feature", list(range(len(found))),
                   format_func=lambda i: traces.cell_label(found[i]), **state.bind(keys.IN_OWN_CELL))
    chosen = found[state.value(keys.IN_OWN_CELL)]
    button.button("Show on the text", key="in_show_own_cell", on_click=findings.show_unit,
                  args=(chosen.layer, chosen.quantity, chosen.unit), width="stretch")
