"""Your own feature by brushing, in a real browser: drag a box over the start of every line of the text
map, in each half of the text, and the units that follow it come back ranked and checked on both halves.

The screenshot of the map and the table is kept at SCREENSHOT for a person to look at."""

from browser_util import browser, streamlit_server, wait_idle  # noqa: F401  (pytest fixtures, used by name)
from playwright.sync_api import expect

from rnnlm.span_feature import MIN_MARKED

MODEL = "shakespeare-char-lstm"  # a trained model: its position-in-line cells give something to find
TEXT_MAP = ".js-plotly-plot:has(g.textpoint)"
SCREENSHOT = "/tmp/rnnlm-brush-table.png"
COLUMNS = 8  # the box: the first 8 columns of every row, "the start of a line", in each half
VIEWPORT = {"width": 1400, "height": 1700}  # tall enough for a whole 1,000-character map of Shakespeare
CELL_WIDTH = 11  # px, text_map.CELL_WIDTH
CAPTION = ("[...document.querySelectorAll('[data-testid=stCaptionContainer]')].map(c => c.innerText)"
           ".find(t => t.startsWith('Selected:'))")  # the count of selected characters, as the page shows it
TABLE_SHOWN = "() => [...document.querySelectorAll('label')].some(l => l.innerText.includes('Units that follow your feature'))"


def selected_caption(page) -> str:
    return page.evaluate(f"() => {CAPTION}") or ""


def map_on_screen(page) -> dict:
    """The text map's drag area, once the map is scrolled wholly into view and stops moving."""
    area = page.locator(TEXT_MAP).first.locator(".nsewdrag").first
    box = None
    for _ in range(50):  # the page may still be laying out, or replacing the map
        area.evaluate("e => e.closest('.js-plotly-plot').scrollIntoView({block: 'center'})")
        page.wait_for_timeout(200)
        now = area.bounding_box()
        if now is not None and now == box and 60 < now["y"] and now["y"] + now["height"] < VIEWPORT["height"]:
            return now  # below Streamlit's header, above the fold
        box = now
    raise AssertionError(f"the text map never settled on screen: {box}")


def drag_box(page) -> None:
    """Drag a box down the map's left edge, COLUMNS wide."""
    before = selected_caption(page)
    area = map_on_screen(page)
    x, y = area["x"] + 1, area["y"] + 1
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + COLUMNS * CELL_WIDTH, y + area["height"] - 2, steps=8)
    page.mouse.up()
    page.wait_for_function(f"before => ({CAPTION}) !== before", arg=before, timeout=60_000)
    wait_idle(page)


def test_dragging_a_box_in_each_half_ranks_and_validates_the_units_that_follow_it(streamlit_server, browser):  # noqa: F811
    context = browser.new_context(viewport=VIEWPORT)
    page = context.new_page()
    page.goto(f"{streamlit_server.url}/inspect?model={MODEL}")
    page.wait_for_selector(".js-plotly-plot .heatmaplayer image", timeout=120_000)
    wait_idle(page)
    page.get_by_label("Tokens per view").click()  # the 2,000-character slice in two windows: one per half
    page.get_by_role("option", name="1000").click()
    wait_idle(page)
    page.get_by_text("selecting text with the mouse").click()
    page.wait_for_selector(TEXT_MAP, timeout=60_000)
    wait_idle(page)
    assert "Nothing is selected yet" in page.locator('[data-testid="stAlert"]').last.inner_text()

    drag_box(page)
    assert "0 in the second" in selected_caption(page)
    assert "0 tokens in the second half" in page.locator('[data-testid="stAlert"]').last.inner_text()
    assert page.locator(f"{TEXT_MAP} .layer-below path, {TEXT_MAP} .shapelayer path").count() > 5  # painted

    window = page.get_by_role("slider", name="Tokens shown")
    window.focus()
    window.press("ArrowRight")  # the second window: the second half of the text
    expect(window).to_have_attribute("aria-valuetext", "1,000–1,999", timeout=60_000)
    expect(page.get_by_text("Tokens 1,000–1,999 of 2,000")).to_be_visible(timeout=60_000)  # the map follows
    wait_idle(page)
    drag_box(page)
    caption = selected_caption(page)
    first, second = (int(part.split(" in the ")[0].rsplit(" ", 1)[-1].replace(",", ""))
                     for part in caption.split("tokens marked: ")[1].split(", ")[:2])
    assert first >= MIN_MARKED and second >= MIN_MARKED

    page.wait_for_function(TABLE_SHOWN, timeout=90_000)
    wait_idle(page)
    assert page.locator('[data-testid="stDataFrame"]').count() == 2  # the built-in cells, then yours
    picked = page.locator('[data-testid="stSelectbox"]').filter(has_text="Units that follow your feature")
    label = picked.locator("input").input_value() or picked.inner_text()  # the picked unit, validated first
    assert "your selection (" in label and ", then " in label and "(chance 0." in label  # both halves and chance
    # The start of a line is what this model's line-position units follow: one holds on both halves.
    assert label.startswith("✓ your selection"), label
    page.locator('[data-testid="stDataFrame"]').last.scroll_into_view_if_needed()
    page.screenshot(path=SCREENSHOT, full_page=False)
    context.close()
