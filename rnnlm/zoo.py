"""The shipped models: pretrained/manifest.json, and finding a model by name or path."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import CheckpointError

if TYPE_CHECKING:  # reading the manifest must not cost a torch import; loading a model does
    from .language_model import LanguageModel

PRETRAINED_DIR = Path(os.environ.get("RNNLM_PRETRAINED", Path(__file__).resolve().parent.parent / "pretrained"))
MANIFEST_FILE = "manifest.json"
HELDOUT_DIR = "heldout"  # pretrained/heldout/<corpus>.txt: an excerpt of each corpus's validation split
ENTRY_FIELDS = ("name", "corpus", "level", "cell", "layers", "hidden_size", "parameters", "val_nats_per_char")


def read_manifest(pretrained_dir: Path = PRETRAINED_DIR) -> list[dict]:
    """Manifest entries, each with at least ENTRY_FIELDS; empty if nothing is shipped."""
    path = Path(pretrained_dir) / MANIFEST_FILE
    if not path.is_file():
        return []
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise CheckpointError(f"{path} is not valid JSON ({exc})") from None
    entries = manifest.get("models") if isinstance(manifest, dict) else None
    if not isinstance(entries, list):
        raise CheckpointError(f"{path} must be an object with a 'models' list")
    for entry in entries:
        missing = [f for f in ENTRY_FIELDS if f not in entry]
        if missing:
            raise CheckpointError(f"{path}: entry {entry.get('name', '?')!r} lacks {missing}")
    return entries


def update_manifest(entry: dict, pretrained_dir: Path = PRETRAINED_DIR) -> None:
    """Add or replace (by name) one model's entry; entries stay sorted by name."""
    path = Path(pretrained_dir) / MANIFEST_FILE
    manifest = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {"models": []}
    manifest["models"] = sorted([m for m in manifest["models"] if m["name"] != entry["name"]] + [entry],
                                key=lambda m: m["name"])
    path.write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def model_names(pretrained_dir: Path = PRETRAINED_DIR) -> list[str]:
    return [entry["name"] for entry in read_manifest(pretrained_dir)]


def resolve(name_or_path: str, pretrained_dir: Path = PRETRAINED_DIR) -> Path:
    """A shipped model's folder by name, or any model folder by path."""
    return _locate(name_or_path, pretrained_dir)[0]


def _locate(name_or_path: str, pretrained_dir: Path) -> tuple[Path, str]:
    """(folder, display name): one manifest read, whether a name or a path was given."""
    names = model_names(pretrained_dir)
    if name_or_path in names:
        return Path(pretrained_dir) / name_or_path, name_or_path
    path = Path(name_or_path).expanduser()
    if path.is_dir():
        return path, path.name
    known = ", ".join(names) or "none shipped"
    raise CheckpointError(f"no model named or at {name_or_path!r}; shipped models: {known}; "
                          "or give the path of a model folder")


def load(name_or_path: str, pretrained_dir: Path = PRETRAINED_DIR) -> LanguageModel:
    from .checkpoint import load_model

    folder, name = _locate(name_or_path, pretrained_dir)
    return load_model(folder, name=name)


def heldout_excerpt(corpus: str, pretrained_dir: Path | None = None) -> str | None:
    """The shipped excerpt of a corpus's validation split (train/heldout.py writes it), so that
    pages which read held-out text work on a server without the corpora; None if not shipped."""
    path = Path(pretrained_dir or PRETRAINED_DIR) / HELDOUT_DIR / f"{corpus}.txt"
    return path.read_text(encoding="utf-8") if path.is_file() else None
