"""Steering in a real browser: one branch and one clamp, each reproducible from its share link."""

from urllib.parse import parse_qs, urlencode, urlsplit

from browser_util import browser, open_app, share_link, shown_text, streamlit_server, wait_idle  # noqa: F401  (pytest fixtures, used by name)

import rnnlm
from rnnlm.branching import parse_forced
from rnnlm.clamp import parse_clamps

MODEL = "shakespeare-char-lstm"


def expected(query: dict) -> str:
    settings = rnnlm.SamplingSettings(temperature=float(query["temperature"]), top_k=int(query["top_k"]),
                                      top_p=float(query["top_p"]), max_new_tokens=int(query["length"]),
                                      seed=int(query["seed"]), clamps=parse_clamps(query.get("clamp", "")),
                                      forced=parse_forced(query.get("force", "")))
    return query["prompt"] + rnnlm.sample_text(rnnlm.load(query["model"]), query["prompt"], settings)


def query_of(url: str) -> dict:
    return {key: values[-1] for key, values in parse_qs(urlsplit(url).query).items()}


def test_a_branch_then_a_clamp_each_reproduce_from_their_links(streamlit_server, browser):
    context = browser.new_context(viewport={"width": 1400, "height": 1200})
    page = open_app(context, f"{streamlit_server.url}/?{urlencode({'model': MODEL, 'length': 80, 'seed': 9})}")
    before = shown_text(page)
    page.get_by_text("Branch: pick another token and continue from it").click()
    position = page.get_by_role("spinbutton", name="New token #")
    position.fill("10")
    position.press("Enter")
    wait_idle(page)
    page.get_by_role("button", name="Continue from this choice").click()
    page.wait_for_function("() => window.location.search.includes('force=')", timeout=60_000)
    wait_idle(page, 90_000)
    branched = shown_text(page)
    query = query_of(page.url)
    assert branched == expected(query) and branched != before
    assert branched[:len(query["prompt"]) + 9] == before[:len(query["prompt"]) + 9]

    page.get_by_text("Clamp units: hold a unit").click()
    clamps = page.get_by_role("textbox", name="Clamps")
    clamps.fill("1:3=0.9")
    clamps.press("Enter")
    page.wait_for_function("() => window.location.search.includes('clamp=')", timeout=60_000)
    wait_idle(page, 90_000)
    assert page.locator(".rnnlm-tokens").count() == 2  # clamped and not clamped, side by side
    link = share_link(page)
    fresh = browser.new_context(viewport={"width": 1400, "height": 1200})
    again = open_app(fresh, link)
    query = query_of(link)
    assert query["clamp"] == "1:3=0.9" and "force" in query
    texts = [block.evaluate("e => [...e.querySelectorAll('.rnnlm-tok')].map(t => t.textContent).join('')")
             for block in again.locator(".rnnlm-tokens").all()]
    assert texts[0] == expected(query)
    fresh.close()
    context.close()
