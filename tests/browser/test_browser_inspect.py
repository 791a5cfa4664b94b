"""The Inspect page in a real browser: the heatmap appears, hovers, and its unit strip picks a unit."""

import re

from browser_util import browser, streamlit_server, wait_idle  # noqa: F401  (pytest fixtures, used by name)

import rnnlm

HEATMAP_IMAGE = ".js-plotly-plot .heatmaplayer image"
SHOWS_UNIT = "label => [...document.querySelectorAll('.rnnlm-legend')].some(l => l.innerText.includes(label))"


def small_model() -> str:
    return min(rnnlm.read_manifest(), key=lambda entry: entry["parameters"])["name"]


def drag_area(plot, index: int) -> dict:
    """The bounding box of one subplot (0: the heatmap, 1: the unit strip beside it)."""
    return plot.locator(".nsewdrag").nth(index).bounding_box()


def hover_text(page) -> str:
    return page.locator(".js-plotly-plot .hoverlayer").first.text_content() or ""


def test_inspect_draws_a_heatmap_that_hovers_and_a_strip_click_paints_that_unit(streamlit_server, browser):
    context = browser.new_context(viewport={"width": 1400, "height": 1300})
    page = context.new_page()
    page.goto(f"{streamlit_server.url}/inspect?model={small_model()}")
    page.wait_for_selector(HEATMAP_IMAGE, timeout=90_000)
    wait_idle(page)
    heatmap = page.locator(".js-plotly-plot").first
    image = heatmap.locator(".heatmaplayer image").first.bounding_box()
    assert image["width"] > 500 and image["height"] > 200

    cells = drag_area(heatmap, 0)
    page.mouse.move(cells["x"] + cells["width"] * 0.4, cells["y"] + cells["height"] * 0.3)
    page.wait_for_function("() => document.querySelector('.js-plotly-plot .hoverlayer').textContent.includes('value')")
    assert re.search(r"unit \d+.*token \d+:.*value [−-]?\d+\.\d{3}", hover_text(page))  # the first view is exact floats

    unit_box = page.get_by_label(re.compile(r"^Unit \(0–\d+\)$"))
    before = unit_box.input_value()
    strip = drag_area(heatmap, 1)
    for height in (0.6, 0.3):  # a row whose unit is not the one already shown
        x, y = strip["x"] + strip["width"] / 2, strip["y"] + strip["height"] * height
        page.mouse.move(x, y)
        page.wait_for_function("() => document.querySelector('.js-plotly-plot .hoverlayer').textContent"
                               ".includes('click')")
        hovered = re.search(r"unit (\d+)", hover_text(page)).group(1)
        if hovered != before:
            break
    page.mouse.click(x, y)
    page.wait_for_function(SHOWS_UNIT, arg=f"unit {hovered},", timeout=30_000)
    wait_idle(page)
    assert unit_box.input_value() == hovered != before
    assert page.locator(".rnnlm-neuron .rnnlm-tok").count() > 100
    context.close()
