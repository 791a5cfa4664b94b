"""Loading models once per process, shared by every session.

st.cache_resource hands the same LanguageModel object to every session and rerun, so a
page refresh never reloads weights. Because it is shared, nothing may mutate it: the
fine-tune page trains a copy (rnnlm.finetune.start_from deep-copies the network).
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

import rnnlm
from rnnlm import LanguageModel
from rnnlm.runtime import configure_threads

from .catalogue import ModelInfo

# Sampling is one small matrix-vector product per layer per token, and every session
# samples in its own thread: one BLAS thread each ran 5x faster than two fighting over
# 2 busy cores (bench/bench_app.py, docs/DEPLOY.md). Torch keeps every core for scoring.
configure_threads(blas_threads=1)

SESSION_MODELS_KEPT = 8  # models made in sessions come and go; keep memory bounded
SESSION_MODEL_SECONDS = 3600


@st.cache_resource(show_spinner="Loading the model…")
def load_shipped(name: str) -> LanguageModel:
    return rnnlm.load(name)


@st.cache_resource(show_spinner="Loading the model…", max_entries=SESSION_MODELS_KEPT, ttl=SESSION_MODEL_SECONDS)
def load_folder(folder: str, modified: float) -> LanguageModel:
    """`modified` is part of the cache key: a folder rewritten in place is loaded afresh."""
    return rnnlm.load_model(folder)


def load(info: ModelInfo) -> LanguageModel:
    if info.from_session:
        folder = Path(info.path)
        return load_folder(str(folder), (folder / "config.json").stat().st_mtime)
    return load_shipped(info.name)


def model_folder(info: ModelInfo) -> Path:
    return Path(info.path) if info.from_session else rnnlm.resolve(info.name)


def manifest() -> list[dict]:
    """Read on every run (a small JSON file), so models published while the server runs appear."""
    return rnnlm.read_manifest()
