"""AppTest of the Learn page: each lesson renders, and its numbers are the lecture's or the model's."""

import re

import pytest
from app_util import app

PAGE = "views/learn/learn.py"


def lesson(at, name):
    at.segmented_control(key="widget_ln_lesson").set_value(name).run()
    assert not at.exception
    return at


@pytest.fixture(scope="module")
def learn():
    return app(page=PAGE)


def test_opens_on_the_hand_set_lstm_with_the_lectures_numbers(learn):
    assert not learn.exception and not learn.error
    table = learn.dataframe[-1].value
    assert [round(v, 2) for v in table["memory"]] == [3, 7, 7, 7, 0, 6, 6]
    assert [round(v, 2) for v in table["output"]] == [0, 0, 0, 7, 0, 0, 6]
    assert len(learn.latex) == 2 and "c_t = f_t" in learn.latex[1].value


def test_the_gru_variant_adds_keeps_and_replaces():
    at = app(page=PAGE)
    at.radio(key="widget_ln_hs_cell").set_value("GRU").run()
    assert [round(v, 2) for v in at.dataframe[-1].value["memory"]] == [3, 7, 7, 5, 5, 7]
    assert "z_t" in at.latex[0].value


def test_an_empty_weight_says_what_to_fill_in_and_keeps_the_table():
    at = app(page=PAGE)
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
