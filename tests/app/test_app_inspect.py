"""The Inspect page (AppTest) and its pure parts: heatmap and saturation figures, neuron HTML, trace helpers."""

import base64
import json

import numpy as np
import pytest
from app_util import APP, TIMEOUT, app, html_blocks, visible_text
from conftest import SHARED_DATA
from streamlit.testing.v1 import AppTest

import rnnlm
from playground import state
from playground.views.inspect import heatmaps, neuron_text, traces
from playground.views.inspect import keys as inspect_keys
from playground.widgets import token_html
from rnnlm.corpus import corpus_file, split_corpus
from rnnlm.interpret import Saturation, correlations, search_cells, token_feature_tracks, trace_text, unit_order

PAGE = "views/inspect/inspect.py"
CHAR_LSTM, WORD_GRU = "smoke-char-lstm", "smoke-word-gru"
SCRIPT = '<script>alert(1)</script>\n"quoted" {braces {nested}}\n'


# --- helpers ---------------------------------------------------------------------------

def inspect(model: str = CHAR_LSTM, after_generate: bool = False) -> AppTest:
    """The Inspect page for a fresh session: opened directly, or after a 5-token sample on Generate."""
    if after_generate:
        return app({"model": model, "length": "5"}, page=PAGE)
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.query_params.update({"model": model})
    return at.switch_page(PAGE).run()  # before the first run a page is found by its file name


def widget(at, kind: str, key: str):
    return getattr(at, kind)(key=state.widget_key(key))


def decoded(array) -> np.ndarray:
    """A plotly JSON array: a list, or a base64 typed array {"dtype", "bdata", "shape"}."""
    if isinstance(array, dict):
        values = np.frombuffer(base64.b64decode(array["bdata"]), dtype=np.dtype(array["dtype"]))
        shape = array.get("shape")
        return values.reshape([int(n) for n in str(shape).split(",")]) if shape else values
    return np.asarray(array)


SHOWN = inspect_keys.INSPECT_DEFAULTS[inspect_keys.IN_UNITS_SHOWN]  # the first view: the busiest units
WINDOW = inspect_keys.INSPECT_DEFAULTS[inspect_keys.IN_WINDOW_SIZE]  # tokens per view


def scale(heat: dict) -> float:
    """The heatmap sends its values as int16 in units of 10^-decimals (heatmaps.fixed_point)."""
    return 10.0 ** heat["meta"]["decimals"]


def heat_values(heat: dict) -> np.ndarray:
    return decoded(heat["z"]) / scale(heat)


def colour_range(heat: dict) -> tuple[float, float]:
    return heat["zmin"] / scale(heat), heat["zmax"] / scale(heat)


def figures(at) -> list[dict]:
    return [json.loads(chart.proto.spec) for chart in at.get("plotly_chart")]


def heatmap_trace(at) -> dict:
    return next(t for t in figures(at)[0]["data"] if t["type"] == "heatmap")


def neuron_html(at) -> str:
    """The painted text, without its legend."""
    return html_blocks(at, "rnnlm-neuron")[0].split('<div class="rnnlm-legend"')[0]


def use_text(at, source: str, text: str | None = None):
    widget(at, "radio", inspect_keys.IN_SOURCE).set_value(source).run()
    if text is not None:
        widget(at, "text_area", inspect_keys.IN_PASTED).set_value(text).run()
    assert not at.exception
    return at


def validation_text() -> str:
    return split_corpus((SHARED_DATA / "tinyshakespeare.txt").read_text(encoding="utf-8"), "tinyshakespeare")[1]


# --- the page --------------------------------------------------------------------------

def test_after_generate_it_reads_the_generated_text_and_draws_every_section():
    at = inspect(after_generate=True)
    assert not at.exception and not at.error
    text = visible_text(neuron_html(at))
    assert text.startswith("ROMEO:") and len(text) > len("ROMEO:")  # the prompt and the 5 sampled tokens
    trace = trace_text(rnnlm.load(CHAR_LSTM), text)
    values = trace.values(0, "h")
    order = unit_order(values, "variance")
    heat = heatmap_trace(at)
    assert heat["y"] == [f"unit {u}" for u in order[:SHOWN]]  # the busiest units first
    assert heat["x"] == heatmaps.time_labels(trace.token_texts)
    np.testing.assert_allclose(heat_values(heat), values[:, order[:SHOWN]].T, atol=5e-4)
    assert len(figures(at)) == 2  # heatmap and gate saturation
    gates = [trace["name"] for trace in figures(at)[1]["data"]]
    assert gates == [f"layer 1 {g}" for g in ("input", "forget", "output")]
    assert len(at.dataframe) == 1 and at.selectbox(key=state.widget_key(inspect_keys.IN_CELL)).options


