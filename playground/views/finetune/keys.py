"""The fine-tune page's controls and what it keeps in the session.

Its controls are canonical values like the sampling ones (state.bind() works on them), so a
visit to another page loses nothing the user typed. Uploaded files cannot be restored
into st.file_uploader, so the text read from them is kept instead (keep_upload).
"""

from __future__ import annotations

from typing import Any

import streamlit as st

FT_START, FT_BASE, FT_LEVEL, FT_PRESET, FT_CELL, FT_BUDGET, FT_MINUTES, FT_STEPS = (
    "ft_start", "ft_base", "ft_level", "ft_preset", "ft_cell", "ft_budget", "ft_minutes", "ft_steps")
FT_NAME, FT_PROMPT, FT_SEED, FT_PASTED = "ft_name", "ft_prompt", "ft_seed", "ft_pasted"
FINETUNE_DEFAULTS = {FT_START: "model", FT_LEVEL: "char", FT_PRESET: "small", FT_CELL: "lstm",
                     FT_BUDGET: "minutes", FT_MINUTES: 2.0, FT_STEPS: 500, FT_NAME: "", FT_PROMPT: "",
                     FT_SEED: 1, FT_PASTED: ""}
FT_UPLOADER, FT_ZIP_UPLOADER = "ft_files", "ft_model_zip"  # widget keys (file uploaders hold no canonical value)
_FT_UPLOAD, _FT_ZIPS_READ = "_ft_upload", "_ft_zips_read"


def start_finetune(model_names: list[str], default_model: str, max_minutes: float) -> None:
    """Defaults on the first visit; the base model stays one that exists, the budget one allowed."""
    for key, default in FINETUNE_DEFAULTS.items():
        st.session_state.setdefault(key, default)
    if st.session_state.get(FT_BASE) not in model_names:
        st.session_state[FT_BASE] = default_model
    st.session_state[FT_MINUTES] = min(float(st.session_state[FT_MINUTES]), max_minutes)


def kept_upload() -> Any:
    return st.session_state.get(_FT_UPLOAD)


def keep_upload(kept: Any) -> None:
    st.session_state[_FT_UPLOAD] = kept


def forget_upload() -> None:
    """The user changed the uploaded files: what was read from the old ones no longer applies."""
    st.session_state.pop(_FT_UPLOAD, None)


def model_zip_outcome(file_id: str) -> tuple[str, str] | None:
    """(kind, message) once this uploaded model zip was read: a file stays in its widget
    across reruns, and must be imported once, its message shown every time."""
    return st.session_state.get(_FT_ZIPS_READ, {}).get(file_id)


def set_model_zip_outcome(file_id: str, kind: str, message: str) -> None:
    st.session_state.setdefault(_FT_ZIPS_READ, {})[file_id] = (kind, message)
