"""The sidebar, drawn by app.py on every page: the model picker and the sampling controls.

The picker cascades corpus -> level -> cell -> model; each step offers only what exists
under the steps above it, and changing one step moves to the closest model that has it.
"""

from __future__ import annotations

import streamlit as st

from playground import catalogue as cat
from playground import state
from playground.catalogue import ModelInfo
from rnnlm.sampling import MAX_SEED
from rnnlm.units import nats_to_bits

LEVEL_LABELS = {"char": "characters", "word": "words"}


def model_picker(catalogue: list[ModelInfo]) -> None:
    bar = st.sidebar
    bar.subheader("Model")
    corpora = cat.distinct(info.corpus for info in catalogue)
    bar.selectbox("Trained on", corpora, format_func=cat.corpus_label, **state.bind_picker("corpus", catalogue))
    current = state.current_model(catalogue)
    levels = cat.distinct(info.level for info in cat.options(catalogue, corpus=current.corpus))
    bar.radio("Reads", levels, horizontal=True, format_func=lambda level: LEVEL_LABELS.get(level, level),
              **state.bind_picker("level", catalogue))
    cells = cat.distinct(info.cell for info in cat.options(catalogue, corpus=current.corpus, level=current.level))
    bar.radio("Cell", cells, horizontal=True, format_func=lambda cell: cat.CELL_LABELS.get(cell, cell),
              **state.bind_picker("cell", catalogue))
    same_kind = cat.options(catalogue, corpus=current.corpus, level=current.level, cell=current.cell)
    names = [info.name for info in same_kind]
    # Only the name: the sidebar is narrow, and the facts follow in the caption below.
    bar.selectbox("Model", names, format_func=lambda name: name + where(cat.find(catalogue, name)),
                  **state.bind_picker("name", catalogue))
    bar.caption(model_facts(current))


def where(info: ModelInfo) -> str:
    """Where a picked model lives: a shared link opens it anywhere, a session model only here."""
    return " · shared link" if info.shared else " · this session" if info.from_session else ""


def model_facts(info: ModelInfo) -> str:
    bits = nats_to_bits(info.val_nats_per_char)
    facts = (f"{info.shape} · {info.parameters:,} parameters · validation "
             f"**{info.val_nats_per_char:.3f} nats/char** ({bits:.2f} bits/char, lower is better)")
    if info.smoke:
        facts += " · ⚠️ smoke-test model: trained for seconds, expect gibberish"
    return facts


def sampling_controls() -> None:
    bar = st.sidebar
    bar.subheader("Sampling")
    bar.slider("Temperature", *state.LIMITS[state.TEMPERATURE], step=0.01,
               help="Divides the logits: below 1 is safer, above 1 wilder. 0 = greedy (always the likeliest token).",
               **state.bind(state.TEMPERATURE))
    bar.number_input("Top-k", *state.LIMITS[state.TOP_K], step=1,
                     help="Sample only among the k likeliest tokens. 0 = off.", **state.bind(state.TOP_K))
    bar.slider("Top-p", *state.LIMITS[state.TOP_P], step=0.01,
               help="Sample only among the likeliest tokens whose probabilities add up to p. 1 = off.",
               **state.bind(state.TOP_P))
    bar.number_input("Length (new tokens)", *state.LIMITS[state.LENGTH], step=50, **state.bind(state.LENGTH))
    bar.text_input("Stop after", max_chars=state.MAX_STOP_CHARS, placeholder="e.g. \\n\\n",
                   help="Generation ends right after this text appears. Type \\n for a new line (\\n\\n: a blank "
                        "line ends it), \\t for a tab.", **state.bind(state.STOP))
    seed_column, dice_column = bar.columns([4, 1], vertical_alignment="bottom")
    seed_column.number_input("Seed", 0, MAX_SEED, step=1, help="Same seed and settings, same text.",
                             **state.bind(state.SEED))
    dice_column.button("", icon=":material/casino:", key="roll_seed", on_click=state.roll_seed,
                       help="Random seed: a new sample")
