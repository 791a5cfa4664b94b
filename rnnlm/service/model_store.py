"""A server-side, content-addressed store of published models, shared by every server process
(and replica) that points at the same folder (RNNLM_STORE; see docs/DEPLOY.md).

    store = ModelStore(root, StoreLimits())
    model_id = store.publish(model_folder, PublishFacts(base="x", text_chars=16000), session_id)  # "u-<32 hex>"
    opened = store.open(model_id)     # .folder, .meta, .lm: validated like an uploaded zip; last opened = now
    store.card(model_id)              # markdown: what it was made from, before/after, when it expires
    store.sweep()                     # expired models, leftovers of killed publishes

Layout under root:

    models/u-<id>/      config.json, model.safetensors, tokenizer files, meta.json, .opened (mtime: last opened)
    sessions/<hash>/    one empty file per model a session added (the session id is hashed, never a path)
    .staging-*/ .trash-*/   a publish being copied / a folder being deleted
    .lock               flock: publishes, evictions and removals take turns across processes

A publish copies into a staging folder inside root, fsyncs, validates the copy, then renames it
to models/u-<id> under the lock: a reader finds a whole model or none, and two publishes of the
same model both succeed with one copy. Limits: size per model, models per session, total size
(least recently opened models are evicted to make room, except those opened within keep_hours),
expiry after expiry_days unopened. A refused publish leaves every stored model as it was.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import stat
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..errors import CheckpointError, RnnlmError
from ..language_model import LanguageModel
from .store_files import (
    OPENED_FILE,
    STAGING_PREFIX,
    check_stored,
    content_id,
    copy_durably,
    folder_bytes,
    fsync_folder,
    model_files,
    prune_marks,
    remove_folder,
    remove_leftovers,
    store_lock,
    write_durably,
)
from .store_meta import (
    DAY,
    MAX_META_BYTES,
    META_FILE,
    PublishFacts,
    StoredMeta,
    StoreLimits,
    card_text,
    is_store_id,
    parse_id,
)
from .store_space import StoredEntry, check_session, check_size, eviction

log = logging.getLogger(__name__)
MODELS, SESSIONS = "models", "sessions"
LEFTOVER_SECONDS = 3600.0  # a staging or trash folder this old belongs to a killed process


@dataclass(frozen=True)
class StoredModel:
    model_id: str
    folder: Path
    meta: StoredMeta
    lm: LanguageModel


def _session_key(session_id: str) -> str:
    return hashlib.sha256(str(session_id).encode("utf-8")).hexdigest()[:24]


def _without(problem: Exception, folder: Path) -> str:
    """problem's message without the server's paths (they mean nothing to the person reading it)."""
    return str(problem).replace(f"{folder}/", "").replace(str(folder), "the model")


class ModelStore:
    def __init__(self, root: Path | str, limits: StoreLimits | None = None, clock: Callable[[], float] = time.time,
                 private: bool = False):
        """private: root is a default under the shared temp dir, so it must be this user's own
        folder (not someone's symlink); a folder the operator named (RNNLM_STORE) is taken as given."""
        self.root, self.limits, self.clock = Path(root), limits or StoreLimits(), clock
        self.root.mkdir(parents=True, exist_ok=True, mode=0o700)
        if private:
            info = os.lstat(self.root)
            if not stat.S_ISDIR(info.st_mode) or (hasattr(os, "getuid") and info.st_uid != os.getuid()):
                raise RnnlmError(f"{self.root} is not a folder of this user's; set RNNLM_STORE to a folder for "
                                 "the shared model store")
        for sub in (MODELS, SESSIONS):
            (self.root / sub).mkdir(exist_ok=True)

    # --- names and times -----------------------------------------------------------------
    def folder(self, model_id: str) -> Path:
        return self.root / MODELS / parse_id(model_id)

    def last_opened(self, folder: Path) -> float:
        return (folder / OPENED_FILE).stat().st_mtime

    def expires_at(self, model_id: str) -> float:
        return self.last_opened(self.folder(model_id)) + self.limits.expiry_days * DAY

    def _touch(self, folder: Path) -> None:
        now = self.clock()
        os.utime(folder / OPENED_FILE, (now, now))

    def _expired(self, last_opened: float) -> bool:
        return self.clock() - last_opened > self.limits.expiry_days * DAY

    def entries(self) -> list[StoredEntry]:
        """Every stored model, oldest opening first."""
        found = []
        for folder in (self.root / MODELS).iterdir():
            try:
                parse_id(folder.name)
                found.append(StoredEntry(folder.name, folder, self.last_opened(folder), folder_bytes(folder)))
            except (RnnlmError, OSError):  # not ours, or removed meanwhile
                continue
        return sorted(found, key=lambda entry: entry.last_opened)

    def ids(self) -> list[str]:
        return sorted(entry.model_id for entry in self.entries())

    def used_bytes(self) -> int:
        return sum(entry.size for entry in self.entries())

    # --- publishing ------------------------------------------------------------------------
    def publish(self, model_folder: Path | str, facts: PublishFacts, session_id: str) -> str:
        """Store the model in model_folder; its id. The same model again: the same id, no second
        copy, nothing counted twice. RnnlmError saying what to do when a limit refuses it."""
        source = Path(model_folder)
        try:
            names = model_files(source)
            size, wanted = sum((source / name).stat().st_size for name in names), content_id(source)
        except (CheckpointError, OSError) as exc:  # server paths mean nothing to the person publishing
            raise CheckpointError(f"This model cannot be published: {_without(exc, source)}") from None
        check_size(size, self.limits)
        if self._reuse(wanted):
            return wanted
        staging = Path(tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=self.root))
        try:
            model_id, size = self._stage(source, names, facts, staging)
            with store_lock(self.root):
                self._sweep_locked()
                if self._reuse(model_id):  # a concurrent publish of the same model got there first
                    return model_id
                self._check_session(session_id)
                for victim in eviction(self.entries(), size, self.limits, self.clock()):
                    log.info("model store: evicting %s (last opened %s) to make room", victim.model_id,
                             time.ctime(victim.last_opened))
                    remove_folder(victim.folder, self.root)
                os.rename(staging, self.folder(model_id))
                fsync_folder(self.root / MODELS)
                self._mark(session_id, model_id)
            return model_id
        finally:
            shutil.rmtree(staging, ignore_errors=True)  # gone already when it was renamed

    def _reuse(self, model_id: str) -> bool:
        """True (and the model marked as opened now) when model_id is already stored."""
        try:
            self._touch(self.folder(model_id))
        except OSError:
            return False
        return True

    def _stage(self, source: Path, names: list[str], facts: PublishFacts, staging: Path) -> tuple[str, int]:
        """Copy, describe and validate the model in staging; (its id, its bytes)."""
        try:
            copy_durably(source, names, staging, self.limits.max_model_bytes)
            model_id = content_id(staging)
            write_durably(staging / META_FILE, StoredMeta.from_facts(model_id, facts, self.clock()).to_json().encode())
            write_durably(staging / OPENED_FILE, b"")
            self._touch(staging)
            check_stored(staging, model_id, self.limits.max_model_bytes)
        except (CheckpointError, OSError) as exc:
            raise CheckpointError(f"This model cannot be published: {_without(exc, staging)}") from None
        os.chmod(staging, 0o755)  # mkdtemp's folder is private; the store's root already is
        fsync_folder(staging)
        return model_id, folder_bytes(staging)

    def _marks(self, session_id: str) -> Path:
        return self.root / SESSIONS / _session_key(session_id)

    def _check_session(self, session_id: str) -> None:
        marks = self._marks(session_id)
        check_session(sum(self._stored(mark.name) for mark in marks.iterdir()) if marks.is_dir() else 0, self.limits)

    def _stored(self, name: str) -> bool:
        return is_store_id(name) and self.folder(name).is_dir()

    def _mark(self, session_id: str, model_id: str) -> None:
        marks = self._marks(session_id)
        marks.mkdir(exist_ok=True)
        (marks / model_id).touch()

    # --- opening ---------------------------------------------------------------------------
    def check(self, model_id: str) -> Path:
        """The folder of a stored, unexpired model, marked as opened now (no validation: open() does
        that); RnnlmError when it is not there. An expired model is removed here."""
        folder = self.folder(model_id)
        try:
            if folder.is_symlink():  # the store only ever renames real folders into models/
                raise FileNotFoundError(folder)
            last = self.last_opened(folder)
        except OSError:
            raise RnnlmError(f"No shared model {model_id} is on this server: it was not opened for "
                             f"{self.limits.expiry_days:g} days and expired, it was evicted to make room, or the "
                             "link is incomplete. Ask whoever shared it to publish it again.") from None
        if self._expired(last):
            with store_lock(self.root):
                try:
                    if self._expired(self.last_opened(folder)):  # not opened meanwhile by another process
                        remove_folder(folder, self.root)
                except OSError:
                    pass
            raise RnnlmError(f"The shared model {model_id} expired: nobody opened it for "
                             f"{self.limits.expiry_days:g} days, so it was removed. Ask whoever shared it to "
                             "publish it again.")
        self._touch(folder)
        return folder

    def open(self, model_id: str) -> StoredModel:
        """The stored model, validated as an uploaded zip is; a damaged one is removed and refused."""
        folder = self.check(model_id)
        identity = folder.stat().st_ino
        try:
            lm = check_stored(folder, model_id, self.limits.max_model_bytes)
            meta = self.meta(model_id)
        except (CheckpointError, OSError) as exc:
            raise self._drop_damaged(folder, identity, exc) from None
        return StoredModel(model_id, folder, meta, lm)

    def _drop_damaged(self, folder: Path, identity: int, problem: Exception) -> RnnlmError:
        """Remove the folder that failed its checks, unless it was replaced or removed meanwhile
        (a folder evicted while it was read is not damaged); the error to raise."""
        with store_lock(self.root):
            try:
                same = folder.stat().st_ino == identity
            except OSError:
                same = False
            if same:
                remove_folder(folder, self.root)
        if not same:
            return RnnlmError(f"The shared model {folder.name} was removed from the store while it was opened; "
                              "ask whoever shared it to publish it again.")
        log.warning("model store: removed damaged %s: %s", folder.name, problem)
        return CheckpointError(f"The shared model {folder.name} is damaged ({_without(problem, folder)}), so it "
                               "was removed from the store. Ask whoever shared it to publish it again.")

    def meta(self, model_id: str) -> StoredMeta:
        path = self.folder(model_id) / META_FILE
        if path.stat().st_size > MAX_META_BYTES:
            raise CheckpointError(f"{META_FILE} is larger than {MAX_META_BYTES:,} bytes")
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            raise CheckpointError(f"{META_FILE} is not UTF-8 text") from None
        return StoredMeta.from_json(model_id, text)

    def card(self, model_id: str) -> str:
        """Markdown: what the model was made from, its before/after figures, when it expires."""
        return card_text(self.meta(model_id), self.expires_at(model_id), self.limits.expiry_days)

    # --- housekeeping ----------------------------------------------------------------------
    def sweep(self) -> list[str]:
        """Remove expired models and what killed publishes left behind; the ids removed."""
        with store_lock(self.root):
            return self._sweep_locked()

    def _sweep_locked(self) -> list[str]:
        removed = [entry.model_id for entry in self.entries()
                   if self._expired(entry.last_opened) and remove_folder(entry.folder, self.root)]
        remove_leftovers(self.root, LEFTOVER_SECONDS)
        prune_marks(self.root / SESSIONS, self._stored)
        if removed:
            log.info("model store: removed %d expired model(s)", len(removed))
        return removed
