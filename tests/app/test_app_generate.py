"""AppTest of the Generate page (the default page) and the sidebar it shares with every page."""

import json
import subprocess
import sys

from app_util import APP, app, coloured_texts, html_blocks, manifest_names, warnings

import rnnlm
import rnnlm.branching
from playground import state
from playground.request import Request


def expected_text(request: Request) -> str:
    return request.prompt + rnnlm.sample_text(rnnlm.load(request.model), request.prompt, request.settings())


def shown_request(at) -> Request:
    q = at.query_params
    return Request(q["model"], q["prompt"], float(q["temperature"]), int(q["top_k"]), float(q["top_p"]),
                   int(q["seed"]), int(q["length"]), q.get("stop", ""), q.get("clamp", ""), q.get("force", ""))


def test_defaults_render_coloured_text_chart_downloads_and_share_link():
    at = app()
    assert not at.exception
    request = shown_request(at)
    assert request.model in manifest_names() and request.length == state.DEFAULTS["length"]
    assert coloured_texts(at) == [expected_text(request)]
    assert html_blocks(at, "rnnlm-legend")
    [chart] = at.get("vega_lite_chart")  # the probability and entropy of each token
    assert json.loads(chart.proto.spec)["params"][0]["name"] == "tick_text" and not at.get("plotly_chart")
    assert [b.proto.label for b in at.get("download_button")] == ["Text", "Tokens (CSV)", "Tokens (JSON)"]
    link = at.code[0].value
    assert f"seed={request.seed}" in link and f"model={request.model}" in link
    assert not warnings(at)


def test_changing_controls_and_generating_gives_the_new_text():
    at = app()
    at.slider(key=state.widget_key(state.TEMPERATURE)).set_value(0.0)
    at.number_input(key=state.widget_key(state.LENGTH)).set_value(40)
    at.text_area(key=state.widget_key(state.PROMPT)).set_value("The ")
    at.run()
    request = shown_request(at)
    assert (request.temperature, request.length, request.prompt) == (0.0, 40, "The ")
    assert coloured_texts(at) == [expected_text(request)]
    at.button(key="generate").click().run()  # generating again with the same settings: the same text
    assert coloured_texts(at) == [expected_text(request)]


def test_dice_picks_a_new_seed_and_samples_again():
    at = app({"length": "30"})
    before = shown_request(at)
    at.button(key="new_sample").click().run()
    after = shown_request(at)
    assert after.seed != before.seed
    assert coloured_texts(at) == [expected_text(after)]


def test_share_parameters_reproduce_the_command_line_text():
    model = manifest_names()[-1]
    query = {"model": model, "prompt": "KING:\nWhat", "temperature": "0.65", "top_k": "12", "top_p": "0.93",
             "seed": "4242", "length": "60"}
    at = app(query)
    assert not at.exception and not warnings(at)
    assert at.query_params == query
    request = shown_request(at)
    cli = subprocess.run([sys.executable, "-m", "rnnlm", "sample", "--model", model, "--prompt", query["prompt"],
                          "--temperature", query["temperature"], "--top-k", query["top_k"], "--top-p", query["top_p"],
                          "--max-new-tokens", query["length"], "--seed", query["seed"]],
                         cwd=APP.parent.parent, capture_output=True, text=True, check=True, timeout=120)
    assert coloured_texts(at) == [cli.stdout.removesuffix("\n")]
    assert request.cli_command() in [c.value for c in at.code]


def test_empty_prompt_and_unknown_characters_still_give_the_cli_text():
    for prompt in ("", "\u2603 snow \U0001f600"):
        at = app({"prompt": prompt, "length": "25", "model": manifest_names()[-1]})
        assert not at.exception and at.query_params["prompt"] == prompt
        assert coloured_texts(at) == [expected_text(shown_request(at))]


