"""The playground in a real browser: Playwright driving Debian's Chromium against `streamlit run`."""

import json
import re
import urllib.request
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from browser_util import browser, open_app, share_link, shown_text, streamlit_server, wait_for_new_text, wait_idle  # noqa: F401  (pytest fixtures, used by name)

import rnnlm

INJECTION = '<img src=x onerror="window.__pwned=1;alert(1)"></div><script>window.__pwned=2;alert(2)</script>'
WATCH_STREAM = """() => { window.__streamed = 0;
  new MutationObserver(() => { const s = document.querySelector('.rnnlm-stream');
    if (s && s.textContent.length > 0) window.__streamed += 1; })
  .observe(document.body, {subtree: true, childList: true, characterData: true}); }"""


def popup(token) -> str:
    """The alternatives popup as drawn: CSS content of the token's ::after ("none" when closed)."""
    return token.evaluate("t => getComputedStyle(t, '::after').content")


def small_model() -> str:
    """The smallest shipped model: the browser tests are about the page, not the model."""
    return min(rnnlm.read_manifest(), key=lambda entry: entry["parameters"])["name"]


def expected_text(query: dict) -> str:
    settings = rnnlm.SamplingSettings(temperature=float(query["temperature"]), top_k=int(query["top_k"]),
                                      top_p=float(query["top_p"]), max_new_tokens=int(query["length"]),
                                      seed=int(query["seed"]))
    return query["prompt"] + rnnlm.sample_text(rnnlm.load(query["model"]), query["prompt"], settings)


def test_health_endpoint_answers(streamlit_server):
    with urllib.request.urlopen(f"{streamlit_server.url}/_stcore/health", timeout=10) as response:
        assert response.status == 200 and response.read().strip() == b"ok"


def test_generate_streams_then_shows_coloured_tokens_with_hover_alternatives(streamlit_server, browser):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = open_app(context, f"{streamlit_server.url}/?{urlencode({'model': small_model(), 'length': 1500})}")
    tokens = page.locator(".rnnlm-tokens .rnnlm-tok")
    assert tokens.count() > 1500  # prompt tokens too
    colours = {tokens.nth(i).evaluate("t => getComputedStyle(t).backgroundColor") for i in range(0, 200, 7)}
    assert len(colours) >= 2 and "rgba(0, 0, 0, 0)" not in colours
    assert page.locator(".rnnlm-legend").is_visible()

    token = tokens.nth(12)
    assert popup(token) == "none"
    token.hover()
    assert "%" in popup(token) and "top guesses" in popup(token)
    assert token.evaluate("t => getComputedStyle(t, '::after').display") != "none"
    page.mouse.move(0, 0)
    assert popup(token) == "none"
    tokens.nth(30).click()  # click (focus) keeps the alternatives open without hovering
    page.mouse.move(0, 0)
    assert "%" in popup(tokens.nth(30))

    before = shown_text(page)
    page.evaluate(WATCH_STREAM)
    page.get_by_role("button", name="Generate", exact=True).click()
    page.wait_for_function("window.__streamed > 0", timeout=30_000)
    page.wait_for_selector(".rnnlm-tokens", timeout=60_000)
    wait_idle(page)
    assert shown_text(page) == before  # same settings and seed: the same text
    context.close()


def test_stop_keeps_the_text_so_far(streamlit_server, browser):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    # The largest shipped model: 2,000 of its tokens take long enough to stop midway even on a quiet machine.
    model = max(rnnlm.read_manifest(), key=lambda entry: entry["parameters"])["name"]
    # A short first text, so the page and its widgets are all drawn before the long one starts.
    page = open_app(context, f"{streamlit_server.url}/?{urlencode({'model': model, 'length': 5, 'seed': 7})}")
    length = page.get_by_label("Length (new tokens)")
    length.fill("2000")
    length.press("Enter")
    stop = page.get_by_role("button", name="Stop here")
    stop.wait_for(timeout=60_000)
    page.wait_for_function("() => (document.querySelector('.rnnlm-stream') || {textContent: ''}).textContent.length > 40",
                           timeout=60_000)
    stop.click(force=True)  # Streamlit dims the page's elements while it runs
    page.wait_for_selector(".rnnlm-tokens", timeout=60_000)
    wait_idle(page)
    match = re.search(r"Stopped after ([\d,]+) of 2,000 tokens", page.locator("body").inner_text())
    assert match and 0 < int(match.group(1).replace(",", "")) < 2000
    count = int(match.group(1).replace(",", ""))
    assert page.locator(".rnnlm-tokens .rnnlm-tok:not(.from-prompt)").count() == count
    query = {key: values[-1] for key, values in parse_qs(urlsplit(page.url).query).items()}
    assert query["length"] == "2000"
    assert shown_text(page) == expected_text({**query, "length": count})  # the first tokens of the same sample
    context.close()


