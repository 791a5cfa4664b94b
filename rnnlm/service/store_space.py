"""The model store's limits as decisions: may this model be stored, and which models make room.

Pure functions over what the store found on disk, so the rules are read (and tested) in one
place; ModelStore applies them under its lock. Each refusal says what happened and what to do.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..errors import RnnlmError
from .store_meta import MB, StoreLimits

KEEP_IT = "download the model (.zip) to keep it"


@dataclass(frozen=True)
class StoredEntry:
    model_id: str
    folder: Path
    last_opened: float  # seconds since the epoch
    size: int  # bytes of all its files


def _mib(size: float) -> str:
    return f"{size / MB:,.1f} MiB"


def check_size(size: int, limits: StoreLimits) -> None:
    """A model larger than one model may be, or than the whole store, is refused before any copy."""
    limit = min(limits.max_model_bytes, limits.max_total_bytes)
    if size > limit:
        which = "for one model" if limit == limits.max_model_bytes else "for all shared models together"
        raise RnnlmError(f"This model's files take {_mib(size)}; this server keeps {_mib(limit)} {which}, so it "
                         f"cannot be published: {KEEP_IT}, or fine-tune a smaller model.")


def check_session(live: int, limits: StoreLimits) -> None:
    """live: models this session added that are still stored."""
    if live >= limits.models_per_session:
        raise RnnlmError(f"This session has already shared {live} models, the most one session may "
                         f"({limits.models_per_session}); each frees its place when it expires "
                         f"({limits.expiry_days:g} days without being opened). Meanwhile, {KEEP_IT}.")


def eviction(entries: list[StoredEntry], size: int, limits: StoreLimits, now: float) -> list[StoredEntry]:
    """The least recently opened models to remove so that size more bytes fit; RnnlmError (and
    nothing to remove) when even every model that may go would not make room. A model opened
    within limits.keep_hours never goes: someone may have just shared its link."""
    excess = sum(entry.size for entry in entries) + size - limits.max_total_bytes
    if excess <= 0:
        return []
    protected_since = now - limits.keep_hours * 3600
    chosen, freed = [], 0
    for entry in sorted((e for e in entries if e.last_opened < protected_since), key=lambda e: e.last_opened):
        if freed >= excess:
            break
        chosen.append(entry)
        freed += entry.size
    if freed < excess:
        raise RnnlmError(f"The shared model store is full ({_mib(limits.max_total_bytes)}), and the models that "
                         f"would have to make room were all opened in the last {limits.keep_hours:g} h, so "
                         f"someone may be using their links. Try again later; meanwhile, {KEEP_IT}.")
    return chosen
