"""The playground's pure parts: escaped HTML, colours, chart, CSV/JSON, URL parsing, catalogue."""

import csv
import io
import json
import unicodedata

import pytest
from app_util import visible_text

from playground import catalogue as cat
from playground import state
from playground.widgets import charts, export
from playground.widgets import token_html as render
from playground.widgets.blocks import share_url
from rnnlm import Step

INJECTIONS = ["<img src=x onerror=alert(1)>", "</div><script>alert(1)</script>", '" onmouseover="alert(1)']


def step(index, text, prob=0.5, from_prompt=False, top=None):
    return Step(index=index, token_id=index, text=text, from_prompt=from_prompt, prob=prob, model_prob=prob,
                entropy=1.0, top=top if top is not None else [(text, index, prob), ("<b>", 99, 0.1)])


@pytest.mark.parametrize("attack", INJECTIONS)
def test_every_user_and_model_text_is_escaped(attack):
    steps = [step(0, attack, from_prompt=True, top=[(attack, 0, 0.5)]), step(1, attack, top=[(attack, 7, 0.3)])]
    for fragment in (render.tokens_html(steps, attack), render.streaming_html(attack, attack),
                     render.tokens_html(steps, "typed differently " + attack)):
        assert "<img" not in fragment and "<script" not in fragment and "</div><" not in fragment
        assert 'onmouseover="' not in fragment
        assert attack in visible_text(fragment)


def test_visible_text_is_prompt_plus_generation_without_the_popups():
    steps = [step(0, "RO", from_prompt=True), step(1, "MEO"), step(2, "\n"), step(3, " x")]
    fragment = render.tokens_html(steps, "RO")
    assert visible_text(fragment) == "ROMEO\n x"
    assert fragment.count('data-alts="') == 4 and fragment.count('tabindex="0"') == 4


def test_prompt_with_unknown_tokens_is_shown_as_typed():
    steps = [step(0, "⁇", from_prompt=True), step(1, "ok")]
    fragment = render.tokens_html(steps, "<")
    assert visible_text(fragment) == "<ok" and render.UNKNOWN_PROMPT_NOTE in fragment


def test_colours_follow_probability_bins_and_the_legend_lists_them():
    assert render.probability_colour(0.95) != render.probability_colour(0.01)
    assert render.probability_colour(1.0) == render.PROBABILITY_BINS[0][1]
    assert render.probability_colour(0.0) == render.PROBABILITY_BINS[-1][1]
    legend = render.legend_html()
    assert all(colour in legend and label in legend for _, colour, label in render.PROBABILITY_BINS)


def test_popup_lists_alternatives_and_marks_the_chosen_token():
    popup = render.alternatives_text(step(3, "a", prob=0.4, top=[("b", 9, 0.5), ("a", 3, 0.4)]))
    lines = popup.splitlines()
    assert lines[-2].startswith("  b") and "50.0%" in lines[-2] and render.text_bar(0.5) in lines[-2]
    assert lines[-1].startswith("▶ a") and "40.0%" in lines[-1]


def test_text_bar_grows_with_probability():
    assert render.text_bar(0.0) == "" and render.text_bar(1.0) == "█" * 10 and render.text_bar(0.55) == "█████▌"


def test_whitespace_is_made_visible_in_labels():
    assert render.visible_token(" \n\t") == "␣↵⇥" and render.visible_token("") == "∅"


def layers_of(spec):
    """Every unit layer of the chart's main view, nested groups flattened."""
    main = spec["vconcat"][0] if "vconcat" in spec else spec
    pending, found = list(main["layer"]), []
    while pending:
        layer = pending.pop(0)
        pending[:0] = layer.get("layer", [])
        found += [layer] if "mark" in layer else []
    return found


def series_names(spec):
    return [layer["encoding"]["color"]["datum"] for layer in layers_of(spec) if "color" in layer["encoding"]]


def test_chart_has_probability_and_entropy_with_token_ticks():
    steps = [step(i, f"t{i}", prob=i / 200, from_prompt=i < 3) for i in range(150)]
    spec = charts.probability_entropy_spec(steps)
    assert series_names(spec) == ["model p(chosen token)", "entropy (nats)"]
    assert [row["p"] for row in spec["datasets"]["tokens"]] == [s.model_prob for s in steps]
    ticks = spec["params"][0]["value"]
    assert spec["params"][0]["name"] == "tick_text" and ticks["0"] == "t0" and ticks["149"] == "t149"
    assert spec["encoding"]["x"]["axis"]["tickCount"] <= charts.MAX_TICK_LABELS
    assert "tick_text[datum.value]" in spec["encoding"]["x"]["axis"]["labelExpr"]
    prompt = [layer for layer in layers_of(spec) if layer["mark"]["type"] == "rect"]
    assert [layer["data"]["values"][0]["x1"] for layer in prompt] == [2.5]  # the shaded prompt
    # decorations and the per-token hover rules carry no accessible labels (the prompt box owns "Prompt")
    assert [layer["mark"].get("aria") for layer in layers_of(spec) if layer["mark"]["type"] in ("rect", "text", "rule")] == [
        False, False, False]
    assert spec["resolve"]["scale"]["y"] == "independent"  # probability left, entropy right
    json.dumps(spec, allow_nan=False)  # plain JSON, as Streamlit sends it


