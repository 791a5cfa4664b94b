"""Loading models once per process, shared by every session.

st.cache_resource hands the same LanguageModel object to every session and rerun, so a
page refresh never reloads weights. Because it is shared, nothing may mutate it: the
fine-tune page trains a copy (rnnlm.training.warm_start.start_from deep-copies the network).
"""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

import streamlit as st

import rnnlm
from playground.catalogue import ModelInfo

if TYPE_CHECKING:  # annotations only: the first page is drawn before torch is imported
    from rnnlm import LanguageModel
    from rnnlm.service.model_store import ModelStore

SESSION_MODELS_KEPT = 8  # models made in sessions come and go; keep memory bounded
SESSION_MODEL_SECONDS = 3600


@cache
def configure_threads_once() -> None:
    """Sampling is one small matrix-vector product per layer per token, and every session
    samples in its own thread: one BLAS thread each ran 5x faster than two fighting over
    2 busy cores (bench/bench_app.py, docs/DEPLOY.md). Torch keeps every core for scoring.
    Done on the first model load, not at import, so the first page needs no torch."""
    from rnnlm.runtime import configure_threads

    configure_threads(blas_threads=1)


@st.cache_resource(show_spinner="Loading the model…")
def load_shipped(name: str) -> LanguageModel:
    configure_threads_once()
    return rnnlm.load(name).warm_up()


@st.cache_resource(show_spinner="Loading the model…", max_entries=SESSION_MODELS_KEPT, ttl=SESSION_MODEL_SECONDS)
def load_folder(folder: str, modified: float) -> LanguageModel:
    """`modified` is part of the cache key: a folder rewritten in place is loaded afresh."""
    configure_threads_once()
    return rnnlm.load_model(folder).warm_up()


def modified_time(info: ModelInfo) -> float:
    """When a session model's folder was last written (0 if it is gone): part of cache keys,
    so a folder rewritten in place is loaded and computed afresh."""
    config = Path(info.path) / "config.json"
    return config.stat().st_mtime if config.exists() else 0.0


def model_key(info: ModelInfo) -> str:
    """Names a model's weights in the pages' caches: a session model rewritten in place gets a new key."""
    return f"{info.name}|{info.path}|{modified_time(info)}" if info.from_session else info.name


def model_store(root: str | None = None) -> ModelStore:
    """The shared model store (RNNLM_STORE, limits from the RNNLM_STORE_* settings), or the one at
    root. Made on every call (it keeps nothing in memory): the settings are read afresh."""
    from rnnlm.service.model_store import ModelStore
    from rnnlm.service.settings import from_env

    settings = from_env(os.environ)[0]  # a bad value is reported by the Fine-tune page (jobs_resource)
    if root is not None:
        return ModelStore(root, settings.store_limits)
    return ModelStore(settings.store_root, settings.store_limits, private=settings.store_dir is None)


@st.cache_resource(show_spinner="Opening the shared model…", max_entries=SESSION_MODELS_KEPT,
                   ttl=SESSION_MODEL_SECONDS)
def open_stored(root: str, model_id: str, modified: float) -> LanguageModel:
    """A model from the store, validated (ModelStore.open: a damaged one is removed and refused);
    `modified` is part of the key as for load_folder."""
    configure_threads_once()
    return model_store(root).open(model_id).lm.warm_up()


def load(info: ModelInfo) -> LanguageModel:
    if info.shared:
        return open_stored(info.entry["store"], info.name, modified_time(info))
    if info.from_session:
        return load_folder(str(Path(info.path)), modified_time(info))
    return load_shipped(info.name)


def model_folder(info: ModelInfo) -> Path:
    return Path(info.path) if info.from_session else rnnlm.resolve(info.name)


def manifest() -> list[dict]:
    """Read on every run (a small JSON file), so models published while the server runs appear."""
    return rnnlm.read_manifest()


@st.cache_resource(max_entries=4, show_spinner="Reading the validation text…")
def validation_text(corpus: str) -> str | None:
    """The held-out part of a corpus (the trainer's split) when its file is on this server (data/
    or ../shared/data/ next to the project), else the excerpt of it shipped in pretrained/heldout/
    (a deployment has no corpora), else None."""
    from rnnlm.corpus import corpus_file, split_corpus
    from rnnlm.zoo import heldout_excerpt

    path = corpus_file(corpus)
    if path is None or not path.is_file():
        return heldout_excerpt(corpus)
    return split_corpus(path.read_text(encoding="utf-8", errors="replace"), corpus)[1]


TRACES_KEPT, TRACE_MINUTES = 4, 20  # a trace is up to views/inspect/traces.TRACE_BUDGET_BYTES (64 MB)
TOP_GUESSES = 5


@st.cache_resource(max_entries=TRACES_KEPT, ttl=TRACE_MINUTES * 60, show_spinner="Reading the text through the model…")
def trace(model: str, text: str, _lm: LanguageModel, ids: tuple[int, ...] | None = None, clamp: str = ""):
    """text read through the model (rnnlm.interpret.Trace), shared by the pages that read texts
    (Inspect, Learn). A trace of a 2 x 512 LSTM is 24 KB a token and is only ever read, so it is
    kept with st.cache_resource: st.cache_data would unpickle a fresh copy on every rerun.
    ids, when given, are text's own tokens (a generation's); clamp: the generation's clamps
    (rnnlm.clamp spec), so the states are the clamped run's. `model` (model_key) stands for _lm."""
    from rnnlm.clamp import parse_clamps
    from rnnlm.interpret import trace_ids, trace_text

    clamps = parse_clamps(clamp)
    if ids is None:
        return trace_text(_lm, text, top_n=TOP_GUESSES, clamps=clamps)
    return trace_ids(_lm, ids, top_n=TOP_GUESSES, clamps=clamps)
