"""AppTest of shared models: a link's ?model=u-<id> opens the store's model in a new session (the
same text as the model gives anywhere), a bad or unknown id falls back with a notice, the Models
page shows the stored card, and Fine-tune's "Publish a link" gives a link another session opens.

Every test points RNNLM_STORE at its own folder; the playground reads it on every use.
"""

from urllib.parse import parse_qs, urlsplit

import pytest
from app_util import APP, TIMEOUT, app, coloured_texts, poll_until, warnings
from streamlit.testing.v1 import AppTest

import rnnlm
from playground import jobs_resource, state
from playground.views.finetune import keys as finetune_keys
from rnnlm.sampling import SamplingSettings, sample_text
from rnnlm.service.model_store import ModelStore
from rnnlm.service.store_meta import ID_PATTERN, PublishFacts

BASE = "smoke-char-lstm"  # the smallest shipped char model (tests/models)
LINK = {"prompt": "ROMEO:", "temperature": "0.8", "top_k": "0", "top_p": "1.0", "seed": "3", "length": "40"}
EXPECTED_SETTINGS = SamplingSettings(temperature=0.8, top_k=0, top_p=1.0, max_new_tokens=40, seed=3)


@pytest.fixture
def store(tmp_path, monkeypatch) -> ModelStore:
    monkeypatch.setenv("RNNLM_STORE", str(tmp_path / "store"))
    return ModelStore(tmp_path / "store")


@pytest.fixture
def stored_id(store) -> str:
    facts = PublishFacts(base="shakespeare-char-lstm", text_chars=16_000, nats_before=2.4, nats_after=1.9)
    return store.publish(rnnlm.resolve(BASE), facts, "publisher")


def test_a_link_to_a_stored_model_opens_it_selected_with_the_same_text(store, stored_id):
    at = app({"model": stored_id, **LINK})
    assert not at.exception and not at.warning, warnings(at)
    assert at.session_state[state.MODEL] == stored_id and at.query_params["model"] == stored_id
    assert at.selectbox(key="picker_name").value == stored_id
    assert at.selectbox(key="picker_name").options == [f"{stored_id} · shared link"]  # not "this session"
    assert at.selectbox(key="picker_corpus").value == "shared"
    original = rnnlm.load(BASE)  # the same weights, shipped: the stored copy must write the same text
    assert coloured_texts(at) == ["ROMEO:" + sample_text(original, "ROMEO:", EXPECTED_SETTINGS)]
    captions = "\n".join(c.value for c in at.caption)
    assert "exists only in this browser session" not in captions  # a shared model's link works anywhere


def test_an_unknown_or_incomplete_id_falls_back_to_a_shipped_model_with_a_notice(store):
    missing = "u-" + "0" * 32
    at = app({"model": missing, **LINK})
    assert not at.exception
    assert f"No shared model {missing} is on this server" in warnings(at) and "Using a shipped model" in warnings(at)
    assert at.query_params["model"] in [e["name"] for e in rnnlm.read_manifest()]
    assert at.query_params["prompt"] == "ROMEO:" and at.query_params["seed"] == "3"  # the rest of the link holds
    at = app({"model": "u-0123abc", **LINK})
    assert "not a complete shared-model id" in warnings(at) and not at.exception


def test_compare_opens_stored_models_named_in_models(store, stored_id):
    at = app({"models": f"{stored_id},{BASE}", **LINK}, page="views/compare/compare.py")
    assert not at.exception and not at.warning, warnings(at)
    assert at.session_state[state.MODELS] == [stored_id, BASE]


def test_the_models_page_shows_the_stored_card_with_its_expiry(store, stored_id):
    at = app({"model": stored_id}, page="views/models/models.py")
    assert not at.exception
    table = at.dataframe[0].value
    assert table.loc[table["model"] == stored_id, "source"].tolist() == ["shared link"]
    card = next(md.value for md in at.markdown if md.value.startswith(f"**{stored_id}**"))
    assert "fine-tuned from `shakespeare-char-lstm` on 16,000 characters" in card
    assert "2.400 → 1.900 nats/char" in card and "Expires " in card and "30 days after it was last opened" in card
    assert any(f"?model={stored_id}" in code.value for code in at.code)


