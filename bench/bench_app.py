"""Playground speed in a real browser (prints figures, asserts nothing).

    python bench/bench_app.py [--tokens 500] [--repeats 3] [--pretrained DIR]

Starts `streamlit run playground/app.py` on a free port, drives Debian's Chromium with
Playwright and prints: server start to first rendered page; click Generate to the first
streamed token; N tokens generated and fully rendered with colouring; the server's
resident memory after every shipped model has been loaded and sampled.
--pretrained points the server (and this script) at another models folder with its own
manifest.json, e.g. to measure models that are not shipped yet.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "tests" / "app"), str(ROOT / "tests" / "browser")]  # the tests' server and browser helpers


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tokens", type=int, default=500)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--pretrained", help="models folder with a manifest.json (default: pretrained/)")
    return parser.parse_args()


ARGS = parse_args()
if ARGS.pretrained:  # before rnnlm is imported: it reads this once; the server inherits it
    os.environ["RNNLM_PRETRAINED"] = str(Path(ARGS.pretrained).resolve())

from browser_util import launch_browser, open_app, start_server, wait_idle  # noqa: E402
from playwright.sync_api import sync_playwright  # noqa: E402

import rnnlm  # noqa: E402

# Times (performance.now(), ms) of the click, the first streamed token and the finished colouring.
ARM_AND_CLICK = """(count) => {
  const t = window.__bench = {click: 0, first: 0, done: 0};
  new MutationObserver(() => {
    const stream = document.querySelector('.rnnlm-stream');
    if (!t.first && stream && stream.textContent.length > stream.querySelector('.prompt').textContent.length)
      t.first = performance.now();
    if (t.first && !t.done && document.querySelectorAll('.rnnlm-tokens .rnnlm-tok').length >= count)
      t.done = performance.now();
  }).observe(document.body, {subtree: true, childList: true, characterData: true});
  const button = [...document.querySelectorAll('button')].find(b => b.innerText.trim() === 'Generate');
  if (!button) throw new Error('no Generate button: ' + document.body.innerText.slice(0, 500));
  t.click = performance.now();
  button.click();
}"""


def rss_megabytes(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def first_page(browser, url: str, started: float) -> tuple[float, float]:
    """Seconds from starting the server to the first page drawn and to the first coloured text."""
    page = browser.new_page()
    page.goto(url)
    page.wait_for_selector("h1", timeout=120_000)
    drawn = time.perf_counter() - started
    page.wait_for_selector(".rnnlm-tokens", timeout=120_000)
    coloured = time.perf_counter() - started
    page.close()
    return drawn, coloured


def generate_timings(browser, url: str, tokens: int, repeats: int) -> list[tuple[float, float]]:
    """(click -> first streamed token, click -> all tokens coloured) in ms, per repeat."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = open_app(context, url)
    results = []
    for _ in range(repeats):
        page.evaluate(ARM_AND_CLICK, tokens)
        page.wait_for_function("window.__bench.done > 0", timeout=120_000)
        wait_idle(page)
        t = page.evaluate("window.__bench")
        results.append((t["first"] - t["click"], t["done"] - t["click"]))
    context.close()
    return results


def visit_every_model(browser, server_url: str) -> list[str]:
    context = browser.new_context()
    names = [entry["name"] for entry in rnnlm.read_manifest()]
    for name in names:
        open_app(context, f"{server_url}/?{urlencode({'model': name, 'length': 300})}").close()
    context.close()
    return names


def main() -> None:
    print(f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at start "
          "(other work on the machine slows every figure)")
    with sync_playwright() as playwright:
        browser = launch_browser(playwright)
        started = time.perf_counter()
        with start_server() as server:
            healthy = time.perf_counter() - started
            drawn, coloured = first_page(browser, server.url, started)
            print(f"server start -> health endpoint ok        {healthy:6.2f} s")
            print(f"server start -> first rendered page       {drawn:6.2f} s")
            print(f"server start -> first coloured sample     {coloured:6.2f} s")
            print(f"server RSS after the first page           {rss_megabytes(server.process.pid):6.0f} MB")
            model = rnnlm.read_manifest()[0]["name"]
            url = f"{server.url}/?{urlencode({'model': model, 'length': ARGS.tokens})}"
            timings = generate_timings(browser, url, ARGS.tokens, ARGS.repeats)
            first = statistics.median(t[0] for t in timings)
            done = statistics.median(t[1] for t in timings)
            print(f"click Generate -> first streamed token    {first:6.0f} ms  (median of {ARGS.repeats}, {model})")
            print(f"click Generate -> {ARGS.tokens} tokens coloured    {done:6.0f} ms")
            names = visit_every_model(browser, server.url)
            print(f"server RSS after visiting {len(names)} models      {rss_megabytes(server.process.pid):6.0f} MB  "
                  f"({', '.join(names)})")
        browser.close()


if __name__ == "__main__":
    main()
