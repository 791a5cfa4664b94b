"""The Inspect page's pure parts: heatmap and saturation figures, neuron HTML, trace helpers, cell rows."""

import numpy as np
import pytest
from app_util import visible_text

from playground.views.inspect import heatmaps, neuron_text, traces
from playground.widgets import token_html
from rnnlm.corpus import corpus_file
from rnnlm.interpret import CellMatch, Saturation


def test_heatmap_figure_orders_units_labels_tokens_and_refuses_oversize():
    values = np.arange(12, dtype=np.float32).reshape(4, 3)  # (time, units)
    figure = heatmaps.heatmap_figure(values, [2, 0, 1], ["a", " ", "\n", "a"], 10, (-1, 1), np.array([.3, .2, .1]),
                                     "std dev")
    heat = next(t for t in figure.data if t.type == "heatmap")
    assert list(heat.x) == ["10:a", "11:␣", "12:↵", "13:a"] and list(heat.y) == ["unit 2", "unit 0", "unit 1"]
    np.testing.assert_array_equal(heat.z / 10 ** heat.meta["decimals"], values.T)
    clickable = next(t for t in figure.data if t.type == "scatter")
    assert list(clickable.customdata) == [2, 0, 1]
    with pytest.raises(ValueError):
        heatmaps.heatmap_figure(np.zeros((heatmaps.MAX_STEPS + 1, 2)), [0, 1], ["x"] * 1001, 0, (0, 1),
                                np.zeros(2), "std dev")


def test_clicked_points_give_a_unit_or_nothing():
    assert heatmaps.unit_from_points([{"curve_number": 2, "point_index": 4, "customdata": 17}]) == 17
    assert heatmaps.unit_from_points([{"customdata": [5]}]) == 5
    assert heatmaps.unit_from_points([{"curve_number": 0, "x": "3:a", "y": "unit 9"}]) is None
    assert heatmaps.unit_from_points([]) is None


def test_colour_ranges_per_quantity():
    c = np.array([[-8.0, 0.5], [3.0, 1.0]])
    assert heatmaps.value_range("forget", c) == (0.0, 1.0)
    assert heatmaps.value_range("h", c) == (-1.0, 1.0) and heatmaps.value_range("c", c, squashed=True) == (-1.0, 1.0)
    low, high = heatmaps.value_range("c", c)
    assert low == -high and 3.0 < high <= 8.0


def test_saturation_figure_has_one_panel_per_layer_and_gate_and_clicks_map_back():
    sats = [Saturation(gate, layer, np.array([0.1, 0.9]), np.array([0.8, 0.0]))
            for layer in range(2) for gate in ("input", "forget", "output")]
    figure = heatmaps.saturation_figure(sats)
    assert len(figure.data) == 6 and list(figure.data[4].x) == [0.1, 0.9]
    assert [a.text for a in figure.layout.annotations][:3] == ["layer 1 · input gate", "layer 1 · forget gate",
                                                               "layer 1 · output gate"]
    assert heatmaps.saturation_pick([{"curve_number": 4, "point_index": 1}], sats) == (1, "forget", 1)
    assert heatmaps.saturation_pick([{"curve_number": 9, "point_index": 0}], sats) is None


def test_neuron_html_escapes_text_and_colours_by_value():
    html = neuron_text.neuron_html(["<script>", "alert(1)", "</script>", "\n"], [-1.0, 0.0, 1.0, 0.5],
                                   [[('"><img src=x>', 0.5)]] * 4, -1.0, 1.0, "unit <b>3</b>")
    assert "<script>" not in html and "</script>" not in html and "<img" not in html and "<b>" not in html
    assert visible_text(html) == "<script>alert(1)</script>\n"
    assert 'style="background:#ffffff"' in html  # the middle of the range is white
    assert neuron_text.activation_colour(-1, -1, 1) != neuron_text.activation_colour(1, -1, 1)
    assert neuron_text.activation_colour(0.0, 0, 1) == neuron_text.activation_colour(-5, 0, 1)  # clipped
    assert "&lt;b&gt;" in neuron_text.legend_html(-1, 1, "unit <b>3</b>")


