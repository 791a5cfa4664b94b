"""Models made or uploaded in this session, added to the model picker (state's registry).

Every page then finds them like shipped ones: blocks.catalogue() lists them and
resources.load() loads them from their folder. A name is made safe and unique here,
because pages show names in markdown and in the URL, and a session model with a
shipped model's name would be hidden by it.
"""

from __future__ import annotations

import math
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # annotations only: the first page is drawn before torch is imported
    from rnnlm import LanguageModel
    from rnnlm.service.jobs import JobResult
    from rnnlm.service.model_zip import ModelZipLimits

from playground import resources, state
from playground.catalogue import CORPUS_LABELS, IMPORTED_CORPUS, UPLOAD_CORPUS
from rnnlm.units import NOT_IN_PLAIN_NAME

MAX_NAME = 64


def safe_name(text: str) -> str:
    """A name state.add_session_model accepts, as close to text as possible."""
    name = NOT_IN_PLAIN_NAME.sub("-", text).lstrip("._-")[:MAX_NAME].rstrip("._-")
    return name or "model"


def taken_names() -> set[str]:
    return {entry["name"] for entry in resources.manifest()} | {e["name"] for e in state.session_model_entries()}


def unique_name(wanted: str, taken: set[str]) -> str:
    """wanted, or wanted-2, wanted-3, ... (still within the length limit)."""
    name, number = safe_name(wanted), 2
    candidate = name
    while candidate in taken:
        suffix = f"-{number}"
        candidate, number = name[:MAX_NAME - len(suffix)] + suffix, number + 1
    return candidate


def known_corpora() -> set[str]:
    """Corpora a session model may be filed under as it says: the shipped models' and the labelled ones."""
    return {str(entry["corpus"]) for entry in resources.manifest()} | set(CORPUS_LABELS)


def corpus_of(lm: LanguageModel, otherwise: str) -> str:
    """The corpus the model says it was trained on, if it is one we know; else otherwise. A zip's
    config.json is the uploader's text, and a playground job's says "upload", whoever's text it was."""
    corpus = str((lm.metadata.get("train_config") or {}).get("corpus", ""))
    return corpus if corpus in known_corpora() - {UPLOAD_CORPUS, IMPORTED_CORPUS} else otherwise


def _number(value) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return math.nan
    return number if math.isfinite(number) else math.nan


def entry_for(lm: LanguageModel, name: str, folder: Path, val_nats_per_char: float | None,
              corpus: str = UPLOAD_CORPUS) -> dict:
    """The manifest-like entry the catalogue reads (rnnlm.zoo.ENTRY_FIELDS plus path); corpus is
    where the picker files it unless the model names a corpus we know."""
    config = lm.config
    return {"name": name, "corpus": corpus_of(lm, corpus), "level": lm.level, "cell": config.cell,
            "layers": config.num_layers, "hidden_size": config.hidden_size, "embed_dim": config.embed_dim,
            "vocab_size": config.vocab_size, "parameters": config.parameter_count(),
            "val_nats_per_char": _number(val_nats_per_char),
            "training_minutes": _number(lm.metadata.get("minutes")), "path": str(folder)}


def registered(folder: Path | str) -> dict | None:
    return next((e for e in state.session_model_entries() if e["path"] == str(folder)), None)


def register_result(result: JobResult, held_out: str) -> dict:
    """Add a finished job's model to the picker, once; its entry."""
    if (entry := registered(result.model_dir)) is not None:
        return entry
    lm = resources.load_folder(str(result.model_dir), (Path(result.model_dir) / "config.json").stat().st_mtime)
    val = result.val_after
    if val is None and held_out:  # stopped before its first evaluation: measure it now
        from rnnlm import score_text

        val = score_text(lm, held_out).nats_per_char
    entry = entry_for(lm, unique_name(result.name, taken_names()), Path(result.model_dir), val)
    state.add_session_model(entry)
    return entry


def import_zip(data: bytes, file_name: str, folder: Path, limits: ModelZipLimits) -> dict:
    """Validate a model zip into folder and add it to the picker; CheckpointError if refused."""
    from rnnlm.service.model_zip import import_model_zip

    try:
        lm = import_model_zip(data, folder, limits=limits)
    except Exception:
        shutil.rmtree(folder, ignore_errors=True)  # a refused zip leaves no empty folder behind
        raise
    stem = Path(file_name.replace("\\", "/")).name.removesuffix(".zip").removesuffix(".ZIP")
    entry = entry_for(lm, unique_name(stem, taken_names()), folder, lm.metadata.get("val_nats_per_char"),
                      corpus=IMPORTED_CORPUS)
    state.add_session_model(entry)
    return entry
