"""The Inspect page's "Your own feature" (AppTest): type a regular expression, see what it marks and
the units that follow it with both r values; a bad pattern shows an error and the rest of the page stays."""

from test_app_inspect import CHAR_LSTM, SCRIPT, figures, inspect, use_text, widget

import rnnlm
from playground import state
from playground.views.inspect import cached, traces
from playground.views.inspect import keys as inspect_keys
from playground.widgets.token_html import readable_tokens
from rnnlm.cell_validation import search_halves
from rnnlm.interpret import trace_text
from rnnlm.regex_feature import regex_feature

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
