"""Helpers for the playground's AppTest tests: starting the app, reading what a user sees."""

from __future__ import annotations

import re
import time
from html.parser import HTMLParser
from pathlib import Path

from streamlit.testing.v1 import AppTest

import rnnlm

APP = Path(__file__).resolve().parents[2] / "playground" / "app.py"
TIMEOUT = 60  # the first run imports torch and loads a model, on a machine busy training


def app(query: dict | None = None, page: str | None = None) -> AppTest:
    """A fresh session, optionally opened with URL parameters, run once (then on `page`)."""
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.query_params.update(query or {})
    at.run()
    if page:
        at.switch_page(page).run()
    return at


def manifest_names(**fixed) -> list[str]:
    return [e["name"] for e in rnnlm.read_manifest() if all(e[k] == v for k, v in fixed.items())]


class _Text(HTMLParser):
    """The text nodes of an HTML fragment (popups live in attributes, so they are not text)."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts = []

    def handle_data(self, data):
        self.parts.append(data)


def visible_text(fragment: str) -> str:
    parser = _Text()
    parser.feed(fragment)
    return "".join(parser.parts)


def html_blocks(at: AppTest, css_class: str) -> list[str]:
    return [element.value for element in at.html if css_class in element.value]


def coloured_texts(at: AppTest) -> list[str]:
    """What each finished output box shows, in page order."""
    return [visible_text(block.split('<div class="rnnlm-legend"')[0]) for block in html_blocks(at, "rnnlm-tokens")]


def warnings(at: AppTest) -> str:
    """The warnings' text as shown (their markdown escapes removed)."""
    return re.sub(r"\\(.)", r"\1", "\n".join(w.value for w in at.warning))


def poll_until(at: AppTest, condition, timeout: float = 120.0) -> None:
    """Rerun the page (as the live fragment does every second) until condition(at)."""
    deadline = time.monotonic() + timeout
    while True:
        at.run()
        assert not at.exception
        if condition(at):
            return
        assert time.monotonic() < deadline, f"timed out; page says {[s.value for s in at.subheader]}"
        time.sleep(0.3)
