"""AppTest of the Learn page: each lesson renders, and its numbers are the lecture's or the model's."""

import json
import re

import pyarrow as pa
import pytest
from app_util import app

PAGE = "views/learn/learn.py"


def lesson(at, name):
    at.segmented_control(key="widget_ln_lesson").set_value(name).run()
    assert not at.exception
    return at


def chart_data(chart):
    """A Vega-Lite chart's data as Streamlit sends it (Arrow, out of the spec)."""
    return pa.ipc.open_stream(chart.proto.data.data).read_all().to_pandas()


@pytest.fixture(scope="module")
def learn():
    return app(page=PAGE)


def test_opens_on_the_hand_set_lstm_with_the_lectures_numbers(learn):
    assert not learn.exception and not learn.error
    table = learn.table[-1].value
    assert [round(v, 2) for v in table["memory"]] == [3, 7, 7, 7, 0, 6, 6]
    assert [round(v, 2) for v in table["output"]] == [0, 0, 0, 7, 0, 0, 6]
    assert len(learn.latex) == 2 and "c_t = f_t" in learn.latex[1].value


def test_the_steps_shade_each_gate_and_chart_them_when_asked():
    at = app(page=PAGE)
    styles = at.table[-1].proto.arrow_data.styler.styles
    assert "background-color: rgba(31, 119, 180, 0.60)" in styles  # an open gate
    assert not at.get("vega_lite_chart")  # the page opens without its charts
    at.session_state["ln_hs_charts"] = True  # the charts' expander opened
    at.run()
    memory, gates = (chart_data(chart) for chart in at.get("vega_lite_chart"))
    assert [round(v, 2) for v in memory.loc[memory["quantity"] == "memory", "value"]] == [3, 7, 7, 7, 0, 6, 6]
    assert set(gates["quantity"]) == {"input gate", "forget gate", "output gate"}
    assert json.loads(at.get("vega_lite_chart")[0].proto.spec)["title"]["text"] == "The hand-set LSTM, step by step"


def test_the_gru_variant_adds_keeps_and_replaces():
    at = app(page=PAGE)
    at.radio(key="widget_ln_hs_cell").set_value("GRU").run()
    assert [round(v, 2) for v in at.table[-1].value["memory"]] == [3, 7, 7, 5, 5, 7]
    assert "z_t" in at.latex[0].value


def test_the_cell_opens_on_the_lectures_tables_and_edits_in_grids_when_asked():
    at = app(page=PAGE)
    assert not at.dataframe  # static tables: no data grid to load, the page opens faster
    assert at.table[0].value["x2"].tolist() == [1, 1, 0, 0, -1, 1, 0]  # the lecture's inputs
    at.toggle(key="widget_ln_hs_edit").set_value(True).run()
    inputs, weights = at.dataframe  # both editable now
    assert len(inputs.value) == 7 and weights.value["bias"].tolist() == [-10, 10, -10, 0]
    at.session_state["ln_hs_inputs_LSTM"] = {"edited_rows": {0: {"x1": 5.0}}, "added_rows": [], "deleted_rows": []}
    at.run()
    assert round(at.table[-1].value["memory"].iloc[0], 2) == 5  # the edit reaches the cell
    at.toggle(key="widget_ln_hs_edit").set_value(False).run()
    assert round(at.table[-1].value["memory"].iloc[0], 2) == 3  # editing off: the lecture's numbers again


def test_an_empty_weight_says_what_to_fill_in_and_keeps_the_table():
    at = app(page=PAGE)
    at.session_state["ln_hs_edit"] = True
    at.session_state["ln_hs_weights_LSTM"] = {"edited_rows": {1: {"bias": None}}, "added_rows": [], "deleted_rows": []}
    at.run()
    assert "forget gate f row has an empty cell" in at.error[0].value
    assert at.session_state["ln_hs_weights_LSTM"]["edited_rows"] == {1: {"bias": None}}  # the edit is kept


def test_gates_on_real_text_fill_the_equations_with_the_models_numbers(learn):
    at = lesson(learn, "gates")
    lines = [latex.value for latex in at.latex]
    assert len(lines) == 3 and "c_t = f_t" in lines[1]  # the sidebar's default model is an LSTM
    numbers = [float(x) for x in re.findall(r"-?\d+\.\d{3}", lines[1])]
    forget, c_prev, inp, g, c = numbers
    assert forget * c_prev + inp * g == pytest.approx(c, abs=0.01)


def test_clipping_experiment_trains_both_and_the_clipped_run_learns_more(learn):
    at = lesson(learn, "clipping")
    at.form_submit_button[0].click().run()
    assert not at.exception and not at.error
    plain, clipped = (float(m.value.split()[0]) for m in at.metric[:2])
    assert clipped < plain
    assert len(at.get("plotly_chart")) == 1


def test_char_vs_word_measures_both_models_per_character(learn):
    at = lesson(learn, "char_word")
    labels = [m.label for m in at.metric]
    assert labels[0].startswith("shakespeare-char") and labels[1].startswith("shakespeare-word")
    assert all(float(m.value.split()[0]) > 0 for m in at.metric[:2])
    assert any("Cheaper for" in block.value and "rgba(" in block.value for block in at.html)


def test_how_far_back_measures_every_cell_on_a_pasted_text(learn):
    at = lesson(learn, "reach")
    at.toggle(key="ln_reach_text_own").set_value(True).run()
    at.text_area(key="widget_ln_reach_text").input(
        "First Citizen:\nBefore we proceed any further, hear me speak.\n\nAll:\nSpeak, speak.\n" * 12).run()
    at.button(key="ln_reach_go").click().run()
    assert not at.exception and not at.error
    assert len(at.get("plotly_chart")) == 2
    assert "Steps back until the gradient falls below 1%" in " ".join(c.value for c in at.caption)


def test_gates_read_what_generate_just_wrote():
    at = app({"model": "shakespeare-char-lstm", "prompt": "ROMEO:", "length": "60", "seed": "2"})
    at.switch_page(PAGE).run()
    at = lesson(at, "gates")
    assert at.toggle(key="ln_gate_generated").value
    assert "generated last" in " ".join(c.value for c in at.caption)
    assert len(at.latex) == 3


def test_the_clipping_experiment_trains_on_one_torch_thread_and_gives_the_count_back():
    """Two spinning OpenMP threads beside a browser or another session made it 1.6-2.5x slower."""
    import torch

    from playground.views.learn import cached
    from rnnlm.lessons.clipping import ClippingSettings

    own = torch.get_num_threads()
    torch.set_num_threads(2)  # what the server sets: every core
    during = []
    try:
        cached.clipping("To be, or not to be: that is the question.\n" * 20, ClippingSettings(steps=3, window=16),
                        _progress=lambda fraction: during.append(torch.get_num_threads()))
        assert len(during) == 6 and set(during) == {1}  # both runs, every step
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(own)


def test_a_hand_set_value_that_overflows_leaves_a_gap_in_the_chart_not_an_error():
    from playground.views.learn import handset_chart

    rows = [{"memory": 1.0, "output": float("inf")}, {"memory": float("nan"), "output": 0.5}]
    values = [p["value"] for p in handset_chart.state_spec(rows, "LSTM")["data"]["values"]]
    assert values == [1.0, None, None, 0.5]  # JSON has no NaN or infinity
