"""Inspect heatmap speed in a real browser: 1000 steps x 512 units (prints figures, asserts nothing).

    python bench/bench_heatmap.py [--repeats 5] [--model NAME]

By default it writes a random 2 x 512 char LSTM into a temporary models folder (so the
figure is 1000 x 512 whatever ships), starts `streamlit run playground/app.py` on it,
drives Debian's Chromium with Playwright and prints:
  - in this process: building the plotly figure and its JSON for 1000 x 512 values;
  - open the Inspect page -> heatmap drawn (cold: model load and a 2000-token trace);
  - pick another quantity in "Show" -> the new heatmap drawn (the trace is cached, so this
    is the rerun, the figure, the transfer and plotly's drawing). Target: <= 1 s.
--model NAME measures a shipped model instead (its hidden size sets the figure's height).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "tests" / "app"), str(ROOT / "tests" / "browser"), str(ROOT / "bench")]  # test helpers, sibling benches

HEATMAP_IMAGE = ".js-plotly-plot .heatmaplayer image"
# Times (performance.now(), ms) of the click on an option and of the next heatmap drawn.
ARM = """() => {
  const t = window.__bench = {click: 0, drawn: 0};
  const image = () => document.querySelector('.js-plotly-plot .heatmaplayer image');
  const before = image() && image().getAttribute('href');
  document.addEventListener('click', e => {
    if (!t.click && e.target.closest('[role=option]')) t.click = performance.now(); }, {capture: true});
  new MutationObserver((_, observer) => {
    const now = image();
    if (t.click && now && now.getAttribute('href') !== before) { t.drawn = performance.now(); observer.disconnect(); }
  }).observe(document.body, {subtree: true, childList: true, attributes: true, attributeFilter: ['href']});
}"""


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--model", help="a shipped model (default: a random 2 x 512 char LSTM)")
    return parser.parse_args()


def random_models_folder() -> tuple[Path, str]:
    """A models folder holding one random 2 x 512 LSTM, for RNNLM_PRETRAINED."""
    from bench_core import random_model

    from rnnlm import save_model

    lm = random_model()
    folder = Path(tempfile.mkdtemp(prefix="bench-heatmap-"))
    save_model(lm.net, lm.tokenizer, folder / lm.name)
    entry = {"name": lm.name, "corpus": "tinyshakespeare", "level": "char", "cell": "lstm", "layers": 2,
             "hidden_size": 512, "parameters": lm.parameter_count(), "val_nats_per_char": 4.2}
    (folder / "manifest.json").write_text(json.dumps({"models": [entry]}), encoding="utf-8")
    return folder, lm.name


def figure_build_seconds() -> tuple[float, float, int]:
    """Building the 1000 x 512 figure, and its JSON (what Streamlit sends), in this process."""
    import numpy as np
    import plotly.io

    from playground.views.inspect import heatmaps

    values = np.random.default_rng(0).uniform(-1, 1, (1000, 512)).astype(np.float32)
    start = time.perf_counter()
    figure = heatmaps.heatmap_figure(values, list(range(512)), ["a"] * 1000, 0, (-1, 1), values.std(0), "std dev")
    built = time.perf_counter() - start
    spec = plotly.io.to_json(figure, validate=False)
    return built, time.perf_counter() - start - built, len(spec)


def quantity_labels(cell: str) -> list[str]:
    """The "Show" options to cycle through: every quantity but h (shown first), then h."""
    import rnnlm
    from playground.views.inspect.traces import QUANTITY_LABELS

    return [QUANTITY_LABELS[q] for q in rnnlm.QUANTITIES[cell][1:]] + [QUANTITY_LABELS["h"]]


def pick_quantity(page, label: str) -> float:
    """ms from the click on the option to the new heatmap drawn."""
    page.evaluate(ARM)
    page.get_by_label("Show", exact=True).click()
    page.get_by_role("option", name=label, exact=True).click()
    page.wait_for_function("window.__bench.drawn > 0", timeout=120_000)
    timing = page.evaluate("window.__bench")
    return timing["drawn"] - timing["click"]


def main() -> None:
    args = parse_args()
    folder = None
    if args.model:
        import rnnlm

        model = args.model
        cell = next(entry["cell"] for entry in rnnlm.read_manifest() if entry["name"] == model)
    else:
        (folder, model), cell = random_models_folder(), "lstm"
        os.environ["RNNLM_PRETRAINED"] = str(folder)  # the server inherits it
    try:
        measure(model, cell, args.repeats)
    finally:
        if folder is not None:
            shutil.rmtree(folder, ignore_errors=True)


def measure(model: str, cell: str, repeats: int) -> None:
    from browser_util import launch_browser, start_server, wait_idle
    from playwright.sync_api import sync_playwright

    built, encoded, size = figure_build_seconds()
    print(f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} "
          "(other work on the machine slows every figure)")
    print(f"figure 1000 x 512 built in this process    {built * 1000:6.0f} ms, JSON {encoded * 1000:.0f} ms, "
          f"{size / 1e6:.1f} MB")
    labels = quantity_labels(cell)
    with sync_playwright() as playwright, start_server() as server:
        browser = launch_browser(playwright)
        page = browser.new_page(viewport={"width": 1400, "height": 1200})
        started = time.perf_counter()
        page.goto(f"{server.url}/inspect?model={model}")
        page.wait_for_selector(HEATMAP_IMAGE, timeout=180_000)
        print(f"open Inspect -> heatmap drawn (cold)        {time.perf_counter() - started:6.2f} s  ({model})")
        wait_idle(page)
        shape = page.evaluate("() => document.querySelector('.js-plotly-plot')._fullData"
                              ".filter(t => t.type === 'heatmap').map(t => [t.z.length, t.z[0].length])[0]")
        print(f"heatmap shape (units x steps)               {shape[0]} x {shape[1]}")
        times = []
        for index in range(repeats):
            times.append(pick_quantity(page, labels[index % len(labels)]))
            wait_idle(page)
        print(f"pick another quantity -> heatmap drawn      {statistics.median(times):6.0f} ms median of "
              f"{len(times)} (min {min(times):.0f}, max {max(times):.0f}; target <= 1000)")
        browser.close()


if __name__ == "__main__":
    main()