def test_csv_and_json_hold_every_token_and_its_alternatives():
    steps = [step(0, "a,\"b\"\n", from_prompt=True), step(1, "=1+1")]
    rows = list(csv.DictReader(io.StringIO(export.to_csv(steps))))
    assert [r["token"] for r in rows] == ["a,\"b\"\n", "'=1+1"]  # a spreadsheet shows it, never runs it
    assert rows[1]["alt_2"] == "<b>" and float(rows[1]["alt_prob_2"]) == 0.1
    loaded = json.loads(export.to_json(steps, {"seed": 4}))
    assert loaded["request"] == {"seed": 4} and loaded["tokens"][1]["token"] == "=1+1"  # JSON keeps it raw


@pytest.mark.parametrize("token, shown", [("=HYPERLINK(\"http://x\")", "'=HYPERLINK(\"http://x\")"),
                                          ("+cmd|' /c calc'!A0", "'+cmd|' /c calc'!A0"), ("@SUM(A1)", "'@SUM(A1)"),
                                          ("-", "-"), ("->", "'->"), ("x = 1", "x = 1"), ("\tx", "'\tx")])
def test_csv_cells_never_start_a_formula(token, shown):
    (row,) = list(csv.DictReader(io.StringIO(export.to_csv([step(0, token, top=[(token, 0, 0.5)])]))))
    assert row["token"] == shown and row["alt_1"] == shown


def test_share_url_round_trips_through_the_url_parser():
    catalogue = [cat.model_info(dict(name=n, corpus="c", level="char", cell="lstm", layers=1, hidden_size=8,
                                     parameters=10, val_nats_per_char=1.0)) for n in ("a", "b", "c")]
    values = {"model": "b", "models": ["a", "c"], "prompt": "x = 1; // & ?", "temperature": 0.35,
              "top_k": 4, "top_p": 0.9, "seed": 77, "length": 12}
    link = share_url("http://host:1/compare/", state.url_values(values, state.COMPARE_PARAMS + (state.MODEL,)))
    assert link.startswith("http://host:1/compare/?")
    from urllib.parse import parse_qs, urlsplit
    parsed, notices = state.values_from_url(parse_qs(urlsplit(link).query, keep_blank_values=True), catalogue)
    assert notices == [] and {k: parsed[k] for k in values} == values


def test_malformed_url_values_fall_back_with_one_notice_each():
    catalogue = [cat.model_info(dict(name="m", corpus="c", level="char", cell="gru", layers=1, hidden_size=8,
                                     parameters=10, val_nats_per_char=1.0))]
    query = {"temperature": ["hot"], "top_k": ["-1"], "top_p": ["0"], "seed": ["nan"], "length": ["1e9"],
             "model": ["nope"], "models": ["nope"], "prompt": ["x" * 5000]}
    values, notices = state.values_from_url(query, catalogue)
    assert len(notices) == len(query)
    assert {k: values[k] for k in state.DEFAULTS} == state.DEFAULTS
    assert values["model"] == "m" and values["prompt"] == cat.default_prompt("c") and values["models"] == ["m"]


def test_picker_moves_to_the_closest_model():
    def info(name, corpus, level, cell, smoke=False):
        return cat.model_info(dict(name=name, corpus=corpus, level=level, cell=cell, layers=1, hidden_size=8,
                                   parameters=10, val_nats_per_char=1.0, smoke=smoke))
    catalogue = [info("s-cl", "shakespeare", "char", "lstm"), info("s-cg", "shakespeare", "char", "gru"),
                 info("c-cl", "c", "char", "lstm"), info("c-wg", "c", "word", "gru")]
    assert cat.closest(catalogue, catalogue[1], corpus="c").name == "c-cl"  # keeps char
    assert cat.closest(catalogue, catalogue[2], level="word").name == "c-wg"
    assert [i.name for i in cat.contrasting(catalogue, catalogue[0])] == ["s-cl", "s-cg"]
    assert cat.default_model([info("x", "c", "char", "gru", smoke=True), catalogue[0]]).name == "s-cl"
    first = info(cat.FIRST_MODEL, "tinyshakespeare", "char", "lstm")
    assert cat.default_model([*catalogue, first]) == first  # a new visitor meets the best Shakespeare char model


