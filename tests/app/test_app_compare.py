"""AppTest of the Compare page: one prompt and seed through several models, side by side."""

import math

from app_util import app, coloured_texts, manifest_names, warnings

import rnnlm
from playground import state

SETTINGS = {"prompt": "First Citizen:", "temperature": "0.7", "top_k": "0", "top_p": "0.95", "seed": "9",
            "length": "35"}


def expected(model: str, query: dict) -> str:
    settings = rnnlm.SamplingSettings(temperature=float(query["temperature"]), top_k=int(query["top_k"]),
                                      top_p=float(query["top_p"]), max_new_tokens=int(query["length"]),
                                      seed=int(query["seed"]))
    return query["prompt"] + rnnlm.sample_text(rnnlm.load(model), query["prompt"], settings)


def test_defaults_render_two_models_side_by_side():
    at = app(page="views/compare/compare.py")
    assert not at.exception
    models = at.query_params["models"]
    assert len(models) == 2 and len(set(models)) == 2 and set(models) <= set(manifest_names())
    texts = coloured_texts(at)
    assert texts == [expected(m, at.query_params) for m in models]
    assert len(at.dataframe) == 1 and "models=" in at.code[-1].value


def test_share_parameters_reproduce_each_models_text_and_prompt_loss():
    models = manifest_names()[:4]
    query = {"models": models, **SETTINGS}
    at = app(query, page="views/compare/compare.py")
    assert not at.exception and not warnings(at)
    assert at.query_params == query
    assert coloured_texts(at) == [expected(m, query) for m in models]
    # the prompt's loss agrees with the probabilities Generate shows for the prompt's tokens
    prompt, settings = query["prompt"], rnnlm.SamplingSettings(max_new_tokens=1)
    losses = [-sum(math.log(s.model_prob) for s in rnnlm.generate(rnnlm.load(m), prompt, settings) if s.from_prompt)
              / len(prompt) for m in models]
    shown = [md.value for md in at.markdown if md.value.startswith("Prompt:")]
    assert shown == [f"Prompt: **{loss:.3f} nats/char**" for loss in losses]


def test_changing_the_line_up_and_settings_samples_again():
    at = app({"length": "20"}, page="views/compare/compare.py")
    pick = at.multiselect(key=state.widget_key(state.MODELS))
    pick.set_value(list(reversed(at.query_params["models"]))).run()
    at.slider(key=state.widget_key(state.TEMPERATURE)).set_value(1.3).run()
    assert at.query_params["temperature"] == "1.3"
    assert coloured_texts(at) == [expected(m, at.query_params) for m in at.query_params["models"]]
    at.multiselect(key=state.widget_key(state.MODELS)).set_value(at.query_params["models"][:1]).run()
    assert not at.exception and "at least two" in at.info[0].value


def test_malformed_model_list_shows_a_notice():
    at = app({"models": ["no-such-model", manifest_names()[0]], **SETTINGS}, page="views/compare/compare.py")
    assert not at.exception and "models" in warnings(at)
    assert len(coloured_texts(at)) == 2


def test_a_temperature_sweep_shows_one_model_at_each_temperature_with_its_figures():
    at = app({"model": "shakespeare-char-lstm", "prompt": "ROMEO:", "length": "80", "seed": "5"},
             page="views/compare/compare.py")
    at.segmented_control(key="cmp_vary").set_value("temperature").run()
    assert not at.exception and not at.error
    texts = coloured_texts(at)
    assert len(texts) == 4
    lm = rnnlm.load("shakespeare-char-lstm")
    for temperature, text in zip([0.2, 0.5, 0.8, 1.2], texts):
        settings = rnnlm.SamplingSettings(temperature=temperature, seed=5, max_new_tokens=80)
        assert text == "ROMEO:" + rnnlm.sample_text(lm, "ROMEO:", settings)
    assert [c.value.split("--temperature ")[1].split()[0] for c in at.code[:4]] == ["0.2", "0.5", "0.8", "1.2"]
    table = at.dataframe[0].value
    assert list(table["temperature"]) == [0.2, 0.5, 0.8, 1.2] and at.query_params["temps"] == "0.2,0.5,0.8,1.2"
    link = at.code[-1].value
    assert "temps=0.2%2C0.5%2C0.8%2C1.2" in link and "model=shakespeare-char-lstm" in link
    p = table["mean model p(chosen)"]
    assert p.iloc[0] > p.iloc[-1]  # a cold sample picks likelier tokens


def test_a_sweep_link_opens_the_sweep_and_gives_the_same_texts():
    query = {"model": "shakespeare-char-lstm", "prompt": "ROMEO:", "length": "40", "seed": "6", "temps": "1.2,0.5"}
    at = app(query, page="views/compare/compare.py")
    assert not at.exception and at.segmented_control(key="cmp_vary").value == "temperature"
    lm = rnnlm.load("shakespeare-char-lstm")
    expected_texts = ["ROMEO:" + rnnlm.sample_text(lm, "ROMEO:", rnnlm.SamplingSettings(temperature=t, seed=6,
                                                                                         max_new_tokens=40))
                      for t in (0.5, 1.2)]
    assert coloured_texts(at) == expected_texts and at.query_params["temps"] == "0.5,1.2"
    at.segmented_control(key="cmp_vary").set_value("models").run()
    assert "temps" not in at.query_params and len(coloured_texts(at)) >= 2
    bad = app({"temps": "0.5,9"}, page="views/compare/compare.py")
    assert "temps must be 1 to 4 temperatures" in warnings(bad)
