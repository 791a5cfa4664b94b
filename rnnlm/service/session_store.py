"""Per-session temporary folders for the models a user's session trains or uploads.

    store = SessionStore.for_process()            # this server process's folder under the state root
    folder = store.new_folder(session_id, "tuned")   # <root>/<hash of id>/tuned-1, created
    store.remove(session_id)                      # the session ended
    store.touch(session_id)                       # on every page run: the session is alive
    store.sweep()                                 # sessions unused for max_age_seconds

A session id is never used as a path: its folder is named by a hash of it. Every call
that names a session marks it as used now (the folder's mtime), which is what sweep()
compares against the age limit.

Every server process keeps its sessions in a folder of its own under one state root
(RNNLM_SESSIONS_DIR, by default rnnlm-state-<uid> in the system temp dir):

    <state root>/server-<pid>-<random>/.lock        held (fcntl.flock) while the process lives
    <state root>/server-<pid>-<random>/s-<hash>/    one session's models and runs

The kernel drops the lock when the process ends, however it ends (kill -9 included), so a
folder whose lock can be taken belongs to a process that is gone: the next process to start
deletes it. A process that exits normally deletes its own folder. Sessions do not outlive
their server process anyway: Streamlit forgets them, and with them the list of their models.
"""

from __future__ import annotations

import atexit
import hashlib
import itertools
import logging
import os
import shutil
import stat
import tempfile
import threading
import time
from pathlib import Path

from ..errors import RnnlmError

try:
    import fcntl
except ImportError:  # Windows: no flock, so folders of ended processes are never swept
    fcntl = None

log = logging.getLogger(__name__)
DEFAULT_MAX_AGE_SECONDS = 2 * 3600
PROCESS_PREFIX = "server-"
LOCK_FILE = ".lock"
CLAIMING_PREFIX = ".claiming-"
CLAIMING_MAX_AGE_SECONDS = 600.0  # a process killed in the instant between mkdir and rename


def _folder_name(session_id: str) -> str:
    return "s-" + hashlib.sha256(str(session_id).encode("utf-8")).hexdigest()[:24]


def default_state_root() -> Path:
    """A fixed folder under the system temp dir, one per user (so two users never share it)."""
    user = os.getuid() if hasattr(os, "getuid") else os.environ.get("USERNAME", "user")
    return Path(tempfile.gettempdir()) / f"rnnlm-state-{user}"


_claimed: dict[tuple[Path, int], Path] = {}  # (state root, pid) -> that process's folder
_held_locks: dict[Path, int] = {}  # open descriptors: closing one would release its folder's lock
_claim_lock = threading.Lock()


def process_folder(state_root: Path | str | None = None) -> Path:
    """This process's own folder under state_root (default_state_root() if None): claimed on the
    first call, after deleting the folders of processes that are gone; the same one after that."""
    root = Path(state_root).expanduser().absolute() if state_root is not None else default_state_root()
    with _claim_lock:
        key = (root, os.getpid())
        folder = _claimed.get(key)
        if folder is not None and folder.is_dir():
            return folder
        if folder is not None:  # deleted under us (a test's temporary root): claim a new one
            os.close(_held_locks.pop(folder))
        _prepare_root(root, checked=state_root is None)
        swept = sweep_ended_processes(root)
        if swept:
            log.info("removed %d session folder(s) of ended server processes under %s", len(swept), root)
        folder = _claimed[key] = _claim(root)
        atexit.register(_remove_own_folder, folder, os.getpid())
        return folder


def _prepare_root(root: Path, checked: bool) -> None:
    root.mkdir(parents=True, exist_ok=True, mode=0o700)
    if checked:  # the default lives in a shared temp dir: it must be ours, not someone's symlink
        info = os.lstat(root)
        if not stat.S_ISDIR(info.st_mode) or (hasattr(os, "getuid") and info.st_uid != os.getuid()):
            raise RnnlmError(f"{root} is not a folder of this user's; set RNNLM_SESSIONS_DIR to a folder "
                             "for the fine-tune service's session files")


def _claim(root: Path) -> Path:
    """A new folder holding its lock file, locked before it gets the name a sweep looks at."""
    staging = Path(tempfile.mkdtemp(prefix=CLAIMING_PREFIX, dir=root))
    descriptor = os.open(staging / LOCK_FILE, os.O_CREAT | os.O_RDWR, 0o600)
    if fcntl is not None:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)  # a new file: nobody else holds it
    os.write(descriptor, f"{os.getpid()}\n".encode())
    folder = root / f"{PROCESS_PREFIX}{os.getpid()}-{staging.name[len(CLAIMING_PREFIX):]}"
    os.rename(staging, folder)
    _held_locks[folder] = descriptor
    os.chmod(folder, 0o700)
    return folder


def _owner_is_alive(folder: Path) -> bool:
    if fcntl is None:
        return True
    try:
        descriptor = os.open(folder / LOCK_FILE, os.O_RDWR)
    except FileNotFoundError:  # a claimed folder always has one: this is not a folder of ours
        return True
    except OSError:  # not ours to judge (permissions): leave it
        return True
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:  # BlockingIOError: its process holds the lock
        return True
    finally:
        os.close(descriptor)  # releases the lock if we took it
    return False


def sweep_ended_processes(root: Path | str) -> list[str]:
    """Delete the folders under root of server processes that have ended; the names removed."""
    root = Path(root)
    ours = set(_claimed.values())
    removed = []
    for folder in root.glob(PROCESS_PREFIX + "*"):
        if folder in ours or folder.is_symlink() or not folder.is_dir() or _owner_is_alive(folder):
            continue
        shutil.rmtree(folder, ignore_errors=True)
        removed.append(folder.name)
    removed += [folder.name for folder in root.glob(CLAIMING_PREFIX + "*")
                if remove_if_stale(folder, CLAIMING_MAX_AGE_SECONDS)]
    return sorted(removed)


def remove_if_stale(folder: Path, max_age_seconds: float) -> bool:
    """Delete folder (never through a symlink) if it was last changed over max_age_seconds ago
    (real time: the folder's own mtime); whether it was deleted."""
    try:
        stale = time.time() - folder.lstat().st_mtime > max_age_seconds
    except OSError:
        return False
    if stale and folder.is_dir() and not folder.is_symlink():
        shutil.rmtree(folder, ignore_errors=True)
        return True
    return False


def _remove_own_folder(folder: Path, pid: int) -> None:
    if os.getpid() == pid:  # not in a forked child that inherited this handler
        shutil.rmtree(folder, ignore_errors=True)


class SessionStore:
    def __init__(self, root: Path | str | None = None, max_age_seconds: float = DEFAULT_MAX_AGE_SECONDS):
        """root holds the session folders; None: this process's folder under the default state root."""
        self.root = Path(root) if root is not None else process_folder()
        self.root.mkdir(parents=True, exist_ok=True)
        self.max_age_seconds = max_age_seconds
        self._counter = itertools.count(1)
        self._lock = threading.Lock()

    @classmethod
    def for_process(cls, state_root: Path | str | None = None,
                    max_age_seconds: float = DEFAULT_MAX_AGE_SECONDS) -> SessionStore:
        """The store of this server process: its own folder under state_root (see process_folder)."""
        return cls(process_folder(state_root), max_age_seconds)

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
