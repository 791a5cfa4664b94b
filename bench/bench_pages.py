"""How long the Generate, Learn and Models pages take to open in a real browser, beside the floor: a
one-line Streamlit page served and opened the same way (prints figures, asserts nothing).

    python bench/bench_pages.py [--repeats 3] [--pages floor generate learn models]

For each page: a fresh `streamlit run` server, then fresh browser contexts (no cache, as a new
visitor) opened on it: the first on the cold server, then --repeats more (median). An open is
timed from navigation until the page's content is drawn (its selectors on screen) and the script
run is over. Beside each time: the CPU seconds the browser (every Chromium process) and the server
spent on that open, read from /proc. On a busy machine the wall times stretch with the load but
the CPU seconds barely move, so they are what to compare between runs. The machine's one-thread
GEMM peak and load average are printed first, as in the other bench scripts.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "tests" / "browser"), str(ROOT / "bench")]

from bench_train import gemm_peak_flops
from browser_util import launch_browser, start_server, wait_idle
from playwright.sync_api import sync_playwright

FLOOR_SCRIPT = 'import streamlit as st\n\nst.write("The floor: one line of text.")\n'
# What "drawn" means per page: every selector on screen. Learn opens on the hand-set LSTM: its
# equations typeset and its three tables (inputs, weights, steps) drawn. Models opens on its table
# and the sidebar model's card (shakespeare-char-lstm's, as a new visitor's). Generate (every
# visitor's first page) opens on its coloured text and its chart drawn (plotly's or Vega's).
CHART = '[data-testid="stPlotlyChart"] .main-svg, [data-testid="stVegaLiteChart"] .marks'
PAGES = {
    "generate": ("/", [".rnnlm-tokens", CHART]),
    "floor": ("/", ["text=The floor: one line of text."]),
    "learn": ("/learn", [".katex", '[data-testid="stTable"] table >> nth=2']),
    "models": ("/models", ['[data-testid="stDataFrame"] canvas', '[data-testid="stExpanderDetails"] h1']),
}
TIMEOUT_MS = 300_000
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def process_cpu() -> dict[int, tuple[int, float]]:
    """pid -> (parent pid, CPU seconds so far) for every process on the machine."""
    found = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            stat = Path(f"/proc/{name}/stat").read_text()
        except OSError:  # ended while we looked
            continue
        fields = stat[stat.rindex(")") + 2:].split()  # the command name may hold spaces
        found[int(name)] = (int(fields[1]), (int(fields[11]) + int(fields[12])) / CLOCK_TICKS)
    return found


def tree_cpu(root: int, skip: int | None = None) -> dict[int, float]:
    """CPU seconds of root and its descendants, leaving out skip's subtree."""
    table = process_cpu()
    children: dict[int, list[int]] = {}
    for pid, (parent, _) in table.items():
        children.setdefault(parent, []).append(pid)
    out, todo = {}, [root]
    while todo:
        pid = todo.pop()
        if pid == skip or pid not in table:
            continue
        out[pid] = table[pid][1]
        todo.extend(children.get(pid, []))
    return out


def spent(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU seconds between two snapshots; processes that ended in between are not counted."""
    return sum(seconds - before.get(pid, 0.0) for pid, seconds in after.items())


def open_page(browser, url: str, selectors: list[str], server_pid: int) -> dict[str, float]:
    """One fresh context: seconds to the content drawn and to the script run over (on a cold server
    app.py imports the fine-tune job manager after the page, so the run ends later), and the CPU
    seconds the browser and the server spent."""
    me = os.getpid()
    browser_before, server_before = tree_cpu(me, skip=server_pid), tree_cpu(server_pid)
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    start = time.perf_counter()
    page.goto(url)
    for selector in selectors:
        page.wait_for_selector(selector, timeout=TIMEOUT_MS)
    drawn = time.perf_counter() - start
    wait_idle(page, TIMEOUT_MS)
    done = time.perf_counter() - start
    result = {"drawn": drawn, "done": done, "browser": spent(browser_before, tree_cpu(me, skip=server_pid)),
              "server": spent(server_before, tree_cpu(server_pid))}
    context.close()
    return result


def describe(opens: list[dict[str, float]]) -> str:
    middle = {key: statistics.median(o[key] for o in opens) for key in opens[0]}
    return (f"{middle['done']:6.2f} s (drawn {middle['drawn']:5.2f} s; CPU s: browser {middle['browser']:5.2f}, "
            f"server {middle['server']:5.2f})")


def measure(browser, name: str, repeats: int) -> None:
    path, selectors = PAGES[name]
    with tempfile.TemporaryDirectory() as folder:
        script = "playground/app.py"
        if name == "floor":
            script = str(Path(folder) / "floor.py")
            Path(script).write_text(FLOOR_SCRIPT)
        with start_server(script=script) as server:
            opens = [open_page(browser, server.url + path, selectors, server.process.pid) for _ in range(repeats + 1)]
    print(f"{name:7} cold {describe(opens[:1])}", flush=True)
    print(f"{name:7} warm {describe(opens[1:])}   load {os.getloadavg()[0]:.1f}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=3, help="warm opens per page (median)")
    parser.add_argument("--pages", nargs="+", choices=list(PAGES), default=list(PAGES))
    args = parser.parse_args()
    import torch

    torch.set_num_threads(1)
    peak = gemm_peak_flops() / 1e9
    print(f"{len(os.sched_getaffinity(0))} of {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}; "
          f"one-thread float32 GEMM peak {peak:.0f} GFLOP/s")
    print(f"open -> script run over (drawn: content on screen); warm: median of {args.repeats} fresh browser "
          "contexts; CPU s: what the open cost, whatever the load")
    with sync_playwright() as playwright:
        browser = launch_browser(playwright)
        for name in args.pages:
            measure(browser, name, args.repeats)
        browser.close()


if __name__ == "__main__":
    main()
