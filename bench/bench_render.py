"""What one finished generation costs the browser that draws it, and the server (prints figures, asserts nothing).

    python bench/bench_render.py [--tokens 2000] [--repeats 3]

Starts the real server and Debian's Chromium; per repeat, a fresh browser context (its own
Streamlit session) opens Generate on shakespeare-char-lstm with a 5-token text, then types
the length (as a user would: the page samples the new Request at once) and waits until the
coloured text is complete and the run is over. Prints per repeat, from the Enter to the end:
  wall     seconds;
  browser  CPU-seconds of every Chromium process (/proc: utime + stime), all renderers and helpers;
  server   CPU-seconds of the Streamlit process (sampling, rendering, sending);
  renderer the page's own renderer by Chrome's Performance metrics: script, layout and style
           seconds, and the DOM nodes it holds at the end.
The bench_load.py browsers share the server's cores, so what a result costs the browser is
taken from the machine's capacity for sampling under load.
--profile: also V8's sampling profile of the renderer over the same span, its time by script
bundle (Streamlit's are named for what they hold: react-dom, vega embed and interpreter, purify,
emotion) plus "(program)", the renderer's native work outside JavaScript (parsing HTML, style,
layout, paint), summed over the repeats.
"""

from __future__ import annotations

import argparse
import collections
import os
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "tests" / "browser")]  # the tests' server and browser helpers

from browser_util import launch_browser, open_app, start_server, wait_idle
from load_sessions import chromium_pids, cpu_seconds
from playwright.sync_api import sync_playwright

MODEL = "shakespeare-char-lstm"
METRICS = ("ScriptDuration", "LayoutDuration", "RecalcStyleDuration", "TaskDuration")
DONE = """count => { const tokens = document.querySelector('.rnnlm-tokens');
  return tokens !== null && tokens.querySelectorAll('.rnnlm-tok:not(.from-prompt)').length >= count
    && document.querySelector('[data-testid="stApp"]')?.dataset.testScriptState === 'notRunning'; }"""


def renderer_metrics(cdp) -> dict[str, float]:
    return {m["name"]: m["value"] for m in cdp.send("Performance.getMetrics")["metrics"]}


def bundle_times(profile: dict) -> collections.Counter:
    """Microseconds of a V8 CPU profile by script bundle (its file name up to the first dot; a
    native or idle frame by its own name, such as "(program)")."""
    frames = {node["id"]: node["callFrame"] for node in profile["nodes"]}
    times = collections.Counter()
    for sample, delta in zip(profile["samples"], profile["timeDeltas"]):
        frame = frames[sample]
        url = frame["url"].rsplit("/", 1)[-1]
        times[url.split(".")[0] if url else frame["functionName"] or "(anonymous)"] += delta
    return times


def one_result(browser, url: str, seed: int, tokens: int, server_pid: int,
               profiles: collections.Counter | None = None) -> dict[str, float]:
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = open_app(context, f"{url}/?{urlencode({'model': MODEL, 'length': 5, 'seed': seed})}", timeout_ms=180_000)
    cdp = context.new_cdp_session(page)
    cdp.send("Performance.enable")
    time.sleep(1.0)  # let the first page's late work (fonts, the chart's first draw) settle
    length = page.get_by_label("Length (new tokens)")
    length.fill(str(tokens))
    if profiles is not None:
        cdp.send("Profiler.enable")
        cdp.send("Profiler.setSamplingInterval", {"interval": 200})  # microseconds
        cdp.send("Profiler.start")
    before = renderer_metrics(cdp)
    browsers, server, started = cpu_seconds(chromium_pids()), cpu_seconds([server_pid]), time.perf_counter()
    length.press("Enter")
    page.wait_for_function(DONE, arg=tokens, timeout=600_000, polling=100)
    wait_idle(page, 600_000)
    page.wait_for_timeout(300)  # the chart draws just after the run ends
    after = renderer_metrics(cdp)
    if profiles is not None:
        profiles.update(bundle_times(cdp.send("Profiler.stop")["profile"]))
    figures = {"wall": time.perf_counter() - started, "browser": cpu_seconds(chromium_pids()) - browsers,
               "server": cpu_seconds([server_pid]) - server, "nodes": after.get("Nodes", 0.0)}
    figures.update({name: after[name] - before[name] for name in METRICS})
    context.close()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tokens", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--profile", action="store_true", help="also the renderer's time by script bundle")
    args = parser.parse_args()
    profiles = collections.Counter() if args.profile else None
    print(f"{len(os.sched_getaffinity(0))} usable cores; load average {os.getloadavg()[0]:.1f} at start; "
          f"{MODEL}, {args.tokens:,} tokens")
    rows = []
    with sync_playwright() as playwright, start_server() as server:
        browser = launch_browser(playwright)
        warm = browser.new_context()
        open_app(warm, f"{server.url}/?{urlencode({'model': MODEL, 'length': 20})}", timeout_ms=180_000)
        warm.close()
        print(f"{'wall':>6} {'browser':>8} {'server':>7} | renderer: {'script':>6} {'layout':>6} {'style':>6} "
              f"{'tasks':>6} {'nodes':>7}   (seconds; CPU-seconds)")
        for repeat in range(args.repeats):
            row = one_result(browser, server.url, 201 + repeat, args.tokens, server.process.pid, profiles)
            rows.append(row)
            print(f"{row['wall']:6.2f} {row['browser']:8.2f} {row['server']:7.2f} | {'':9} "
                  f"{row['ScriptDuration']:6.2f} {row['LayoutDuration']:6.2f} {row['RecalcStyleDuration']:6.2f} "
                  f"{row['TaskDuration']:6.2f} {row['nodes']:7.0f}")
        browser.close()
    median = {key: statistics.median(row[key] for row in rows) for key in rows[0]}
    print(f"median: browser {median['browser']:.2f} CPU-s, server {median['server']:.2f} CPU-s, renderer tasks "
          f"{median['TaskDuration']:.2f} s (script {median['ScriptDuration']:.2f}, layout "
          f"{median['LayoutDuration']:.2f}, style {median['RecalcStyleDuration']:.2f}); load average "
          f"{os.getloadavg()[0]:.1f} at the end")
    if profiles:
        busy = sum(us for name, us in profiles.items() if name != "(idle)")
        print(f"renderer profile, per result ({busy / 1e6 / len(rows):.2f} s busy):")
        for name, us in profiles.most_common(14):
            print(f"  {us / 1e6 / len(rows):6.3f} s  {name}")


if __name__ == "__main__":
    main()