def test_a_word_model_reads_the_tokens_it_sampled_not_a_re_encoding():
    at = app({"model": WORD_GRU, "prompt": "ROMEO:", "temperature": "0.8", "seed": "1", "length": "60"}, page=PAGE)
    assert not at.exception
    lm = rnnlm.load(WORD_GRU)
    steps = list(rnnlm.generate(lm, "ROMEO:", rnnlm.SamplingSettings(temperature=0.8, seed=1, max_new_tokens=60)))
    sampled = [s.text for s in steps]
    assert lm.tokenizer.encode("".join(sampled)) != [s.token_id for s in steps]  # this seed splits differently
    assert heatmap_trace(at)["x"] == heatmaps.time_labels(sampled)


def test_layer_quantity_sort_and_squash_controls_change_the_heatmap():
    at = inspect()
    assert widget(at, "radio", inspect_keys.IN_SOURCE).value == "validation"  # nothing generated in this session
    text = traces.validation_slice(validation_text(), inspect_keys.INSPECT_DEFAULTS[inspect_keys.IN_SLICE_CHARS], 0)
    assert visible_text(neuron_html(at)) == text[:WINDOW]  # the first time window
    trace = trace_text(rnnlm.load(CHAR_LSTM), text)

    widget(at, "selectbox", inspect_keys.IN_QUANTITY).set_value("forget").run()
    heat = heatmap_trace(at)
    assert colour_range(heat) == (0.0, 1.0)
    forget = trace.values(0, "forget")
    assert heat["y"] == [f"unit {u}" for u in unit_order(forget, "variance")[:SHOWN]]

    widget(at, "selectbox", inspect_keys.IN_SORT).set_value("correlation").run()
    widget(at, "selectbox", inspect_keys.IN_FEATURE).set_value("position in line").run()
    feature = token_feature_tracks(trace)["position in line"]
    order = unit_order(forget, "correlation", feature)
    assert heatmap_trace(at)["y"] == [f"unit {u}" for u in order[:SHOWN]]
    strip = [t for t in figures(at)[0]["data"] if t["type"] == "heatmap"][1]  # beside the heatmap: the sort key
    np.testing.assert_allclose(decoded(strip["z"])[:, 0], correlations(forget, feature)[order[:SHOWN]], atol=1e-4)

    widget(at, "selectbox", inspect_keys.IN_QUANTITY).set_value("c").run()
    assert colour_range(heatmap_trace(at))[1] == 1.0  # tanh(c) by default
    widget(at, "checkbox", inspect_keys.IN_SQUASH).uncheck().run()
    raw = trace.values(0, "c")
    assert colour_range(heatmap_trace(at))[1] == pytest.approx(np.percentile(np.abs(raw), 99), rel=1e-4)

    widget(at, "selectbox", inspect_keys.IN_SORT).set_value("similarity").run()
    widget(at, "selectbox", inspect_keys.IN_UNITS_SHOWN).set_value(512).run()
    assert heatmap_trace(at)["y"] == [f"unit {u}" for u in unit_order(raw, "similarity")]
    assert not at.exception


def test_pasted_text_is_escaped_paged_and_found_cells_link_to_the_neuron_view():
    long_text = SCRIPT * 40  # 2,120 characters: several time windows
    at = use_text(inspect(), "pasted", long_text)
    html = neuron_html(at)  # "<", ">", "{" and quotes are unknown to the model: shown as typed, escaped
    assert "<script>" not in html and ">&lt;</span>" in html  # one span per character
    assert visible_text(html) == long_text[:WINDOW]
    assert any("new to this model" in c.value for c in at.caption)

    widget(at, "select_slider", inspect_keys.IN_WINDOW).set_value(1).run()
    assert heatmap_trace(at)["x"][0].startswith(f"{WINDOW}:")
    assert visible_text(neuron_html(at)) == long_text[WINDOW:2 * WINDOW]

    trace = trace_text(rnnlm.load(CHAR_LSTM), long_text)
    best = search_cells(trace, quantity="h", per_feature=3)
    cells = widget(at, "selectbox", inspect_keys.IN_CELL)
    assert cells.options[0] == traces.cell_label(best[0])
    cells.set_value(1).run()
    at.button(key="in_show_cell").click().run()
    assert widget(at, "number_input", inspect_keys.IN_UNIT).value == best[1].unit
    assert widget(at, "selectbox", inspect_keys.IN_LAYER).value == best[1].layer
    assert f"unit {best[1].unit}, layer {best[1].layer + 1}" in html_blocks(at, "rnnlm-neuron")[0]


def test_word_gru_offers_its_own_gates():
    at = use_text(inspect(WORD_GRU), "pasted", "ROMEO:\nWhat say you to this, my lord?\n" * 3)
    assert widget(at, "selectbox", inspect_keys.IN_QUANTITY).options == ["hidden state h", "reset gate", "update gate",
                                                                   "candidate (new content)"]
    assert [t["name"] for t in figures(at)[1]["data"]] == ["layer 1 reset", "layer 1 update"]
    captions = "\n".join(c.value for c in at.caption)
    assert "Update gates high up keep their old state" in captions and "Forget gates" not in captions
    widget(at, "selectbox", inspect_keys.IN_QUANTITY).set_value("update").run()
    assert colour_range(heatmap_trace(at)) == (0.0, 1.0) and not at.exception


