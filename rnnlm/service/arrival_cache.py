"""Results every visitor gets alike, computed once per process: the arrival sample.

    cache = shared_cache()
    value = cache.fetch(key, start=make_progress, compute=fill, waiting=show_progress)

A page that samples on arrival with nothing but shipped defaults (default model, its default
prompt, default settings and seed) produces the same text for every visitor, so N visitors
arriving at once need it sampled once, not N times. The first asker of a key computes it; the
others wait for that one computation (calling `waiting` with its progress so far every tick, so
they can draw the text as it arrives and be stopped), then all get the finished value. Only
finished values are kept, at most `max_entries` of them, the least recently used dropped first.
If the computing asker gives up (a Stop, a closed tab, an error), nothing is kept and one
of the waiters computes it instead.

The caller decides what may be shared: only values that carry no user input (a user's own
prompt must never be served from here: how fast it came back would tell them whether someone
else had asked the same). Keys must hold everything that determines the value; for a
generation that is model_identity(lm) plus the whole request. No Streamlit here.
"""

from __future__ import annotations

import hashlib
import itertools
import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable, Hashable
from pathlib import Path
from typing import Any

MAX_ENTRIES = 32  # a few per shipped model (default settings): finished texts of 300 tokens, a few MB in all
TICK_SECONDS = 0.05  # how often a waiter sees the progress (and may be stopped)


class _Entry:
    def __init__(self):
        self.done = threading.Event()
        self.progress: Any = None  # what the computing asker fills as it goes
        self.value: Any = None  # the finished value; None if the computation was given up


class ArrivalCache:
    """A bounded LRU of finished values; concurrent askers of one key share one computation."""

    def __init__(self, max_entries: int = MAX_ENTRIES):
        if max_entries < 1:
            raise ValueError(f"an arrival cache keeps at least one value, got {max_entries}")
        self.max_entries = max_entries
        self._lock = threading.Lock()
        self._entries: OrderedDict[Hashable, _Entry] = OrderedDict()

    def finished(self, key: Hashable) -> Any:
        """The finished value for key, or None (not asked yet, or still being computed)."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is None or not entry.done.is_set():
                return None
            self._entries.move_to_end(key)
            return entry.value

    def fetch(self, key: Hashable, start: Callable[[], Any], compute: Callable[[Any], Any],
              waiting: Callable[[Any], None], tick_seconds: float = TICK_SECONDS) -> Any:
        """The value for key: kept, or computed by this caller (compute(start())), or by another
        caller while this one waits, calling waiting(progress) every tick. Whatever compute or
        waiting raise goes on to this caller (a waiter's exception leaves the computation running)."""
        while True:
            with self._lock:
                entry = self._entries.get(key)
                if entry is not None:
                    self._entries.move_to_end(key)
                    owner = False
                else:
                    entry = self._entries[key] = _Entry()
                    entry.progress, owner = start(), True
            if owner:
                return self._compute(key, entry, compute)
            while not entry.done.wait(tick_seconds):
                waiting(entry.progress)
            if entry.value is not None:
                return entry.value
            # The computing caller gave up and removed the entry: try again (one waiter computes it).

    def _compute(self, key: Hashable, entry: _Entry, compute: Callable[[Any], Any]) -> Any:
        try:
            entry.value = compute(entry.progress)
        finally:
            with self._lock:
                if entry.value is None and self._entries.get(key) is entry:
                    del self._entries[key]  # given up: the next asker computes it
                self._evict()
            entry.done.set()
        return entry.value

    def _evict(self) -> None:
        """Drop the least recently used finished values beyond max_entries (under the lock)."""
        finished = [key for key, entry in self._entries.items() if entry.done.is_set() or entry.value is not None]
        for key in finished[:max(0, len(finished) - self.max_entries)]:
            del self._entries[key]

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)


_identities: dict[int, tuple[weakref.ref, tuple]] = {}
_serials = itertools.count(1)
_identities_lock = threading.Lock()


def model_identity(lm) -> tuple:
    """What names a loaded model's weights in a key: a serial number never reused for another
    model object in this process, its name and folder, and the sha256 of its config.json, which
    records the sha256 of every other file of the folder (rnnlm.checkpoint checked them at load).
    Worked out once per model object, on first use."""
    with _identities_lock:
        known = _identities.get(id(lm))
        if known is not None and known[0]() is lm:
            return known[1]
        for stale in [key for key, (ref, _) in _identities.items() if ref() is None]:
            del _identities[stale]  # model objects that are gone (their ids may be reused)
        folder = getattr(lm, "path", None)
        identity = (next(_serials), lm.name, str(folder) if folder else None, _config_checksum(folder))
        _identities[id(lm)] = (weakref.ref(lm), identity)
        return identity


def _config_checksum(folder) -> str | None:
    config = Path(folder) / "config.json" if folder else None
    if config is None or not config.is_file():
        return None  # a model built in memory: its serial number alone names it
    return hashlib.sha256(config.read_bytes()).hexdigest()


_SHARED_LOCK = threading.Lock()
_shared: list[ArrivalCache] = []


def shared_cache() -> ArrivalCache:
    """The process's cache, made on first use (every session of the server shares it)."""
    with _SHARED_LOCK:
        if not _shared:
            _shared.append(ArrivalCache())
        return _shared[0]
