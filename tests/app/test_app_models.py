"""AppTest of the Models page: the manifest as a table, each model's card, and choosing a model."""

from app_util import APP, TIMEOUT, app
from streamlit.testing.v1 import AppTest

import rnnlm


def cards_shown(at) -> str:
    return "\n".join(md.value for md in at.markdown)


def open_cards(at, names) -> None:
    """Open these models' expanders, as a click on each would (a closed one draws nothing)."""
    for name in names:
        at.session_state[f"card-{name}"] = True
    at.run()


def test_table_lists_every_model_and_cards_are_shown():
    at = app(page="views/models/models.py")
    assert not at.exception
    manifest = rnnlm.read_manifest()
    table = at.dataframe[0].value
    assert list(table["model"]) == [e["name"] for e in manifest]
    assert list(table["val nats/char"]) == [round(e["val_nats_per_char"], 4) for e in manifest]
    # the adapted figure beside xz on the same first characters, so the two compare like for like
    for column, key in (("adapted, first 100k", "adapt_nats_per_char"), ("xz, first 100k", "xz_adapt_nats_per_char")):
        assert [None if value != value else value for value in table[column]] == [e.get(key) for e in manifest]
    assert len(at.expander) == len(manifest)
    current = at.selectbox(key="picker_name").value
    shown = [e["name"] for e in manifest if f"# {e['name']}" in cards_shown(at)]
    assert shown == [current]  # the others' expanders are closed and draw nothing: the page opens fast
    open_cards(at, [e["name"] for e in manifest])
    for entry in manifest:  # an open expander draws its card, which starts with its model's name
        assert f"# {entry['name']}" in cards_shown(at)


def test_unknown_model_in_the_link_shows_a_notice():
    at = app({"model": "../../etc"}, page="views/models/models.py")
    assert not at.exception and "model" in at.warning[0].value
    assert at.query_params["model"] in [e["name"] for e in rnnlm.read_manifest()]


def test_use_this_model_switches_the_sidebar_model():
    manifest = rnnlm.read_manifest()
    at = app({"model": manifest[0]["name"]}, page="views/models/models.py")
    target = manifest[-1]["name"]
    open_cards(at, [target])
    at.button(key=f"use-{target}").click().run()
    assert at.query_params == {"model": target}
    assert at.selectbox(key="picker_name").value == target
    assert at.button(key=f"use-{target}").disabled


def test_uploaded_card_is_shown_verbatim_not_rendered(tmp_path):
    """A session model's card came from a user's zip: its markdown must not load images or links."""
    import shutil

    from playground import state
    from rnnlm.zoo import PRETRAINED_DIR

    entry = dict(rnnlm.read_manifest()[0])
    folder = tmp_path / "mine"
    shutil.copytree(PRETRAINED_DIR / entry["name"], folder)
    hostile = "# mine\n![beacon](http://127.0.0.1:9/x.png) [click](javascript:alert(1))\n"
    (folder / "card.md").write_text(hostile, encoding="utf-8")
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.session_state[state.SESSION_MODELS_KEY] = {"mine": {**entry, "name": "mine", "path": str(folder)}}
    at.run()
    at.switch_page("views/models/models.py").run()
    open_cards(at, ["mine"])
    assert not at.exception
    assert any(t.value.strip() == hostile.strip() for t in at.text)
    assert not any("beacon" in md.value for md in at.markdown)


def test_a_model_with_a_learning_curve_shows_it_beside_xz(tmp_path):
    import json
    import shutil

    from playground import state
    from playground.views.models import curve
    from rnnlm.zoo import PRETRAINED_DIR
    from train.curve import curve_points

    records = [{"kind": "step", "step": 1, "loss": 4.0},
               {"kind": "eval", "step": 100, "elapsed_seconds": 60.0, "val_loss": 2.5},
               {"kind": "eval", "step": 200, "elapsed_seconds": 120.0, "val_loss": 2.1}]
    points = curve_points(records, tokens_per_step=16 * 64, chars_per_token=1.0)
    assert points == [{"step": 100, "chars_seen": 102400, "minutes": 1.0, "val_nats_per_char": 2.5},
                      {"step": 200, "chars_seen": 204800, "minutes": 2.0, "val_nats_per_char": 2.1}]
    entry = dict(rnnlm.read_manifest()[0], xz_nats_per_char=2.3)
    folder = tmp_path / "curved"
    shutil.copytree(PRETRAINED_DIR / entry["name"], folder)
    (folder / "curve.json").write_text(json.dumps({"points": points}), encoding="utf-8")
    assert curve.read_points(folder) == points and curve.read_points(tmp_path) == []  # none: nothing drawn
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.session_state[state.SESSION_MODELS_KEY] = {"curved": {**entry, "name": "curved", "path": str(folder)}}
    at.query_params.update({"model": "curved"})
    at.run()
    at.switch_page("views/models/models.py").run()
    assert not at.exception
    def curved_spec():  # every model with a curve has a chart; this test's model is the one with these points
        specs = [json.loads(chart.proto.spec) for chart in at.get("vega_lite_chart")]
        return next(s for s in specs if [v["y"] for v in s["layer"][0]["data"]["values"]] == [2.5, 2.1])

    spec = curved_spec()
    assert [v["x"] for v in spec["layer"][0]["data"]["values"]] == [102400, 204800]
    labels = [layer["data"]["values"][0]["label"] for layer in spec["layer"][1:]]
    assert any("xz -9e: 2.300" in label for label in labels) and any("published" in label for label in labels)
    at.radio(key="curve-x-curved").set_value("minutes").run()
    assert [v["x"] for v in curved_spec()["layer"][0]["data"]["values"]] == [1.0, 2.0]


def test_every_model_can_be_downloaded_as_the_zip_the_fine_tune_page_imports(tmp_path):
    from rnnlm.service.model_zip import import_model_zip, model_zip_bytes
    from rnnlm.zoo import PRETRAINED_DIR

    at = app(page="views/models/models.py")
    manifest = rnnlm.read_manifest()
    open_cards(at, [e["name"] for e in manifest])
    buttons = at.get("download_button")
    assert len(buttons) == len(manifest)
    smallest = min(manifest, key=lambda e: e["parameters"])["name"]
    lm = import_model_zip(model_zip_bytes(PRETRAINED_DIR / smallest), tmp_path / "back")
    assert lm.parameter_count() == min(e["parameters"] for e in manifest)
