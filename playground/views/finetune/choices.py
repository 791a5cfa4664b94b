"""The fine-tune page's choices (start from, budget, name) and starting a job; model zip upload.

A job is submitted to the server's JobManager (jobs_resource), which trains it in a child
process: the page only stores the job id, so leaving and coming back finds it again.
"""

from __future__ import annotations

import logging
from dataclasses import replace

import streamlit as st

from playground import catalogue as cat
from playground import jobs_resource, resources, session_models, state
from playground.catalogue import ModelInfo
from playground.views.finetune import keys
from playground.widgets.token_html import markdown_literal
from rnnlm import RnnlmError
from rnnlm.service.job_spec import PRESETS, JobSpec, numbered_name
from rnnlm.service.jobs import held_out_split
from rnnlm.service.model_zip import HOW_TO_FIX
from rnnlm.service.settings import FinetuneSettings
from rnnlm.service.uploads import UploadReport
from rnnlm.units import is_plain_name

log = logging.getLogger(__name__)
START_LABELS = {"model": "A trained model (fine-tune it)", "scratch": "Nothing (train a new model from scratch)"}
LEVEL_LABELS = {"char": "characters", "word": "words (SentencePiece)"}
PRESET_HELP = " · ".join(f"{name}: {p['num_layers']} × {p['hidden_size']}" for name, p in PRESETS.items())
BUDGET_LABELS = {"minutes": "a time budget", "steps": "a number of steps"}


def base_section(catalogue: list[ModelInfo]) -> ModelInfo | None:
    """The model to fine-tune, or None to train from scratch (then level, preset and cell)."""
    st.subheader("2 · Start from")
    st.radio("Start from", list(START_LABELS), format_func=START_LABELS.get, horizontal=True,
             label_visibility="collapsed", **state.bind(keys.FT_START))
    if state.value(keys.FT_START) == "model":
        names = [info.name for info in catalogue]
        st.selectbox("Model to fine-tune", names, format_func=lambda name: cat.find(catalogue, name).label,
                     help="Char models add your new characters to their vocabulary; word models keep their "
                          "tokenizer. The model you pick is never changed: training works on a copy.",
                     **state.bind(keys.FT_BASE))
        return cat.find(catalogue, state.value(keys.FT_BASE))
    level, preset, cell = st.columns(3)
    level.radio("Reads", list(LEVEL_LABELS), format_func=LEVEL_LABELS.get, **state.bind(keys.FT_LEVEL))
    preset.radio("Size", list(PRESETS), help=PRESET_HELP, **state.bind(keys.FT_PRESET))
    cell.radio("Cell", ["lstm", "gru"], format_func=lambda c: cat.CELL_LABELS[c], **state.bind(keys.FT_CELL))
    return None


def budget_section(settings: FinetuneSettings, report: UploadReport | None) -> None:
    st.subheader("3 · Train")
    budget, amount = st.columns([2, 3])
    budget.radio("Stop after", list(BUDGET_LABELS), format_func=BUDGET_LABELS.get, **state.bind(keys.FT_BUDGET))
    if state.value(keys.FT_BUDGET) == "minutes":
        amount.number_input("Minutes", 0.05, settings.max_minutes, step=0.5, format="%.2f",
                            **state.bind(keys.FT_MINUTES))
    else:
        amount.number_input("Steps", 1, 1_000_000, step=100, **state.bind(keys.FT_STEPS))
    with st.expander("Name, prompt and seed of the before/after samples"):
        st.text_input("Name in the model picker", max_chars=64, placeholder="Empty: made up from the base",
                      help="Letters, digits, '.', '_' and '-'", **state.bind(keys.FT_NAME))
        st.text_input("Prompt", max_chars=state.MAX_PROMPT_CHARS, placeholder="Empty: start from a fresh line",
                      **state.bind(keys.FT_PROMPT))
        st.number_input("Seed", 0, state.LIMITS[state.SEED][1], step=1, **state.bind(keys.FT_SEED))
    if report is not None:
        held_out = len(held_out_split(report.text)[1])
        st.caption(f"The last {held_out:,} characters of your text are held out: the model never trains on "
                   "them, and the loss on them shows whether it is learning your style or memorising.")