def test_summary_gives_the_models_probability_and_the_sampled_one():
    import rnnlm
    from playground.request import Request
    from playground.widgets.blocks import summary
    from playground.widgets.generation import Generation

    request = Request("smoke-char-lstm", "ROMEO:", 0.0, 0, 1.0, 1, 30)  # greedy: every choice had p = 1
    steps = list(rnnlm.generate(rnnlm.load(request.model), request.prompt, request.settings()))
    new = [s for s in steps if not s.from_prompt]
    model = sum(s.model_prob for s in new) / len(new)
    assert model < 0.99  # so the two figures differ
    assert f"mean p(chosen): model {model:.1%}, as sampled 100.0%" in summary(Generation(request, steps, 1.0))


def test_small_probabilities_read_as_percentages_too():
    assert [render.percent(p) for p in (0.815, 8.7e-4, 1.23e-5, 3e-9, 0.0)] == [
        "81.5%", "0.087%", "0.0012%", "<0.0001%", "0%"]


def test_chart_hover_gives_the_popups_percent():
    spec = charts.probability_entropy_spec([step(0, "a", prob=0.00054), step(1, "b", prob=0.5)])
    assert [row["p_text"] for row in spec["datasets"]["tokens"]] == [render.percent(0.00054), "50.0%"] == [
        "0.054%", "50.0%"]
    hover = [layer for layer in layers_of(spec) if "params" in layer]
    assert [field["field"] for field in hover[0]["encoding"]["tooltip"]] == ["token", "p_text", "e", "i"]


def test_a_long_generation_gets_averages_an_overview_to_zoom_and_few_labels():
    steps = [step(i, " word", prob=(i % 7) / 7) for i in range(2000)]
    spec = charts.probability_entropy_spec(steps)
    assert len(series_names(spec)) == 4 and len(spec["vconcat"]) == 2 and spec["autosize"]["type"] == "fit-x"
    zoom = spec["vconcat"][1]["params"][0]
    assert zoom["select"]["type"] == "interval"
    assert spec["vconcat"][0]["encoding"]["x"]["scale"]["domain"]["param"] == zoom["name"]
    average = [row["p"] for row in spec["datasets"]["averages"]]
    assert max(average) - min(average) < 0.2  # the sawtooth's trend, not the sawtooth
    rows = spec["datasets"]["averages"]
    assert len(rows) <= 2000 / 10 and [rows[0]["i"], rows[-1]["i"]] == [0, 1999]  # thinned, both ends
    assert spec["vconcat"][0]["encoding"]["x"]["axis"]["tickCount"] <= charts.label_budget(["␣word"] * 2000) < 30
    assert spec["params"][0]["value"]["5"] == "␣word"


def test_a_short_generation_keeps_its_markers_and_no_overview():
    spec = charts.probability_entropy_spec([step(i, "x") for i in range(50)])
    assert "vconcat" not in spec and "averages" not in spec["datasets"] and len(series_names(spec)) == 2
    marked = [bool(layer["mark"].get("point")) for layer in layers_of(spec) if "color" in layer["encoding"]]
    assert marked == [True, False]  # each token's probability marked; entropy a dotted line


def test_the_hover_layer_comes_last_so_the_zoom_reads_the_shared_x():
    for count in (50, 2000):
        spec = charts.probability_entropy_spec([step(i, "x") for i in range(count)])
        main = spec["vconcat"][0] if "vconcat" in spec else spec
        assert "params" in main["layer"][-1] and "x" not in main["layer"][-1]["encoding"]


def test_chart_labels_show_the_users_characters():
    steps = [step(0, "a", from_prompt=True), step(1, render.UNKNOWN_MARK, from_prompt=True), step(2, "b")]
    labels = render.readable_tokens([s.text for s in steps], "a—b")
    spec = charts.probability_entropy_spec(steps, labels)
    assert list(spec["params"][0]["value"].values()) == ["a", "—", "b"]
    assert [row["token"] for row in spec["datasets"]["tokens"]] == ["a", "—", "b"]


def test_moving_average_is_centred_and_keeps_the_ends():
    assert charts.moving_average([0, 0, 3, 0, 0], 3) == [0, 1, 1, 1, 0]


@pytest.mark.parametrize("token", ["<b>bold</b>", "<br>", '<a href="http://x">x</a>', "a&amp;b", "\x1b[31mred\x07",
                                   "\u202eevil\u2066", "a\u200bb\x85"])
def test_chart_labels_are_data_never_markup_or_control_characters(token):
    """Vega draws labels as text: a token reaches the chart only as data, whitespace and control
    characters made visible, and never inside an expression."""
    spec = charts.probability_entropy_spec([step(0, token), step(1, "x")])
    labels = list(spec["params"][0]["value"].values()) + [row["token"] for row in spec["datasets"]["tokens"]]
    assert not any(unicodedata.category(ch) in ("Cc", "Cf") for label in labels for ch in label)
    assert spec["params"][0]["value"]["0"] == render.plain_label(token[:charts.MAX_LABEL_CHARS])
    rest = {key: value for key, value in spec.items() if key not in ("params", "datasets")}
    assert render.plain_label(token)[:4] not in json.dumps(rest, ensure_ascii=False)  # in no expression
