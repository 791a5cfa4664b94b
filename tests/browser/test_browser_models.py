"""The Models page in a real browser: it opens on the table and the sidebar model's card; every
other model's card and learning curve is drawn when its expander is opened."""

import browser_util
from browser_util import wait_idle

browser, streamlit_server = browser_util.browser, browser_util.streamlit_server  # fixtures, used by name

CURVED = "c-char-gru"  # a shipped model with a learning curve (pretrained/c-char-gru/curve.json)
CURVE = '[data-testid="stVegaLiteChart"] svg.marks'  # a drawn Vega-Lite chart


def card_heading(page, name: str):
    return page.locator(f'[data-testid="stExpanderDetails"] h1:has-text("{name}")')


def test_models_opens_on_the_table_and_draws_a_card_when_its_expander_opens(streamlit_server, browser):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.goto(f"{streamlit_server.url}/models?model=shakespeare-char-lstm")
    page.wait_for_selector('[data-testid="stDataFrame"] canvas', timeout=90_000)
    card_heading(page, "shakespeare-char-lstm").wait_for(timeout=90_000)  # the sidebar model's card
    wait_idle(page)
    assert page.locator('[data-testid="stExpanderDetails"] h1').count() == 1  # no hidden cards
    assert page.locator(CURVE).count() == 0  # shakespeare-char-lstm has no curve.json
    page.locator('[data-testid="stExpander"] summary', has_text=f"{CURVED} ·").click()
    card_heading(page, CURVED).wait_for(timeout=90_000)
    page.wait_for_selector(CURVE, timeout=90_000)  # its learning curve
    wait_idle(page)
    page.locator(CURVE).screenshot(path="/tmp/rnnlm-models-curve.png")  # to look at
    assert page.locator('[data-testid="stException"], [data-testid="stAlertContentError"]').count() == 0
    assert card_heading(page, "shakespeare-char-lstm").is_visible()  # the first card stayed open
    context.close()
