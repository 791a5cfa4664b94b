"""The model store's files: which files make a model, its content id, copying them durably,
checking a stored folder the way an uploaded model zip is checked, removing a folder in one
step, and the lock that orders publishes between threads, processes and replicas.

Nothing read from the store is executed or unpickled: weights are safetensors, the rest JSON,
and rnnlm.checkpoint.load_model checks every byte against the checksums config.json records.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import threading
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path

from ..checkpoint import CONFIG_FILE, WEIGHTS_FILE, load_model, read_config, sha256_of
from ..errors import CheckpointError
from ..language_model import LanguageModel
from .model_zip import ALLOWED_FILES, CARD_FILE, FILE_LIMITS
from .session_store import remove_if_stale
from .store_meta import ID_HEX_CHARS, ID_PREFIX, MAX_META_BYTES, META_FILE

try:
    import fcntl
except ImportError:  # Windows: threads of one process are still ordered; processes are not
    fcntl = None

OPENED_FILE = ".opened"  # empty; its mtime is when the model was last opened (expiry, eviction)
STAGING_PREFIX, TRASH_PREFIX, LOCK_FILE = ".staging-", ".trash-", ".lock"
MODEL_FILES = tuple(name for name in ALLOWED_FILES if name != CARD_FILE)  # the card is built from meta.json
CHUNK = 1 << 20


def model_files(folder: Path) -> list[str]:
    """config.json and the files it lists (weights, tokenizer): what the id and a copy cover."""
    names = [CONFIG_FILE, *sorted(read_config(folder)["files"])]
    unexpected = sorted(set(names) - set(MODEL_FILES))
    if unexpected:
        raise CheckpointError(f"the model lists files {unexpected} that a shared model cannot carry")
    return names


def content_id(folder: Path) -> str:
    """u- and 32 hex digits of a sha256 over config.json and the sha256 it records for every other
    file. load_model checks those records against the bytes, so this covers the whole model:
    the same files always give the same id, and any other files a different one."""
    recorded = read_config(folder)["files"]
    lines = [f"{CONFIG_FILE} {sha256_of(folder / CONFIG_FILE)}"]
    lines += [f"{name} {recorded[name]}" for name in sorted(recorded)]
    digest = hashlib.sha256(("rnnlm-store-v1\n" + "\n".join(lines)).encode("utf-8")).hexdigest()
    return ID_PREFIX + digest[:ID_HEX_CHARS]


def fsync_folder(folder: Path) -> None:
    """Make a rename or a new file in folder durable (not every platform can open a folder)."""
    try:
        descriptor = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)


def write_durably(path: Path, data: bytes) -> None:
    with open(path, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


def copy_durably(source: Path, names: list[str], target: Path, max_bytes: int) -> int:
    """Copy the named files into target, each flushed to disk; the bytes copied. A file that grew
    past max_bytes since it was measured stops the copy (CheckpointError)."""
    copied = 0
    for name in names:
        with open(source / name, "rb") as reader, open(target / name, "wb") as writer:
            while block := reader.read(CHUNK):
                copied += len(block)
                if copied > max_bytes:
                    raise CheckpointError("the model's files changed while they were being copied; publish it again")
                writer.write(block)
            writer.flush()
            os.fsync(writer.fileno())
    return copied


def folder_bytes(folder: Path) -> int:
    try:
        return sum(entry.stat(follow_symlinks=False).st_size for entry in os.scandir(folder))
    except OSError:  # removed meanwhile
        return 0


def _check_entries(folder: Path, max_weights_bytes: int) -> list[str]:
    """Regular files with allowed names and sizes only (no links, no folders): the zip's rules."""
    allowed = {*MODEL_FILES, META_FILE, OPENED_FILE}
    limits = {**FILE_LIMITS, WEIGHTS_FILE: max_weights_bytes, META_FILE: MAX_META_BYTES, OPENED_FILE: 0}
    names = []
    for entry in os.scandir(folder):
        if entry.name not in allowed or not entry.is_file(follow_symlinks=False):
            raise CheckpointError(f"it holds {entry.name[:60]!r}, which a stored model may not")
        size = entry.stat(follow_symlinks=False).st_size
        if size > limits[entry.name]:
            raise CheckpointError(f"its {entry.name} is {size:,} bytes; the limit is {limits[entry.name]:,}")
        names.append(entry.name)
    missing = sorted({CONFIG_FILE, WEIGHTS_FILE, META_FILE, OPENED_FILE} - set(names))
    if missing:
        raise CheckpointError(f"it has no {', '.join(missing)}")
    return names


def check_stored(folder: Path, model_id: str, max_weights_bytes: int) -> LanguageModel:
    """Validate a stored model folder as an uploaded zip is validated (names, sizes, every file
    listed and checksummed, shapes, finite weights) and that its content is its id; the model."""
    names = _check_entries(folder, max_weights_bytes)
    unlisted = sorted(set(names) - set(read_config(folder)["files"]) - {CONFIG_FILE, META_FILE, OPENED_FILE})
    if unlisted:
        raise CheckpointError(f"it holds {unlisted}, which its {CONFIG_FILE} does not list")
    lm = load_model(folder, name=model_id)  # checksums, shapes, dimension limits, finite weights
    if content_id(folder) != model_id:
        raise CheckpointError("its files are not the model its id names")
    return lm


def remove_folder(folder: Path, root: Path) -> bool:
    """Take folder out of sight in one rename, then delete it; False if it was already gone.
    A reader that finds the folder finds all of it (or loses it between two files: see open)."""
    trash = Path(tempfile.mkdtemp(prefix=TRASH_PREFIX, dir=root))
    try:
        os.rename(folder, trash / "model")
    except FileNotFoundError:
        return False
    finally:
        shutil.rmtree(trash, ignore_errors=True)
    return True


def remove_leftovers(root: Path, max_age_seconds: float) -> None:
    """Delete staging and trash folders older than max_age_seconds: a killed publish's or removal's
    (real time, not the store's clock: these are the files' own times)."""
    for leftover in [*root.glob(STAGING_PREFIX + "*"), *root.glob(TRASH_PREFIX + "*")]:
        remove_if_stale(leftover, max_age_seconds)


def prune_marks(sessions: Path, stored: Callable[[str], bool]) -> None:
    """Forget which session added a model once the model is gone; drop sessions left with none."""
    for marks in sessions.iterdir():
        if not marks.is_dir() or marks.is_symlink():
            continue
        for mark in marks.iterdir():
            if not stored(mark.name):
                mark.unlink(missing_ok=True)
        if not any(marks.iterdir()):
            marks.rmdir()


_thread_locks: dict[str, threading.Lock] = {}
_guard = threading.Lock()


@contextmanager
def store_lock(root: Path):
    """Exclusive use of the store: a thread lock (flock alone does not order threads that share
    a descriptor) and an flock on <root>/.lock, which other processes and replicas take too
    (the kernel, or the NFS server for a shared volume, drops it when a process dies)."""
    with _guard:
        thread_lock = _thread_locks.setdefault(str(root.absolute()), threading.Lock())
    with thread_lock:
        descriptor = os.open(root / LOCK_FILE, os.O_CREAT | os.O_RDWR, 0o600)
        try:
            if fcntl is not None:
                fcntl.flock(descriptor, fcntl.LOCK_EX)
            yield
        finally:
            os.close(descriptor)  # releases the flock
