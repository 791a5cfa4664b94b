"""The Score page's scores, computed once per (model, text) and shared by every session.

A bounded, shared store rather than st.cache_data: scoring reports its progress to a bar the
page drew before the call, and st.cache_data would record those bar updates and replay them on
every later hit. `model` (resources.model_key) names the model's weights.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import OrderedDict
from collections.abc import Callable

import streamlit as st

from rnnlm import LanguageModel, ScoreResult, score_text

MINUTES_KEPT = 20
MAX_KEPT = 64


class _Kept:
    """Least recently used first out, each entry dropped MINUTES_KEPT after it was computed."""

    def __init__(self):
        self.lock = threading.Lock()
        self.entries: OrderedDict[tuple[str, str], tuple[float, ScoreResult]] = OrderedDict()

    def get(self, key) -> ScoreResult | None:
        with self.lock:
            found = self.entries.get(key)
            if found is None or time.monotonic() - found[0] > MINUTES_KEPT * 60:
                self.entries.pop(key, None)
                return None
            self.entries.move_to_end(key)
            return found[1]

    def put(self, key, result: ScoreResult) -> None:
        with self.lock:
            self.entries[key] = (time.monotonic(), result)
            self.entries.move_to_end(key)
            while len(self.entries) > MAX_KEPT:
                self.entries.popitem(last=False)


@st.cache_resource
def _kept() -> _Kept:
    return _Kept()


def is_kept(model: str, text: str) -> bool:
    return _kept().get(_key(model, text)) is not None


def _key(model: str, text: str) -> tuple[str, str]:
    return model, hashlib.sha256(text.encode("utf-8")).hexdigest()


def score(model: str, text: str, lm: LanguageModel,
          on_progress: Callable[[int, int], None] | None = None) -> ScoreResult:
    """The kept result, or a fresh one (on_progress(done, total) as it goes). Never mutate it: it is shared."""
    key = _key(model, text)
    result = _kept().get(key)
    if result is None:
        result = score_text(lm, text, on_progress=on_progress)
        _kept().put(key, result)
    return result
