"""Your own feature on the Inspect page: type a regular expression, see the characters it matches,
and the units that follow it, found and checked exactly as the built-in features are."""

import streamlit as st

from playground import state
from playground.views.inspect import cached, findings, keys, neuron_text, traces
from playground.widgets.token_html import readable_tokens
from rnnlm import RnnlmError
from rnnlm.interpret import Trace
from rnnlm.regex_feature import MAX_PATTERN_CHARS

MARKED_CHARS = 3000  # characters of the text shown with the matches marked


def section(model: str, text: str, trace: Trace, quantity: str) -> None:
    st.subheader("Your own feature")
    st.text_input("Regular expression (Python syntax)", max_chars=MAX_PATTERN_CHARS,
                  placeholder='e.g. "[^"]*" for inside a string, //.* for a line comment',
                  **state.bind(keys.IN_PATTERN))
    pattern = state.value(keys.IN_PATTERN)
    if not pattern:
        st.caption("The characters it matches become a feature (1 inside a match, 0 outside), searched like the "
                   "ones above: units found on the first half of the text, checked on the second, against chance.")
        return
    tokens = tuple(readable_tokens(trace.token_texts, text))  # the user's own characters, as the pattern expects
    try:
        feature = cached.own_feature(model, text, pattern, tokens)
    except RnnlmError as exc:
        st.error(str(exc))
        return
    matched = int(feature.chars.sum())
    st.caption(f"Marked: the {matched:,} characters the pattern matches, of {len(feature.chars):,} "
               f"({matched / max(len(feature.chars), 1):.0%}).")
    st.html(neuron_text.marked_html("".join(tokens), feature.chars, MARKED_CHARS))
    if feature.problem:
        st.info(feature.problem)
        return
    matches = cached.own_cells(model, text, pattern, quantity, trace, feature)
    if not any(m.validated for m in matches):
        st.info("No unit follows this pattern on both halves of the text above chance.")
    st.dataframe(traces.cell_rows(matches), hide_index=True, width="stretch")
    found = sorted(matches, key=traces.cell_order)
    state.keep_valid(keys.IN_OWN_CELL, list(range(len(found))))
    pick, button = st.columns([4, 1], vertical_alignment="bottom")
    pick.selectbox("Units that follow your pattern", list(range(len(found))),
                   format_func=lambda i: traces.cell_label(found[i]), **state.bind(keys.IN_OWN_CELL))
    chosen = found[state.value(keys.IN_OWN_CELL)]
    button.button("Show on the text", key="in_show_own_cell", on_click=findings.show_unit,
                  args=(chosen.layer, chosen.quantity, chosen.unit), width="stretch")