def test_a_model_whose_corpus_is_absent_says_so():
    at = app({"length": "5"})
    entry = {**rnnlm.read_manifest()[0], "name": "my-novel", "corpus": "novel",
             "path": str(rnnlm.resolve(CHAR_LSTM))}
    at.session_state[state.SESSION_MODELS_KEY] = {"my-novel": entry}
    at.session_state[state.MODEL] = "my-novel"
    at.switch_page(PAGE).run()
    use_text(at, "validation")
    assert any("not on this server" in w.value for w in at.warning)
    assert not at.get("plotly_chart") and not at.exception


def test_no_generation_yet_asks_for_one():
    at = inspect()
    widget(at, "radio", inspect_keys.IN_SOURCE).set_value("generated").run()
    assert any("Nothing generated" in i.value for i in at.info) and not at.exception


# --- pure parts ------------------------------------------------------------------------

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


def test_cell_rows_group_by_layer_and_feature():
    from rnnlm.interpret import CellMatch
    matches = [CellMatch("quotes", 0, "h", 4, -0.9), CellMatch("quotes", 0, "h", 7, 0.5),
               CellMatch("depth", 1, "h", 2, 0.7), CellMatch("depth", 0, "h", 1, 0.95)]
    rows = traces.cell_rows(matches)
    assert [(r["layer"], r["feature"], r["unit"]) for r in rows] == [(1, "depth", 1), (1, "quotes", 4), (2, "depth", 2)]
    assert rows[1]["runners-up"] == "7 (+0.50)"


def test_fixed_point_keeps_three_decimals_unless_values_need_more_range():
    small = np.array([[-0.98765, 0.5, 0.0004]], dtype=np.float32)
    z, decimals = heatmaps.fixed_point(small, (-1.0, 1.0))
    assert decimals == 3 and z.dtype == np.int16 and z.tolist() == [[-988, 500, 0]]
    large = np.array([[-60.0, 12.3456]], dtype=np.float32)  # an unsquashed cell state can grow past 32.767
    z, decimals = heatmaps.fixed_point(large, (-60.0, 60.0))
    assert decimals == 2 and z.tolist() == [[-6000, 1235]]


def test_the_caption_names_what_this_cell_holds_and_the_picker_shows_plain_names():
    gru = app({"model": WORD_GRU}, page=PAGE)
    lstm = app({"model": CHAR_LSTM}, page=PAGE)
    assert "a GRU keeps no separate cell state" in gru.caption[0].value and "cell state and gates" not in gru.caption[0].value
    assert "hidden state, cell state and gates (input, forget, output)" in lstm.caption[0].value
    assert gru.selectbox(key="picker_name").value == WORD_GRU
    assert all("nats/char" not in option for option in gru.selectbox(key="picker_name").options)  # no cut-off labels


def test_a_small_view_hovers_exact_values_and_a_large_one_says_its_unit():
    small = np.full((200, 64), 1.0, dtype=np.float32)
    figure = heatmaps.heatmap_figure(small, list(range(64)), ["a"] * 200, 0, (-1, 1), np.zeros(64), "std dev")
    heat = next(t for t in figure.data if t.type == "heatmap")
    assert heat.z.dtype == np.float32 and "%{z:.3f}" in heat.hovertemplate and "×10" not in heat.hovertemplate
    large = np.full((1000, 128), 1.0, dtype=np.float32)
    figure = heatmaps.heatmap_figure(large, list(range(128)), ["a"] * 1000, 0, (-1, 1), np.zeros(128), "std dev")
    heat = next(t for t in figure.data if t.type == "heatmap")
    assert heat.z.dtype == np.int16 and "×10⁻³" in heat.hovertemplate


def test_inspect_opens_on_a_readable_window_of_the_busiest_units():
    at = app(page="views/inspect/inspect.py")
    heat = heatmap_trace(at)
    assert len(heat["y"]) == 64 and len(heat["x"]) <= 200
    assert at.selectbox(key="widget_in_sort").value == "variance"


def test_without_the_corpora_inspect_reads_the_shipped_held_out_excerpt(monkeypatch):
    import rnnlm.corpus
    from playground import resources
    from rnnlm.zoo import heldout_excerpt

    monkeypatch.setattr(rnnlm.corpus, "corpus_file", lambda *args, **kwargs: None)  # a server without data
    resources.validation_text.clear()
    try:
        at = inspect()
        assert not at.exception and not at.warning
        shown = visible_text(neuron_html(at))
        assert len(shown) > 100 and shown in heldout_excerpt("tinyshakespeare")
    finally:
        resources.validation_text.clear()


def test_heatmap_token_labels_are_plotly_safe():
    labels = heatmaps.time_labels(["<br>", "<b>x</b>", "\x1b"])
    assert labels == ["0:&lt;br&gt;", "1:&lt;b&gt;x&lt;/b&gt;", "2:\ufffd"]