def test_trace_helpers_budget_windows_slices_and_corpus_names(tmp_path):
    assert traces.token_budget(2, 6, 512) == traces.TRACE_BUDGET_BYTES // (2 * 6 * 512 * 4)
    assert traces.token_budget(1, 1, 1) == traces.MAX_TRACE_TOKENS
    assert traces.windows(2500, 1000) == [(0, 1000), (1000, 2000), (2000, 2500)] and traces.windows(0) == [(0, 0)]
    text = "".join(f"line {i}\n" for i in range(1000))
    piece = traces.validation_slice(text, 300, seed=3)
    assert len(piece) == 300 and piece.startswith("line ") and piece == traces.validation_slice(text, 300, seed=3)
    prepared, shared = tmp_path / "data", tmp_path / "shared"
    for folder in (prepared, shared):
        folder.mkdir()
    (shared / "linux.txt").write_text("shared")
    assert corpus_file("linux", (prepared, shared)) == shared / "linux.txt"
    (prepared / "linux.txt").write_text("prepared")
    assert corpus_file("linux", (prepared, shared)) == prepared / "linux.txt"  # the prepared copy first
    assert corpus_file("c", (prepared, shared)) is None
    assert corpus_file("../shared/linux", (prepared, tmp_path)) is None  # never a path
    assert token_html.readable_tokens(["\ufffd", "a", "\ufffd"], "<a>") == ["<", "a", ">"]  # a char model's unknowns
    assert token_html.readable_tokens(["\ufffd", " c"], "<x> c") == ["\ufffd", " c"]  # a word model's: kept
    assert traces.ids_within((1, 2, 3), ["ab", "c", "de"], 4) == ((1, 2), 3)  # never half a token
    assert traces.ids_within((1, 2), ["ab", "c"], 1) == ((), 0) and traces.ids_within((1,), ["ab"], 9) == ((1,), 2)


def test_cell_rows_group_by_layer_and_feature_validated_first_with_both_correlations():
    matches = [CellMatch("quotes", 0, "h", 4, -0.9, -0.1, 0.3), CellMatch("quotes", 0, "h", 7, 0.5, 0.45, 0.3),
               CellMatch("depth", 1, "h", 2, 0.7, 0.6, 0.2), CellMatch("depth", 0, "h", 1, 0.95, None, 0.3)]
    rows = traces.cell_rows(matches)
    assert [(r["layer"], r["feature"], r["unit"]) for r in rows] == [(1, "quotes", 7), (1, "depth", 1), (2, "depth", 2)]
    assert rows[0]["holds"] == "✓ yes" and rows[0]["r, 1st half"] == 0.5 and rows[0]["r, 2nd half"] == 0.45
    assert rows[0]["chance"] == 0.3 and rows[0]["runners-up"] == "4 (-0.90 / -0.10)"
    assert rows[1]["holds"] == "✗ no" and rows[1]["r, 2nd half"] is None  # the feature is absent from the 2nd half
    assert traces.cell_label(matches[1]) == "✓ quotes: layer 1, unit 7 (hidden state h), r = +0.50, then +0.45 (chance 0.30)"
    assert traces.cell_label(matches[3]).startswith("✗ unconfirmed: depth") and "then absent" in traces.cell_label(matches[3])
    assert traces.cell_label(CellMatch("depth", 0, "c", 1, 0.5)) == "depth: layer 1, unit 1 (cell state c), r = +0.50"


def test_fixed_point_keeps_three_decimals_unless_values_need_more_range():
    small = np.array([[-0.98765, 0.5, 0.0004]], dtype=np.float32)
    z, decimals = heatmaps.fixed_point(small, (-1.0, 1.0))
    assert decimals == 3 and z.dtype == np.int16 and z.tolist() == [[-988, 500, 0]]
    large = np.array([[-60.0, 12.3456]], dtype=np.float32)  # an unsquashed cell state can grow past 32.767
    z, decimals = heatmaps.fixed_point(large, (-60.0, 60.0))
    assert decimals == 2 and z.tolist() == [[-6000, 1235]]


def test_a_small_view_hovers_exact_values_and_a_large_one_says_its_unit():
    small = np.full((200, 64), 1.0, dtype=np.float32)
    figure = heatmaps.heatmap_figure(small, list(range(64)), ["a"] * 200, 0, (-1, 1), np.zeros(64), "std dev")
    heat = next(t for t in figure.data if t.type == "heatmap")
    assert heat.z.dtype == np.float32 and "%{z:.3f}" in heat.hovertemplate and "×10" not in heat.hovertemplate
    large = np.full((1000, 128), 1.0, dtype=np.float32)
    figure = heatmaps.heatmap_figure(large, list(range(128)), ["a"] * 1000, 0, (-1, 1), np.zeros(128), "std dev")
    heat = next(t for t in figure.data if t.type == "heatmap")
    assert heat.z.dtype == np.int16 and "×10⁻³" in heat.hovertemplate


def test_heatmap_token_labels_are_plotly_safe():
    labels = heatmaps.time_labels(["<br>", "<b>x</b>", "\x1b"])
    assert labels == ["0:&lt;br&gt;", "1:&lt;b&gt;x&lt;/b&gt;", "2:\ufffd"]