def test_share_link_in_a_fresh_browser_gives_the_same_text(streamlit_server, browser):
    first = browser.new_context()
    page = open_app(first, f"{streamlit_server.url}/?model={small_model()}&length=80&temperature=0.9")
    before = shown_text(page)
    page.get_by_role("button", name="New sample").click()  # a random seed, set through the UI
    wait_for_new_text(page, before)
    link, text = share_link(page), shown_text(page)
    assert link.startswith(streamlit_server.url) and "seed=" in link
    # The downloads are made when clicked: after a rerun they hold that run's text, never a stale file.
    with page.expect_download() as download:
        page.get_by_role("button", name="Text").click()
    assert download.value.path().read_text(encoding="utf-8") == text
    with page.expect_download() as download:
        page.get_by_role("button", name="Tokens (JSON)").click()
    tokens = json.loads(download.value.path().read_text(encoding="utf-8"))
    assert "".join(t["token"] for t in tokens["tokens"]) == text
    first.close()

    fresh = browser.new_context()
    again = open_app(fresh, link)
    assert shown_text(again) == text
    query = {key: values[0] for key, values in parse_qs(urlsplit(link).query, keep_blank_values=True).items()}
    assert text == expected_text(query)
    fresh.close()


def test_injection_prompt_is_shown_as_text_and_runs_nothing(streamlit_server, browser):
    context = browser.new_context()
    dialogs = []
    context.on("page", lambda p: p.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss())))
    page = open_app(context, f"{streamlit_server.url}/?{urlencode({'prompt': INJECTION, 'length': 20})}")
    assert shown_text(page).startswith(INJECTION)
    assert page.locator(".rnnlm-out img, .rnnlm-out script").count() == 0

    box = page.get_by_label("Prompt")
    box.fill("</div><script>alert(3)</script><b onmouseover=alert(4)>x</b>")
    box.press("Control+Enter")
    page.wait_for_function("() => document.querySelector('.rnnlm-tokens')?.innerText.startsWith('</div><script>')",
                           timeout=60_000)
    wait_idle(page)
    page.locator(".rnnlm-tokens").hover()
    page.wait_for_timeout(500)  # give any injected handler a chance to fire
    assert page.locator(".rnnlm-out [onmouseover], .rnnlm-out script, .rnnlm-out img").count() == 0
    assert page.evaluate("window.__pwned") is None
    assert dialogs == []
    context.close()


@pytest.mark.parametrize("path, title", [
    ("generate", "Generate"), ("generate/", "Generate"), ("score", "Score"), ("models/", "Models"),
    ("inspect?model=smoke-char-lstm", "Inspect"), ("compare/?length=20", "Compare"), ("", "Generate"),
    ("learn", "Learn"),
])
def test_every_page_opens_at_its_own_path(streamlit_server, browser, path, title):
    context = browser.new_context()
    page = context.new_page()
    page.goto(f"{streamlit_server.url}/{path}")
    page.wait_for_selector("h1", timeout=90_000)
    assert page.locator("h1").first.inner_text().strip() == title
    assert "Page not found" not in page.locator("body").inner_text()
    if "?" in path:  # the link's parameters reach the page
        key, value = path.split("?")[1].split("=")
        page.wait_for_function(f"() => window.location.search.includes('{key}={value}')", timeout=30_000)
    context.close()
