"""What watching a fine-tune job costs: the server's and the browser's CPU while its page is open.

    python bench/bench_watch.py [--seconds 20] [--job-minutes 3]

Starts the real server and Debian's Chromium, starts a fine-tune job of shakespeare-char-lstm
through the Fine-tune page as a user would (bench/load_sessions.py), then measures for --seconds
with the page open (its live panel reruns on its own) and again with the page closed (the job
keeps training in its own process). Prints CPU-seconds per second of the Streamlit process (not
the job's) and of every Chromium process, and the one-thread GEMM peak beside them (other work on
the machine slows every figure). Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "tests" / "browser")]  # the tests' server and browser helpers

import load_sessions as ls
from bench_train import gemm_peak_flops
from browser_util import launch_browser, start_server
from playwright.sync_api import sync_playwright


def rates(server_pid: int, seconds: float) -> tuple[float, float]:
    """CPU-seconds per second of (the server, the browsers) over the next `seconds`."""
    server, browsers = ls.cpu_seconds([server_pid]), ls.cpu_seconds(ls.chromium_pids())
    time.sleep(seconds)
    return ((ls.cpu_seconds([server_pid]) - server) / seconds,
            (ls.cpu_seconds(ls.chromium_pids()) - browsers) / seconds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--job-minutes", type=float, default=3.0, help="the job's budget: outlast both spans")
    args = parser.parse_args()
    print(f"{len(os.sched_getaffinity(0))} usable cores; load average {os.getloadavg()[0]:.1f} at start; GEMM peak "
          f"(float32 2048^2, {os.environ.get('OMP_NUM_THREADS', 'default')} OpenMP threads) "
          f"{gemm_peak_flops() / 1e9:.0f} GFLOP/s")
    with sync_playwright() as playwright, start_server() as server:
        browser = launch_browser(playwright)
        context = ls.start_finetune_job(browser, server.url, args.job_minutes)
        time.sleep(3.0)  # past the job's start and the page's first draws
        open_server, open_browser = rates(server.process.pid, args.seconds)
        context.close()
        time.sleep(1.0)
        closed_server, closed_browser = rates(server.process.pid, args.seconds)
        browser.close()
    print(f"page open:   server {open_server:.3f}, browsers {open_browser:.3f} CPU-seconds a second "
          f"({args.seconds:g} s)")
    print(f"page closed: server {closed_server:.3f}, browsers {closed_browser:.3f} CPU-seconds a second")


if __name__ == "__main__":
    main()
