"""The Inspect page (AppTest); its pure parts are in test_inspect_parts.py."""

import base64
import json

import numpy as np
import pytest
from app_util import APP, TIMEOUT, app, html_blocks, visible_text
from conftest import SHARED_DATA
from streamlit.testing.v1 import AppTest

import rnnlm
from playground import state
from playground.views.inspect import heatmaps, traces
from playground.views.inspect import keys as inspect_keys
from rnnlm.cell_validation import search_halves
from rnnlm.corpus import split_corpus
from rnnlm.interpret import correlations, token_feature_tracks, trace_text, unit_order

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
    found = search_halves(trace, quantity="h", per_feature=3, features=token_feature_tracks(trace))
    best = sorted(found, key=traces.cell_order)  # validated cells first
    cells = widget(at, "selectbox", inspect_keys.IN_CELL)
    assert cells.options[0] == traces.cell_label(best[0])
    table = at.dataframe[0].value
    assert {"holds", "r, 1st half", "r, 2nd half", "chance"} <= set(table.columns)
    assert set(table["holds"]) <= {"✓ yes", "✗ no"}
    unconfirmed = [m for m in best if not m.validated]
    assert all(traces.cell_label(m).startswith("✗ unconfirmed") for m in unconfirmed)
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


def test_the_caption_names_what_this_cell_holds_and_the_picker_shows_plain_names():
    gru = app({"model": WORD_GRU}, page=PAGE)
    lstm = app({"model": CHAR_LSTM}, page=PAGE)
    assert "a GRU keeps no separate cell state" in gru.caption[0].value and "cell state and gates" not in gru.caption[0].value
    assert "hidden state, cell state and gates (input, forget, output)" in lstm.caption[0].value
    assert gru.selectbox(key="picker_name").value == WORD_GRU
    assert all("nats/char" not in option for option in gru.selectbox(key="picker_name").options)  # no cut-off labels


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


def test_a_clamped_generation_is_inspected_with_its_clamps():
    at = app({"model": CHAR_LSTM, "prompt": "ROMEO:", "length": "30", "clamp": "1:7=0.5"})
    at.switch_page(PAGE).run()
    assert widget(at, "radio", inspect_keys.IN_SOURCE).value == "generated"
    widget(at, "selectbox", inspect_keys.IN_UNITS_SHOWN).set_value(512).run()
    heat = heatmap_trace(at)
    row = heat["y"].index("unit 7")
    assert np.allclose(heat_values(heat)[row], 0.5)  # the clamped unit holds its value on every token
    assert any("generation's clamps" in c.value for c in at.caption)
