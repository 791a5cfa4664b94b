"""Shared models across real server processes: two `streamlit run` servers on one machine share one
RNNLM_STORE, as replicas behind a load balancer share a volume (docs/DEPLOY.md). A model stored by
one opens from a link on the other with the same text; and a model fine-tuned and published in
one browser context opens from its link in a fresh context on the other server.
"""

import os
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from browser_util import browser, open_app, ready_to_fine_tune, shown_text, start_server, wait_idle  # noqa: F401  (browser: a fixture)

import rnnlm
from rnnlm.service.model_store import ModelStore
from rnnlm.service.store_meta import ID_PATTERN, PublishFacts

pytestmark = pytest.mark.slow
BASE = "smoke-char-lstm"  # the smallest shipped char model (tests/models)
CORPUS = "".join(f"int count_{i % 7}(void) {{ return {i % 7}; }}\n" for i in range(400))


@pytest.fixture(scope="module")
def store_root(tmp_path_factory):
    return tmp_path_factory.mktemp("shared-store")


@pytest.fixture(scope="module")
def two_servers(store_root):
    """Two server processes (their own ports and session folders) with one model store."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("RNNLM_STORE", str(store_root))  # start_server passes os.environ to the server
        with start_server() as first, start_server() as second:
            yield first, second


def expected_text(store_root, link: str) -> str:
    """What the link's model writes for the link's settings, computed here from the stored files."""
    query = {key: values[-1] for key, values in parse_qs(urlsplit(link).query).items()}
    lm = ModelStore(store_root).open(query["model"]).lm
    settings = rnnlm.SamplingSettings(temperature=float(query["temperature"]), top_k=int(query["top_k"]),
                                      top_p=float(query["top_p"]), max_new_tokens=int(query["length"]),
                                      seed=int(query["seed"]))
    return query["prompt"] + rnnlm.sample_text(lm, query["prompt"], settings)


def on_server(link: str, server) -> str:
    """The same link on another server: only the address differs."""
    parts = urlsplit(link)
    return f"{server.url}{parts.path}?{parts.query}"


def test_a_model_stored_by_one_process_opens_from_a_link_on_another(two_servers, store_root, browser):
    first, second = two_servers
    model_id = ModelStore(store_root).publish(rnnlm.resolve(BASE), PublishFacts(base=BASE, text_chars=1000), "test")
    query = {"model": model_id, "prompt": "ROMEO:", "temperature": "0.8", "top_k": "0", "top_p": "1.0", "seed": "5",
             "length": "60"}
    link = f"{first.url}/?{urlencode(query)}"
    texts = []
    for server in (first, second):
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        page = open_app(context, on_server(link, server))
        assert f"Sampling from {model_id} (" in page.get_by_text("Sampling from").inner_text()
        assert not page.locator('[data-testid="stAlert"]').count()  # no "cannot be opened" notice
        texts.append(shown_text(page))
        context.close()
    assert texts[0] == texts[1] == expected_text(store_root, link)


def test_a_fine_tuned_model_published_in_one_context_opens_in_a_fresh_one_with_the_same_text(
        two_servers, store_root, browser, tmp_path):
    first, second = two_servers
    corpus_file = tmp_path / "code.c"
    corpus_file.write_text(CORPUS)
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    ready_to_fine_tune(page, f"{first.url}/finetune?{urlencode({'model': BASE, 'length': 60, 'seed': 9})}", corpus_file)
    page.get_by_role("button", name="Start training").click()
    page.get_by_text("is in the model picker").wait_for(timeout=120_000)
    wait_idle(page)

    page.get_by_role("button", name="Publish a link").click()
    code = page.locator("code").filter(has_text="?model=u-").first
    code.wait_for(timeout=60_000)
    link = code.inner_text().strip()
    assert link.startswith(f"{first.url}/?model=u-")  # the app's root: Generate, whatever page published it
    model_id = parse_qs(urlsplit(link).query)["model"][0]
    assert ID_PATTERN.fullmatch(model_id)
    page.get_by_text("It expires").wait_for()
    expected = expected_text(store_root, link)
    assert expected.startswith("ROMEO:") and len(expected) > len("ROMEO:")
    context.close()

    fresh = browser.new_context(viewport={"width": 1400, "height": 1000})  # another visitor, another process
    page = open_app(fresh, on_server(link, second))
    assert shown_text(page) == expected
    assert f"Sampling from {model_id} (" in page.get_by_text("Sampling from").inner_text()
    fresh.close()
    assert model_id in os.listdir(store_root / "models")
