"""Your own feature on the Inspect page: type a regular expression, or select characters of the text
with the mouse (brush.py); see the characters it marks, and the units that follow it, found and
checked exactly as the built-in features are."""

import streamlit as st

from playground import state
from playground.views.inspect import brush, cached, keys, neuron_text, own_results
from playground.views.inspect.own_keys import IN_OWN_BY, OWN_BY, OWN_DEFAULTS
from playground.widgets.token_html import readable_tokens
from rnnlm import RnnlmError
from rnnlm.interpret import Trace
from rnnlm.regex_feature import MAX_PATTERN_CHARS

MARKED_CHARS = 3000  # characters of the text shown with the matches marked


def section(model: str, text: str, trace: Trace, quantity: str) -> None:
    st.subheader("Your own feature")
    state.start_page(OWN_DEFAULTS)
    st.radio("Define it by", list(OWN_BY), format_func=OWN_BY.get, horizontal=True, **state.bind(IN_OWN_BY))
    tokens = tuple(readable_tokens(trace.token_texts, text))  # the user's own characters, as they typed them
    if state.value(IN_OWN_BY) == "brush":
        brush.section(model, text, trace, quantity, tokens)
    else:
        by_pattern(model, text, trace, quantity, tokens)


def by_pattern(model: str, text: str, trace: Trace, quantity: str, tokens: tuple[str, ...]) -> None:
    st.text_input("Regular expression (Python syntax)", max_chars=MAX_PATTERN_CHARS,
                  placeholder='e.g. "[^"]*" for inside a string, //.* for a line comment',
                  **state.bind(keys.IN_PATTERN))
    pattern = state.value(keys.IN_PATTERN)
    if not pattern:
        st.caption("The characters it matches become a feature (1 inside a match, 0 outside), searched like the "
                   "ones above: units found on the first half of the text, checked on the second, against chance.")
        return
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
    own_results.show(matches, "No unit follows this pattern on both halves of the text above chance.")