def test_publishing_the_picked_session_model_on_the_models_page_moves_the_pick_to_its_link(store, tmp_path):
    import shutil

    entry = dict(next(e for e in rnnlm.read_manifest() if e["name"] == BASE), name="mine", corpus="uploaded_text")
    folder = shutil.copytree(rnnlm.resolve(BASE), tmp_path / "mine")
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.session_state[state.SESSION_MODELS_KEY] = {"mine": {**entry, "path": str(folder)}}
    at.query_params.update({"model": "mine"})
    at.run()
    at.switch_page("views/models/models.py").run()
    at.button(key="publish-mine").click().run()
    assert not at.exception and not at.error
    (model_id,) = store.ids()
    assert at.session_state[state.MODEL] == model_id and at.query_params["model"] == model_id
    assert at.button(key="publish-mine").disabled
    assert any(f"?model={model_id}" in code.value for code in at.code)
    card = store.card(model_id)  # from what training recorded: no base, its held-out figure
    assert "a shared model, trained from scratch." in card and "Held-out loss 2.179 nats/char after training" in card


# --- publishing from the Fine-tune page -------------------------------------------------

CORPUS = "".join(f"int count_{i % 7}(void) {{ return {i % 7}; }}\n" for i in range(400))


def link_query(link: str) -> dict:
    return {key: values[-1] for key, values in parse_qs(urlsplit(link).query).items()}


def test_publish_a_link_on_fine_tune_gives_a_link_another_session_opens_with_the_same_text(store):
    at = app({"model": BASE, **LINK}, page="views/finetune/finetune.py")
    try:
        at.file_uploader(key=finetune_keys.FT_UPLOADER).set_value([("code.c", CORPUS.encode(), "text/plain")]).run()
        at.radio(key=state.widget_key(finetune_keys.FT_BUDGET)).set_value("steps").run()
        at.number_input(key=state.widget_key(finetune_keys.FT_STEPS)).set_value(10).run()
        at.button(key="ft_start_button").click().run()
        poll_until(at, lambda page: any(s.value.startswith("Result:") for s in page.subheader) and page.success)
        at.button(key="ft_publish").click().run()
        assert not at.exception and not at.error
        link = next(code.value for code in at.code if "?model=u-" in code.value)
        query = link_query(link)
        model_id = query["model"]
        assert ID_PATTERN.fullmatch(model_id) and store.ids() == [model_id]
        assert {key: query[key] for key in LINK} == LINK  # the session's sampling controls
        assert "It expires " in "\n".join(c.value for c in at.caption)
        assert at.button(key="ft_publish").disabled
        assert model_id in [e["name"] for e in at.session_state[state.SESSION_MODELS_KEY].values()]
        card = store.card(model_id)
        assert f"fine-tuned from `{BASE}` on {len(CORPUS):,} characters" in card and " → " in card

        theirs = app(query)  # a fresh session, as anyone opening the link: the model's own text
        assert not theirs.exception and not theirs.warning, warnings(theirs)
        assert theirs.selectbox(key="picker_name").value == model_id
        tuned = rnnlm.load_model(jobs_resource.job_manager().snapshot(
            at.session_state[jobs_resource._FT_JOB]["id"]).result.model_dir)
        assert coloured_texts(theirs) == ["ROMEO:" + sample_text(tuned, "ROMEO:", EXPECTED_SETTINGS)]

        at.button(key="ft_use").click().run()  # the publisher's own Generate, on the fine-tuned model
        mine = coloured_texts(at)
        same = app({**{key: at.query_params[key] for key in at.query_params}, "model": model_id})
        assert coloured_texts(same) == mine and len(mine) == 1
    finally:
        assert jobs_resource.job_manager().end_session(at.session_state[state._SESSION_ID], timeout=60)
