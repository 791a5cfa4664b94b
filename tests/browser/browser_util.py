"""Real-browser test helpers: the playground served by `streamlit run`, and Debian's Chromium.

Browser test modules reuse the module-scoped fixtures by importing them:

    from browser_util import browser, streamlit_server  # noqa: F401  (pytest fixtures)

`streamlit_server` starts one server per test module on a free port and waits for its
health endpoint; `browser` is one headless Chromium per module. bench/bench_app.py uses
the same start_server() and launch_browser().
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
START_TIMEOUT = 90  # seconds; the machine may be busy training
IDLE = '[data-testid="stApp"][data-test-script-state="notRunning"]'


@dataclass
class Server:
    url: str
    process: subprocess.Popen
    log: Path

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
            return response.status == 200 and response.read().strip() == b"ok"
    except OSError:
        return False


@contextmanager
def start_server(timeout: float = START_TIMEOUT, script: str = "playground/app.py"):
    """`streamlit run <script>` headless on a free port; stopped (by its pid) on exit."""
    port = free_port()
    log = Path(tempfile.mkstemp(prefix="streamlit-", suffix=".log")[1])
    command = [sys.executable, "-m", "streamlit", "run", script, "--server.port", str(port),
               "--server.address", "127.0.0.1", "--server.headless", "true", "--browser.gatherUsageStats", "false"]
    with open(log, "w") as sink:
        process = subprocess.Popen(command, cwd=ROOT, stdout=sink, stderr=subprocess.STDOUT,
                                   env={**os.environ, "PYTHONUNBUFFERED": "1"})
    server = Server(f"http://127.0.0.1:{port}", process, log)
    try:
        deadline = time.monotonic() + timeout
        while not healthy(server.url):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"streamlit did not become healthy:\n{server.log_text()}")
            time.sleep(0.2)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        log.unlink(missing_ok=True)


def launch_browser(playwright):
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)


@pytest.fixture(scope="module")
def streamlit_server():
    with start_server() as server:
        yield server


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = launch_browser(playwright)
        yield chromium
        chromium.close()


def ready_to_fine_tune(page, url: str, corpus_file) -> None:
    """Open the Fine-tune page at url, upload corpus_file and set a three-second budget: the
    next click on "Start training" trains."""
    page.goto(url)
    page.get_by_text("Upload files").first.wait_for(timeout=90_000)
    wait_idle(page)
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').first.set_input_files(str(corpus_file))
    characters = len(Path(corpus_file).read_text(encoding="utf-8"))
    page.get_by_text(f"{characters:,}", exact=True).wait_for(timeout=60_000)  # the Characters metric
    minutes = page.get_by_label("Minutes")
    minutes.fill("0.05")  # three seconds of training
    minutes.press("Enter")
    page.wait_for_function("() => document.querySelector('input[aria-label=\"Minutes\"]').value === '0.05'")
    wait_idle(page)


def wait_idle(page, timeout_ms: int = 60_000) -> None:
    """Until the app's script run has finished (Streamlit marks its root element)."""
    page.wait_for_selector(IDLE, timeout=timeout_ms)


CHANGED_AND_IDLE = """before => {
  const tokens = document.querySelector('.rnnlm-tokens');
  const app = document.querySelector('[data-testid="stApp"]');
  return tokens !== null && tokens.innerText !== before && app.dataset.testScriptState === 'notRunning'; }"""


def wait_for_new_text(page, before: str, timeout_ms: int = 60_000) -> None:
    """Until the run that replaces the coloured text `before` has finished."""
    page.wait_for_function(CHANGED_AND_IDLE, arg=before, timeout=timeout_ms)


def open_app(context, url: str, timeout_ms: int = 90_000):
    """A new page at url, once the coloured output is drawn and the run is over."""
    page = context.new_page()
    page.goto(url)
    page.wait_for_selector(".rnnlm-tokens", timeout=timeout_ms)
    wait_idle(page, timeout_ms)
    return page


def shown_text(page) -> str:
    """The coloured output as the user reads it: popups closed (innerText skips hidden ones)."""
    page.mouse.move(0, 0)
    page.evaluate("document.activeElement && document.activeElement.blur()")
    return page.locator(".rnnlm-tokens").first.inner_text()


def share_link(page) -> str:
    return page.locator("code").filter(has_text="?model=").first.inner_text().strip()
