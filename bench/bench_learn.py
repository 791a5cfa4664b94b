"""The Learn page's lessons in a real browser (prints figures, asserts nothing).

    python bench/bench_learn.py [--repeats 3]

Starts `streamlit run playground/app.py`, opens /learn in Debian's Chromium and prints the
time from navigation to the first lesson drawn (bench_pages.py's measure: equations and tables
on screen, the run over), for a fresh session each time, the first on a cold server; then each
lesson's time from its click to its result, and the machine's one-thread GEMM peak beside them.
bench/bench_pages.py compares the open with the Models page and a one-line page.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "tests" / "browser"), str(ROOT / "bench")]

from bench_pages import PAGES, describe, open_page
from bench_train import gemm_peak_flops
from browser_util import launch_browser, start_server, wait_idle
from playwright.sync_api import sync_playwright

LESSONS = (("Gates on real text", None, ".katex"), ("Char vs word", None, ".js-plotly-plot"),
           ("Exploding gradients", "Train both", '[data-testid="stMetric"]'),
           ("How far back it looks", "Measure", ".js-plotly-plot"))


def lesson_times(browser, url: str) -> list[tuple[str, float]]:
    page = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
    page.goto(f"{url}/learn")
    wait_idle(page, 120_000)
    times = []
    for label, button, result in LESSONS:
        start = time.perf_counter()
        page.get_by_text(label, exact=True).click()
        if button:
            page.get_by_role("button", name=button).click()
        page.wait_for_timeout(300)
        page.wait_for_selector(result, timeout=300_000)
        wait_idle(page, 300_000)
        times.append((label + (f" + {button}" if button else ""), time.perf_counter() - start))
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    import torch

    torch.set_num_threads(1)
    peak = gemm_peak_flops() / 1e9
    print(f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}; one-thread float32 GEMM peak "
          f"{peak:.0f} GFLOP/s")
    with sync_playwright() as playwright, start_server() as server:
        browser = launch_browser(playwright)
        path, selectors = PAGES["learn"]
        opens = [open_page(browser, server.url + path, selectors, server.process.pid) for _ in range(args.repeats + 1)]
        print(f"open /learn, cold server -> lesson drawn   {describe(opens[:1])}")
        print(f"open /learn, warm server -> lesson drawn   {describe(opens[1:])}  (median of {args.repeats} fresh sessions)")
        for label, seconds in lesson_times(browser, server.url):
            print(f"{label:40} {seconds:6.2f} s  (first time: nothing cached)")
        browser.close()


if __name__ == "__main__":
    main()
