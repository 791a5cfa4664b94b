"""The Learn page in a real browser: the equations typeset, the charts drawn, the live experiment run."""

import browser_util
from browser_util import wait_idle

browser, streamlit_server = browser_util.browser, browser_util.streamlit_server  # fixtures, used by name

STEP_TABLE = '[data-testid="stTable"] table >> nth=2'  # inputs, weights, steps
CHART = '[data-testid="stVegaLiteChart"] svg.marks'


def open_learn(browser, url: str, drawn: str):
    """A fresh context at /learn, once `drawn` is on the page and the run is over."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.goto(f"{url}/learn")
    page.wait_for_selector(drawn, timeout=90_000)
    wait_idle(page)
    return context, page


def test_learn_opens_on_the_hand_set_lstm_and_runs_the_clipping_experiment(streamlit_server, browser):
    context, page = open_learn(browser, streamlit_server.url, STEP_TABLE)
    assert page.locator(".katex").count() >= 2  # the equations are typeset, not shown as TeX source
    assert "x2 = 1 writes" in page.locator("body").inner_text()
    assert page.locator(CHART).count() == 0  # the charts wait for their expander: the page opens fast
    page.get_by_text("The steps as charts", exact=False).click()
    page.wait_for_selector(f"{CHART} >> nth=1", timeout=90_000)  # memory and output, then the gates
    wait_idle(page)
    page.get_by_text("Edit the inputs and weights").click()
    page.wait_for_selector('[data-testid="stDataFrame"] canvas >> nth=3', timeout=90_000)  # two grids
    wait_idle(page)
    page.get_by_text("Exploding gradients", exact=True).click()
    page.get_by_role("button", name="Train both").click()
    page.wait_for_selector('[data-testid="stMetric"]', timeout=120_000)
    wait_idle(page)
    metrics = page.locator('[data-testid="stMetricValue"]').all_inner_texts()
    plain, clipped = (float(text.split()[0]) for text in metrics[:2])
    assert clipped < plain
    page.wait_for_selector(".js-plotly-plot", timeout=90_000)  # plotly loads when a lesson first needs it
    assert page.locator(".js-plotly-plot").count() == 1
    context.close()


def test_every_lesson_renders_in_the_browser(streamlit_server, browser):
    context, page = open_learn(browser, streamlit_server.url, ".katex")
    for lesson, action, drawn in (("Gates on real text", None, ".katex"), ("Char vs word", None, ".js-plotly-plot"),
                                  ("How far back it looks", "Measure", ".js-plotly-plot")):
        page.get_by_text(lesson, exact=True).click()
        page.wait_for_timeout(500)
        wait_idle(page, 120_000)
        if action:
            page.get_by_role("button", name=action).click()
            page.wait_for_timeout(500)
            wait_idle(page, 300_000)
        page.wait_for_selector(drawn, timeout=120_000)  # plotly loads when a lesson first needs it
        assert page.locator(drawn).count() >= 1, lesson
        assert page.locator('[data-testid="stException"], [data-testid="stAlertContentError"]').count() == 0, lesson
    assert page.locator(".js-plotly-plot").count() == 2  # gradient flow and effective memory
    context.close()