def test_malformed_parameters_show_a_notice_and_use_defaults():
    at = app({"temperature": "very", "top_k": "-4", "seed": "1.5", "length": "0", "model": "no-such-model"})
    assert not at.exception
    notice = warnings(at)
    for name in ("temperature", "top_k", "seed", "length", "model"):
        assert name in notice
    request = shown_request(at)
    assert (request.temperature, request.top_k, request.seed, request.length) == (
        state.DEFAULTS["temperature"], state.DEFAULTS["top_k"], state.DEFAULTS["seed"], state.DEFAULTS["length"])
    assert coloured_texts(at) == [expected_text(request)]
    at.slider(key=state.widget_key(state.TOP_P)).set_value(0.5).run()
    assert not warnings(at)  # acting on the page dismisses the notice about the link


def test_a_crafted_link_cannot_format_the_notice():
    crafted = "**bold** [click](https://evil.example) :red[RED] $x^2$"
    at = app({"model": crafted})
    assert not at.exception
    source = "\n".join(w.value for w in at.warning)  # the markdown the banner renders
    assert "\\*\\*bold\\*\\*" in source and "\\[click\\]\\(https\\:" in source and "\\$x^2\\$" in source
    assert crafted in warnings(at)  # shown as typed


def pick(at, entry: dict) -> None:
    """Use the cascading picker as a person would: corpus, then level, cell and model."""
    for attribute in ("corpus", "level", "cell", "name"):
        kind = at.radio if attribute in ("level", "cell") else at.selectbox
        widget = kind(key=f"picker_{attribute}")
        if widget.value != entry[attribute]:
            widget.set_value(entry[attribute])
            at.run()


def test_picker_switches_model_and_controls_survive_a_page_change():
    first, other = rnnlm.read_manifest()[0], rnnlm.read_manifest()[-1]
    at = app({"model": first["name"], "length": "20"})
    pick(at, other)
    assert at.query_params["model"] == other["name"]
    assert f"{other['parameters']:,} parameters" in at.sidebar.caption[0].value
    at.text_area(key=state.widget_key(state.PROMPT)).set_value("Kept across pages").run()
    at.switch_page("views/models/models.py").run()
    assert at.query_params == {"model": other["name"]}
    at.switch_page("views/generate/generate.py").run()
    assert at.query_params["prompt"] == "Kept across pages" and at.query_params["length"] == "20"
    assert coloured_texts(at) == [expected_text(shown_request(at))]


def test_model_made_in_the_session_can_be_picked_and_sampled(tmp_path):
    import shutil
    entry = rnnlm.read_manifest()[0]
    folder = tmp_path / "my-model"
    shutil.copytree(rnnlm.resolve(entry["name"]), folder)
    at = app({"length": "25", "model": entry["name"]})  # the picker offers models of the current kind
    at.session_state[state.SESSION_MODELS_KEY] = {"my-model": {**entry, "name": "my-model", "path": str(folder)}}
    at.run()
    at.selectbox(key="picker_name").set_value("my-model").run()
    assert at.query_params["model"] == "my-model" and not at.exception
    request = shown_request(at)
    lm = rnnlm.load_model(folder)
    assert coloured_texts(at) == [request.prompt + rnnlm.sample_text(lm, request.prompt, request.settings())]
    assert str(folder) in "\n".join(c.value for c in at.code)  # the CLI line names the folder


def test_a_stop_string_from_the_link_ends_the_text_and_travels_in_the_link_and_the_cli_line():
    at = app({"model": "shakespeare-char-lstm", "prompt": "ROMEO:", "length": "400", "stop": r"\n\n"})
    assert not at.exception and at.text_input(key=state.widget_key(state.STOP)).value == r"\n\n"
    request = shown_request(at)
    assert request.stop == r"\n\n" and request.settings().stop == ("\n\n",)
    (text,) = coloured_texts(at)
    assert text == expected_text(request) and text.endswith("\n\n") and text.count("\n\n") == 1
    assert "stop=%5Cn%5Cn" in at.code[0].value and at.code[1].value.endswith("--stop $'\\n\\n'")


