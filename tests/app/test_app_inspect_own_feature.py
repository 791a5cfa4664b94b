"""The Inspect page's "Your own feature" (AppTest): type a regular expression, or select characters,
see what it marks and the units that follow it with both r values; a bad pattern or a selection that
cannot be validated shows a message and the rest of the page stays."""

import json
import re

import numpy as np
from test_app_inspect import CHAR_LSTM, SCRIPT, decoded, figures, inspect, use_text, widget

import rnnlm
from playground import state
from playground.views.inspect import brush, cached, traces
from playground.views.inspect import keys as inspect_keys
from playground.views.inspect.own_keys import IN_BRUSHED, IN_OWN_BY
from playground.widgets.token_html import readable_tokens
from rnnlm.cell_validation import search_halves
from rnnlm.interpret import trace_text
from rnnlm.regex_feature import regex_feature
from rnnlm.span_feature import span_feature

STRING = '"[^"]*"'
TEXT = SCRIPT * 40  # 2,120 characters with quotes (characters this model has never seen)


def typed(at, pattern: str):
    widget(at, "text_input", inspect_keys.IN_PATTERN).set_value(pattern).run()
    assert not at.exception
    return at


def marked(at) -> str:
    return next(block.proto.body for block in at.get("html") if "rnnlm-regex" in block.proto.body)


def test_a_pattern_marks_its_characters_and_ranks_validated_units_with_both_halves():
    at = typed(use_text(inspect(), "pasted", TEXT), STRING)
    html = marked(at)
    assert "<mark>&quot;quoted&quot;</mark>" in html and "<script>" not in html and "&lt;script&gt;" in html

    trace = trace_text(rnnlm.load(CHAR_LSTM), TEXT)
    feature = regex_feature(STRING, readable_tokens(trace.token_texts, TEXT))
    assert feature.chars.sum() == 40 * len('"quoted"')
    found = sorted(search_halves(trace, "h", cached.OWN_PER_LAYER, {feature.name: feature.tokens}),
                   key=traces.cell_order)
    assert len(at.dataframe) == 2  # the built-in features' cells, then yours
    table = at.dataframe[1].value
    assert set(table["feature"]) == {f"matches {STRING}"}
    assert table["r, 1st half"].notna().all() and table["r, 2nd half"].notna().all() and table["chance"].notna().all()
    picker = widget(at, "selectbox", inspect_keys.IN_OWN_CELL)
    assert picker.options == [traces.cell_label(m) for m in found]

    picker.set_value(1).run()
    at.button(key="in_show_own_cell").click().run()
    assert widget(at, "number_input", inspect_keys.IN_UNIT).value == found[1].unit
    assert widget(at, "selectbox", inspect_keys.IN_LAYER).value == found[1].layer


def test_a_bad_or_dangerous_pattern_shows_an_error_and_keeps_the_rest_of_the_page():
    at = use_text(inspect(), "pasted", TEXT)
    for pattern, says in (("(", "Not a valid regular expression"), ("(a+)+$", "exponential time")):
        typed(at, pattern)
        assert any(says in error.value for error in at.error)
        assert len(at.dataframe) == 1 and len(figures(at)) == 2  # the built-in cells, heatmap and saturation
        assert at.selectbox(key=state.widget_key(inspect_keys.IN_CELL)).options


def test_a_pattern_that_matches_nothing_is_reported_not_searched():
    at = typed(use_text(inspect(), "pasted", TEXT), "zzz")
    assert any("matches nothing" in info.value for info in at.info)
    assert len(at.dataframe) == 1 and not at.error


# --- your own feature by selection (brushing) ---------------------------------------------
# AppTest cannot drag on a plotly chart (Streamlit gives chart selections no test API, and they are
# read-only in session state): the drag's callback only stores spans (brush.apply_drag), so these
# tests store them the same way and check what the page draws from them. The browser test
# (tests/browser/test_browser_brush.py) drags a real box.

def brushing(text: str = TEXT):
    at = use_text(inspect(), "pasted", text)
    widget(at, "radio", IN_OWN_BY).set_value("brush").run()
    assert not at.exception
    return at


def select(at, text: str, spans) -> None:
    at.session_state[IN_BRUSHED] = (brush.digest(text), tuple(spans))
    at.run()
    assert not at.exception


