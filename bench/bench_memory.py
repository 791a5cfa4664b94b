"""Server memory in issue 18's scenario: one Score upload, then three fine-tunes (prints figures).

    python bench/bench_memory.py [--upload-kb 50] [--minutes 0.25] [--jobs 3]

Starts `streamlit run playground/app.py` on a free port and drives Debian's Chromium with
Playwright as a user would: Score page, upload a C file of --upload-kb (a slice of
../shared/data/c.txt's validation split) and wait for the every-model comparison; then the
Fine-tune page, upload the same file and run --jobs fine-tunes of --minutes each, one after
the other. A sampler thread reads, every 0.2 s, the server's resident memory (VmRSS) and the
proportional set size (PSS) of the server and every process below it (the job forkserver and
its training children): forked processes share pages, which PSS counts once. After each step
the script prints both, with the peaks so far.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "tests" / "app"), str(ROOT / "tests" / "browser")]  # the tests' server and browser helpers

from browser_util import launch_browser, ready_to_fine_tune, start_server, wait_idle
from playwright.sync_api import sync_playwright

VALIDATION_START = 0.95  # the corpus's standard split: the last 5% is held out
SHIPPED_DATA = ROOT.parent / "shared" / "data"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--upload-kb", type=int, default=50)
    parser.add_argument("--minutes", type=float, default=0.25, help="each fine-tune's training budget")
    parser.add_argument("--jobs", type=int, default=3)
    return parser.parse_args()


def memory_mb(pid: int, file: str = "status", field: str = "VmRSS:") -> float:
    """A kB field of /proc/pid/<file> in MB; 0 if the process has ended."""
    try:
        for line in Path(f"/proc/{pid}/{file}").read_text().splitlines():
            if line.startswith(field):
                return int(line.split()[1]) / 1024
    except OSError:  # the process ended between listing and reading
        pass
    return 0.0


def pss_mb(pid: int) -> float:
    """Proportional set size: pages shared by forked processes (the job forkserver and its
    children share torch's pages) counted once across them, so the sum over a tree is honest."""
    return memory_mb(pid, "smaps_rollup", "Pss:")


def descendants(pid: int) -> list[int]:
    """Every process below pid, found through /proc/*/stat's parent field."""
    parents = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parents[int(entry.name)] = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
    found, frontier = [], [pid]
    while frontier:
        parent = frontier.pop()
        children = [child for child, p in parents.items() if p == parent]
        found += children
        frontier += children
    return found


class MemorySampler(threading.Thread):
    """Polls the server's RSS and its process tree's RSS; keeps the latest values and the peaks."""

    def __init__(self, pid: int):
        super().__init__(daemon=True)
        self.pid, self.stopped = pid, threading.Event()
        self.server = self.tree = self.server_peak = self.tree_peak = 0.0

    def run(self) -> None:
        while not self.stopped.wait(0.2):
            self.server = memory_mb(self.pid)
            self.tree = pss_mb(self.pid) + sum(pss_mb(child) for child in descendants(self.pid))
            self.server_peak, self.tree_peak = max(self.server_peak, self.server), max(self.tree_peak, self.tree)

    def report(self, step: str) -> None:
        time.sleep(0.5)  # one more sample after the step
        print(f"{step:42s} server RSS {self.server:5.0f} MB (peak {self.server_peak:5.0f})   "
              f"server + children PSS {self.tree:5.0f} MB (peak {self.tree_peak:5.0f})", flush=True)


def c_upload(kilobytes: int, folder: Path) -> Path:
    text = (SHIPPED_DATA / "c.txt").read_text(encoding="utf-8")
    start = int(len(text) * VALIDATION_START)
    path = folder / "upload.c"
    path.write_text(text[start:start + kilobytes * 1000], encoding="utf-8")
    return path


def score_upload(browser, url: str, upload: Path) -> None:
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(f"{url}/score?{urlencode({'model': 'c-char-lstm'})}")
    page.get_by_text("upload a text file").first.wait_for(timeout=90_000)
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').first.set_input_files(str(upload))
    page.get_by_text("Every char-level model on this text").wait_for(timeout=300_000)
    page.locator('[data-testid="stDataFrame"]').last.wait_for(timeout=300_000)
    wait_idle(page, timeout_ms=300_000)
    page.close()


def fine_tunes(browser, url: str, upload: Path, jobs: int, minutes: float, sampler: MemorySampler) -> None:
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    ready_to_fine_tune(page, f"{url}/finetune?{urlencode({'model': 'shakespeare-char-lstm'})}", upload)
    box = page.get_by_label("Minutes")
    box.fill(str(minutes))
    box.press("Enter")
    wait_idle(page)
    for job in range(1, jobs + 1):
        page.get_by_role("button", name="Start training").click()
        finished = page.get_by_text("is in the model picker")
        finished.wait_for(state="detached", timeout=60_000)  # the last job's result gives way to the live panel
        finished.wait_for(timeout=int(minutes * 60_000) + 300_000)
        wait_idle(page, timeout_ms=120_000)
        sampler.report(f"after fine-tune {job} of {jobs} ({minutes} min)")
    page.close()


def main() -> None:
    args = parse_args()
    print(f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at start", flush=True)
    with sync_playwright() as playwright, start_server() as server:
        browser = launch_browser(playwright)
        sampler = MemorySampler(server.process.pid)
        sampler.start()
        sampler.report("server started")
        upload = c_upload(args.upload_kb, Path(tempfile.mkdtemp(prefix="bench-memory-")))
        score_upload(browser, server.url, upload)
        sampler.report(f"after a {args.upload_kb} KB Score upload")
        fine_tunes(browser, server.url, upload, args.jobs, args.minutes, sampler)
        sampler.stopped.set()
        browser.close()


if __name__ == "__main__":
    main()