def test_a_stopped_generation_is_kept_and_said_to_be_stopped():
    at = app({"model": "shakespeare-char-lstm", "length": "60"})
    kept = at.session_state["_results"]["generate"]
    del kept.steps[len(kept.prompt_steps) + 10:]  # as if Stop was clicked after ten tokens
    kept.finished = False
    at.run()
    assert "Stopped after 10 of 60 tokens" in at.info[0].value
    assert coloured_texts(at) == [kept.text]  # the ten tokens, not a new sample


def test_a_stop_string_too_long_in_the_link_falls_back_with_a_notice():
    at = app({"stop": "x" * 51})
    assert "stop is 51 characters long" in warnings(at) and "stop" not in at.query_params


def test_a_clamped_generation_shows_the_unclamped_one_beside_it_with_differences_outlined():
    query = {"model": "shakespeare-char-lstm", "prompt": "ROMEO:", "length": "120", "seed": "3",
             "clamp": "1:10=1, 2:5:c=-3"}
    at = app(query)
    assert not at.exception and not at.error
    request = shown_request(at)
    assert request.clamp == "1:10=1, 2:5:c=-3" and len(request.settings().clamps) == 2
    clamped, plain = coloured_texts(at)
    assert clamped == expected_text(request) and plain == expected_text(Request(**{**request.__dict__, "clamp": ""}))
    assert clamped != plain
    blocks = html_blocks(at, "rnnlm-tokens")
    assert all(block.count("diff fork") == 1 and block.count(" diff") > 1 for block in blocks)
    assert "where the runs part" in " ".join(c.value for c in at.caption)
    assert "clamp=" in at.code[0].value and "--clamp 1:10=1 --clamp 2:5:c=-3" in at.code[1].value


def test_the_add_button_writes_a_clamp_spec():
    at = app({"model": "shakespeare-char-lstm", "length": "20"})
    at.selectbox(key="gen_clamp_layer").set_value(2)
    at.number_input(key="gen_clamp_unit").set_value(17)
    at.radio(key="gen_clamp_quantity").set_value("c")
    at.slider(key="gen_clamp_value").set_value(0.5)
    at.button[[b.label for b in at.button].index("Add")].click().run()
    assert at.text_input(key=state.widget_key(state.CLAMP)).value == "2:17:c=0.5"
    assert at.query_params["clamp"] == "2:17:c=0.5" and len(coloured_texts(at)) == 2


def test_clamps_the_model_cannot_take_are_explained():
    at = app({"model": "shakespeare-char-gru", "clamp": "1:9999=1"})
    assert "units 0-511" in at.error[0].value
    bad = app({"clamp": "1:2"})
    assert "clamp: a clamp is written" in warnings(bad) and "clamp" not in bad.query_params


def test_branching_continues_from_an_alternative_and_can_go_back():
    at = app({"model": "shakespeare-char-lstm", "prompt": "ROMEO:", "length": "60", "seed": "4"})
    (before,) = coloured_texts(at)
    assert "new token #12" in html_blocks(at, "rnnlm-tokens")[0]  # the popup says which number to pick
    at.number_input(key="gen_branch_position").set_value(12).run()
    at.button[[b.label for b in at.button].index("Continue from this choice")].click().run()
    request = shown_request(at)
    (position, token_id), = rnnlm.branching.parse_forced(request.force)
    assert position == 11 and "--force 12:" in at.code[1].value
    (after,) = coloured_texts(at)
    assert after == expected_text(request) and after != before
    assert after[:len("ROMEO:") + 11] == before[:len("ROMEO:") + 11]  # the text before the branch is kept
    assert "diff fork" in html_blocks(at, "rnnlm-tokens")[0]  # the forced token is outlined
    at.button[[b.label for b in at.button].index("Back to the unbranched text")].click().run()
    assert coloured_texts(at) == [before] and "force" not in at.query_params
