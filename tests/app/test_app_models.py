"""AppTest of the Models page: the manifest as a table, each model's card, and choosing a model."""

from app_util import APP, TIMEOUT, app
from streamlit.testing.v1 import AppTest

import rnnlm


def test_table_lists_every_model_and_cards_are_shown():
    at = app(page="pages/models/models.py")
    assert not at.exception
    manifest = rnnlm.read_manifest()
    table = at.dataframe[0].value
    assert list(table["model"]) == [e["name"] for e in manifest]
    assert list(table["val nats/char"]) == [round(e["val_nats_per_char"], 4) for e in manifest]
    assert len(at.expander) == len(manifest)
    cards = "\n".join(md.value for md in at.markdown)
    for entry in manifest:
        assert f"# {entry['name']}" in cards  # each card starts with its model's name


def test_unknown_model_in_the_link_shows_a_notice():
    at = app({"model": "../../etc"}, page="pages/models/models.py")
    assert not at.exception and "model" in at.warning[0].value
    assert at.query_params["model"] in [e["name"] for e in rnnlm.read_manifest()]


def test_use_this_model_switches_the_sidebar_model():
    manifest = rnnlm.read_manifest()
    at = app({"model": manifest[0]["name"]}, page="pages/models/models.py")
    target = manifest[-1]["name"]
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
    at.switch_page("pages/models/models.py").run()
    assert not at.exception
    assert any(t.value.strip() == hostile.strip() for t in at.text)
    assert not any("beacon" in md.value for md in at.markdown)
