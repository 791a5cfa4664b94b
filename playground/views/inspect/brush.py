"""Your own feature by selection (LSTMVis-style brushing): drag a box or a lasso over characters of
the text map; the selected characters are the feature (rnnlm.span_feature), ranked and validated
like a regular expression's.

The chart's selection event only updates the stored selection (own_keys.IN_BRUSHED) in its
callback, adding or removing the characters a drag covered: the page draws everything from that
stored value, so the selection survives paging the text window, and a test can set it directly.
"""

from __future__ import annotations

import hashlib

import streamlit as st

from playground import state
from playground.views.inspect import cached, keys, neuron_text, own_results, text_map, traces
from playground.views.inspect.own_keys import BRUSH_MODES, IN_BRUSH_MODE, IN_BRUSHED, IN_TEXT_MAP
from rnnlm import RnnlmError
from rnnlm.cell_validation import search_halves
from rnnlm.interpret import CellMatch, Trace
from rnnlm.span_feature import MIN_MARKED, SpanFeature, Spans, added, removed, span_feature

MARKED_CHARS = 3000  # characters of the whole text shown with the selection marked


def digest(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8", "surrogatepass")).hexdigest()


def stored_spans(text: str) -> Spans:
    """The selection made on this text; none if it was made on another."""
    made_on, spans = state.value(IN_BRUSHED)
    return spans if made_on == digest(text) else ()


def store(text: str, spans: Spans) -> None:
    state.set_value(IN_BRUSHED, (digest(text), spans))


def apply_drag(text: str, positions: list[int]) -> None:
    """What a box or lasso over these characters does: add them, or take them out."""
    if not positions:  # a click on empty space, or a double-click clearing plotly's own box
        return
    change = added if state.value(IN_BRUSH_MODE) == "add" else removed
    store(text, change(stored_spans(text), positions))


def window_chars(tokens: tuple[str, ...]) -> tuple[int, int, tuple[int, int]]:
    """The characters [start, end) of the token window the page shows, and that window."""
    spans = traces.windows(len(tokens), state.value(keys.IN_WINDOW_SIZE))
    first, last = spans[traces.clamp_index(state.value(keys.IN_WINDOW), len(spans))]
    start = sum(len(t) for t in tokens[:first])
    return start, start + sum(len(t) for t in tokens[first:last]), (first, last)


@st.cache_data(max_entries=32, ttl=cached.MINUTES_KEPT * 60, show_spinner="Searching for units that follow your selection…")
def brushed_cells(model: str, text: str, spans: Spans, quantity: str, _trace: Trace,
                  _feature: SpanFeature) -> list[CellMatch]:
    """Found on the first half, checked on the second: the regular expression's search, unchanged."""
    return search_halves(_trace, quantity=quantity, per_feature=cached.OWN_PER_LAYER,
                         features={_feature.name: _feature.tokens})


def controls(joined: str) -> None:
    mode, clear = st.columns([4, 1], vertical_alignment="bottom")
    mode.radio("Dragging a box or a lasso over the text map", list(BRUSH_MODES), format_func=BRUSH_MODES.get,
               horizontal=True, **state.bind(IN_BRUSH_MODE))
    clear.button("Clear the selection", key="in_brush_clear", on_click=store, args=(joined, ()), width="stretch")


def draw_map(joined: str, feature_chars, tokens: tuple[str, ...]) -> None:
    start, end, (first, last) = window_chars(tokens)

    def dragged() -> None:
        apply_drag(joined, text_map.positions_from_points(state.chart_points(IN_TEXT_MAP)))

    figure = text_map.text_map_figure(joined, start, end, feature_chars)
    st.plotly_chart(figure, key=IN_TEXT_MAP, on_select=dragged, selection_mode=("box", "lasso"),
                    config=text_map.CONFIG, theme=None, width="content")
    shown = min(end, start + text_map.MAX_MAP_CHARS)
    cut = f" (the first {shown - start:,} characters of them)" if shown < end else ""
    st.caption(f"Tokens {first:,}–{last - 1:,} of {len(tokens):,}{cut}, as in the views above: move \"Tokens shown\" "
               "to select elsewhere. Drag to draw a box (the lasso is in the chart's toolbar); "
               "· is a space, ↵ a line break. Hover a character for its position.")


def section(model: str, text: str, trace: Trace, quantity: str, tokens: tuple[str, ...]) -> None:
    joined = "".join(tokens)  # the characters the tokens spell: what the map shows and the spans index
    st.caption("The characters you select become a feature (1 on them, 0 elsewhere). A selection cannot be "
               "re-applied to new text the way a regular expression can, so it is checked like every feature "
               "here: units are ranked on the first half of this text and confirmed on the second, against "
               f"chance. Select at least {MIN_MARKED} tokens in each half, by what the text says: a selection "
               "drawn from a unit's colours will agree with that unit on both halves.")
    controls(joined)
    try:
        feature = span_feature(tokens, stored_spans(joined))
    except RnnlmError as exc:
        st.error(str(exc))
        return
    draw_map(joined, feature.chars, tokens)
    selected = int(feature.chars.sum())
    first, second = feature.marked_halves
    st.caption(f"Selected: {selected:,} of {len(joined):,} characters in {len(feature.spans):,} "
               f"span{'s' * (len(feature.spans) != 1)}; tokens marked: {first:,} in the first half, {second:,} in "
               f"the second (a token counts when its last character is selected; the second half starts at "
               f"character {feature.middle_char:,}).")
    if selected:
        st.html(neuron_text.marked_html(joined, feature.chars, MARKED_CHARS))
    if feature.problem:
        st.info(feature.problem)
        return
    matches = brushed_cells(model, text, feature.spans, quantity, trace, feature)
    own_results.show(matches, "No unit follows your selection on both halves of the text above chance.")
