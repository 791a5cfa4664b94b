"""How much uploaded text the server holds for all sessions together, and refusing beyond it.

    budget = UploadBudget(max_bytes=512 << 20)
    problem = budget.hold(session_id, kept_upload, nbytes)   # None, or why it is refused
    budget.held_bytes()

A session keeps one cleaned text at a time (its newest upload replaces the last), so holding
again for the same session first releases what it held. Nothing has to be released by hand:
the budget follows the held object by weak reference, so when Streamlit drops a session (and
its session_state with the text) the bytes leave the budget with it.
"""

from __future__ import annotations

import threading
import weakref
from typing import Any

MIB = 1 << 20


class UploadBudget:
    def __init__(self, max_bytes: int):
        self.max_bytes = max_bytes
        self._lock = threading.Lock()
        self._held: dict[str, tuple[weakref.ref, int]] = {}  # session id -> (kept object, bytes)

    def _live(self) -> dict[str, int]:
        """Bytes per session whose kept object still exists (dead entries are dropped)."""
        for session, (ref, _) in list(self._held.items()):
            if ref() is None:
                del self._held[session]
        return {session: size for session, (_, size) in self._held.items()}

    def held_bytes(self) -> int:
        with self._lock:
            return sum(self._live().values())

    def hold(self, session: str, kept: Any, nbytes: int) -> str | None:
        """Count nbytes of text kept by `kept` for this session (replacing what it held before),
        or say why not: the server already holds too much for other sessions."""
        with self._lock:
            others = sum(size for owner, size in self._live().items() if owner != session)
            if others + nbytes > self.max_bytes:
                self._held.pop(session, None)
                return (f"the server is holding {others / MIB:,.1f} MiB of uploaded text for other visitors, and "
                        f"its limit for all of them together is {self.max_bytes / MIB:,.1f} MiB; try again in a "
                        f"while, or upload less than {max(self.max_bytes - others, 0) / MIB:,.1f} MiB")
            self._held[session] = (weakref.ref(kept), nbytes)
            return None

    def release(self, session: str) -> None:
        with self._lock:
            self._held.pop(session, None)
