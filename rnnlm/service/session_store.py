"""Per-session temporary folders for the models a user's session trains or uploads.

    store = SessionStore()                        # a fresh folder under the system temp dir
    folder = store.new_folder(session_id, "tuned")   # <root>/<hash of id>/tuned-1, created
    store.remove(session_id)                      # the session ended
    store.touch(session_id)                       # on every page run: the session is alive
    store.sweep()                                 # sessions unused for max_age_seconds

A session id is never used as a path: its folder is named by a hash of it. Every call
that names a session marks it as used now (the folder's mtime), which is what sweep()
compares against the age limit.
"""

from __future__ import annotations

import hashlib
import itertools
import os
import shutil
import tempfile
import threading
import time
from pathlib import Path

DEFAULT_MAX_AGE_SECONDS = 2 * 3600


def _folder_name(session_id: str) -> str:
    return "s-" + hashlib.sha256(str(session_id).encode("utf-8")).hexdigest()[:24]


class SessionStore:
    def __init__(self, root: Path | str | None = None, max_age_seconds: float = DEFAULT_MAX_AGE_SECONDS):
        self.root = Path(root) if root is not None else Path(tempfile.mkdtemp(prefix="rnnlm-sessions-"))
        self.root.mkdir(parents=True, exist_ok=True)
        self.max_age_seconds = max_age_seconds
        self._counter = itertools.count(1)
        self._lock = threading.Lock()

    def folder(self, session_id: str) -> Path:
        """The session's folder, created if needed and marked as used now."""
        folder = self.root / _folder_name(session_id)
        folder.mkdir(exist_ok=True)
        os.utime(folder)
        return folder

    def new_folder(self, session_id: str, prefix: str = "model") -> Path:
        """A new, empty, uniquely named folder in the session's folder (prefix is ours, not a user's)."""
        with self._lock:
            while True:
                path = self.folder(session_id) / f"{prefix}-{next(self._counter)}"
                if not path.exists():
                    path.mkdir()
                    return path

    def touch(self, session_id: str) -> None:
        """Mark a session as used now (the page calls this on every run), if it has a folder."""
        folder = self.root / _folder_name(session_id)
        if folder.is_dir():
            os.utime(folder)

    def exists(self, session_id: str) -> bool:
        return (self.root / _folder_name(session_id)).is_dir()

    def remove(self, session_id: str) -> bool:
        """Delete the session's folder and everything in it; False if there was none."""
        folder = self.root / _folder_name(session_id)
        if not folder.is_dir():
            return False
        shutil.rmtree(folder, ignore_errors=True)
        return True

    def sweep(self, busy: set[str] = frozenset(), now: float | None = None) -> list[str]:
        """Remove session folders unused for max_age_seconds, except busy sessions' (by id);
        the names of the folders removed."""
        now = time.time() if now is None else now
        keep = {_folder_name(s) for s in busy}
        removed = []
        for folder in self.root.glob("s-*"):
            if folder.name not in keep and now - folder.stat().st_mtime > self.max_age_seconds:
                shutil.rmtree(folder, ignore_errors=True)
                removed.append(folder.name)
        return removed