def name_problem(name: str) -> str | None:
    if not name:
        return None
    if not is_plain_name(name):
        return f"The name {name!r} cannot be used: use 1 to 64 letters, digits, '.', '_' or '-'."
    if name in session_models.taken_names():
        return f"A model named {name!r} already exists; choose another name."
    return None


def job_spec(report: UploadReport, base: ModelInfo | None) -> JobSpec:
    """The JobSpec of the page's controls (loads the base model: the shared, cached copy). Without
    a typed name, the next free one in this session's picker: its first fine-tune of a base is
    <base>-tuned-1 whatever other sessions did."""
    minutes = state.value(keys.FT_MINUTES) if state.value(keys.FT_BUDGET) == "minutes" else 0
    steps = int(state.value(keys.FT_STEPS)) if state.value(keys.FT_BUDGET) == "steps" else 0
    spec = JobSpec(text=report.text, base=resources.load(base) if base is not None else None,
                   level=state.value(keys.FT_LEVEL), preset=state.value(keys.FT_PRESET),
                   cell=state.value(keys.FT_CELL), minutes=float(minutes), steps=steps,
                   prompt=state.value(keys.FT_PROMPT), seed=int(state.value(keys.FT_SEED)),
                   name=state.value(keys.FT_NAME).strip())
    return spec if spec.name else replace(spec, name=numbered_name(spec.name_stem, session_models.taken_names()))


def submit(report: UploadReport, base: ModelInfo | None) -> str | None:
    """Queue the job; None, or the message saying why it cannot start."""
    problem = name_problem(state.value(keys.FT_NAME).strip())
    if problem:
        return problem
    try:
        spec = job_spec(report, base)
        job_id = jobs_resource.job_manager().submit(state.session_id(), spec)
    except RnnlmError as exc:  # too little text, a busy server, a base model that fails its checks
        return str(exc)
    jobs_resource.set_finetune_job(job_id, held_out_split(report.text)[1])
    return None


def start_button(report: UploadReport | None, base: ModelInfo | None, busy: bool) -> None:
    help_text = "Your earlier job is still running: cancel it or wait." if busy else None
    if st.button("Start training", type="primary", key="ft_start_button", icon=":material/model_training:",
                 disabled=report is None or busy, help=help_text):
        problem = submit(report, base)
        if problem:
            st.error(markdown_literal(problem))
        else:
            st.rerun()  # redraw the page with the job panel and the button disabled


def model_zip_section(settings: FinetuneSettings) -> None:
    st.subheader("Use a model you downloaded earlier")
    upload = st.file_uploader(f"Model zip, up to {settings.model_zip_mb:g} MiB (as downloaded from this page)",
                              type="zip", key=keys.FT_ZIP_UPLOADER, max_upload_size=settings.model_zip_widget_mb,
                              help=f"Checked like any model: no code runs, sizes and shapes are verified. This "
                                   f"server takes zips up to {settings.model_zip_mb:g} MiB (1 MiB = 1,048,576 bytes).")
    if upload is None:
        return
    if keys.model_zip_outcome(upload.file_id) is None:
        keys.set_model_zip_outcome(upload.file_id, *import_upload(upload, settings))
        st.rerun()  # the sidebar, drawn before this page, lists the new model on the next run
    kind, message = keys.model_zip_outcome(upload.file_id)
    if kind == "ok":
        st.success(message)  # a name state accepted: letters, digits, '.', '_', '-'
    else:
        st.error(markdown_literal(message))


def import_upload(upload, settings: FinetuneSettings) -> tuple[str, str]:
    """("ok" | "error", message): import the zip into this session's folder."""
    folder = jobs_resource.job_manager().store.new_folder(state.session_id(), "upload")
    try:
        entry = session_models.import_zip(upload.getvalue(), upload.name, folder, settings.model_zip_limits)
    except RnnlmError as exc:
        return "error", f"This zip cannot be used: {exc}"
    except Exception as exc:  # a bug, not the user's fault: still a message, never a traceback
        log.exception("importing a model zip failed")
        return "error", f"This zip could not be read ({type(exc).__name__}); {HOW_TO_FIX}"
    return "ok", f"Added `{entry['name']}` to the model picker for this session."