def text_map_figure(at) -> dict:
    return next(f for f in figures(at) if f["layout"].get("dragmode") == "select")


def quoted_spans(text: str) -> list[tuple[int, int]]:
    return [(m.start(), m.end()) for m in re.finditer(STRING, text)]


def test_the_text_map_draws_the_window_escaped_and_asks_for_a_selection():
    at = brushing()
    chart = text_map_figure(at)
    glyphs = {int(p): g for trace in chart["data"] for p, g in zip(decoded(trace["customdata"]), trace["text"])}
    window = inspect_keys.INSPECT_DEFAULTS[inspect_keys.IN_WINDOW_SIZE]  # a char model: a token a character
    assert sorted(glyphs) == list(range(window))
    assert glyphs[0] == "&lt;" and "<script>" not in json.dumps(chart) and glyphs[TEXT.index("\n")] == "↵"
    assert any("Nothing is selected yet" in info.value for info in at.info)
    assert len(at.dataframe) == 1  # only the built-in cells


def test_a_selection_in_both_halves_is_marked_ranked_and_validated_like_the_regex():
    at = brushing()
    spans = quoted_spans(TEXT)
    select(at, TEXT, spans)
    assert "<mark>&quot;quoted&quot;</mark>" in marked(at) and "&lt;script&gt;" in marked(at)
    shown = [s for s in spans if s[1] <= inspect_keys.INSPECT_DEFAULTS[inspect_keys.IN_WINDOW_SIZE]]
    assert len(text_map_figure(at)["layout"]["shapes"]) == len(shown)  # painted behind the glyphs
    assert any(f"Selected: {40 * 8:,} of {len(TEXT):,} characters in 40 spans" in c.value for c in at.caption)

    trace = trace_text(rnnlm.load(CHAR_LSTM), TEXT)
    feature = span_feature(readable_tokens(trace.token_texts, TEXT), spans)
    np.testing.assert_array_equal(feature.tokens, regex_feature(STRING, readable_tokens(trace.token_texts, TEXT)).tokens)
    found = sorted(search_halves(trace, "h", cached.OWN_PER_LAYER, {feature.name: feature.tokens}),
                   key=traces.cell_order)
    assert len(at.dataframe) == 2
    table = at.dataframe[1].value
    assert set(table["feature"]) == {"your selection (320 characters in 40 spans)"}
    assert table["r, 1st half"].notna().all() and table["r, 2nd half"].notna().all() and table["chance"].notna().all()
    rows = traces.cell_rows(found)  # the regex's table, computed from the selection's feature
    assert list(table["unit"]) == [r["unit"] for r in rows] and list(table["holds"]) == [r["holds"] for r in rows]
    picker = widget(at, "selectbox", inspect_keys.IN_OWN_CELL)
    assert picker.options == [traces.cell_label(m) for m in found]
    picker.set_value(1).run()
    at.button(key="in_show_own_cell").click().run()
    assert widget(at, "number_input", inspect_keys.IN_UNIT).value == found[1].unit


def test_a_selection_only_in_the_first_half_says_to_select_in_the_second():
    at = brushing()
    select(at, TEXT, quoted_spans(TEXT)[:3])
    assert any("0 tokens in the second half" in info.value for info in at.info)
    assert len(at.dataframe) == 1 and not at.error


def test_clear_empties_the_selection_and_another_text_drops_it():
    at = brushing()
    select(at, TEXT, quoted_spans(TEXT))
    at.button(key="in_brush_clear").click().run()
    assert any("Nothing is selected yet" in info.value for info in at.info) and len(at.dataframe) == 1
    select(at, TEXT, quoted_spans(TEXT))
    widget(at, "text_area", inspect_keys.IN_PASTED).set_value(TEXT[1:]).run()  # a selection never outlives its text
    assert any("Nothing is selected yet" in info.value for info in at.info) and not at.exception


def test_the_regex_path_still_works_after_brushing():
    at = brushing()
    widget(at, "radio", IN_OWN_BY).set_value("regex").run()
    typed(at, STRING)
    assert set(at.dataframe[1].value["feature"]) == {f"matches {STRING}"}
