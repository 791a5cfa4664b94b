"""The Inspect page's text: what Generate just wrote, a pasted text, or a slice of the
model's held-out text; cut to the memory budget and read once through the model (cached)."""

import streamlit as st

from playground import catalogue as cat
from playground import resources, state
from playground.views.inspect import keys, traces
from playground.widgets.token_html import markdown_literal
from rnnlm.interpret import Trace

SOURCES = {"generated": "What Generate wrote", "pasted": "A pasted text", "validation": "A validation slice"}
MAX_PASTED_CHARS = 20_000


def chosen_text(info) -> tuple[str, tuple[int, ...] | None]:
    """The text to read, with its own token ids when it is this model's generation."""
    st.radio("Text to read", list(SOURCES), format_func=SOURCES.get, horizontal=True, **state.bind(keys.IN_SOURCE))
    source = state.value(keys.IN_SOURCE)
    if source == "generated":
        return generated_text(info)
    if source == "pasted":
        st.text_area("Text", height=140, max_chars=MAX_PASTED_CHARS, placeholder="Paste any text: code, a poem…",
                     **state.bind(keys.IN_PASTED))
        return state.value(keys.IN_PASTED), None
    return validation_slice(info), None


def generated_text(info) -> tuple[str, tuple[int, ...] | None]:
    generation = state.last_generation()
    if generation is None:
        st.info("Nothing generated in this session yet: generate a text on the Generate page, "
                "or read a pasted text or a validation slice.")
        return "", None
    st.caption(f"The prompt and the {len(generation.new_steps):,} tokens that "
               f"{markdown_literal(generation.request.model)} generated last.")
    # The generating model reads its own tokens: re-encoding the text can split it differently.
    own = generation.request.model == info.name
    return generation.text, tuple(step.token_id for step in generation.steps) if own else None


def validation_slice(info) -> str:
    validation = resources.validation_text(info.corpus)
    if not validation:
        st.warning(f"The training text of this model ({markdown_literal(cat.corpus_label(info.corpus))}) is not on "
                   "this server (data/ or ../shared/data/ next to the project): read a pasted text instead.")
        return ""
    length, again = st.columns([4, 1], vertical_alignment="bottom")
    length.slider("Characters", *traces.SLICE_CHARS, step=100, **state.bind(keys.IN_SLICE_CHARS))
    again.button("Another slice", icon=":material/casino:", key="in_another", on_click=keys.roll_slice,
                 width="stretch")
    st.caption(f"Held-out text of {markdown_literal(cat.corpus_label(info.corpus))}: the model never trained on it.")
    return traces.validation_slice(validation, state.value(keys.IN_SLICE_CHARS), state.value(keys.IN_SLICE_SEED))


def read_text(info, lm) -> tuple[str, Trace] | None:
    text, ids = chosen_text(info)
    if not text:
        return None
    budget = traces.token_budget(lm.config.num_layers, len(lm.quantities), lm.config.hidden_size)
    if len(text) > budget:
        st.caption(f"Reading the first {budget:,} of {len(text):,} characters (the memory budget for this model).")
        if ids is None:
            text = traces.fit_to_budget(text, budget)
        else:
            ids, chars = traces.ids_within(ids, [lm.tokenizer.token_text(i) for i in ids], budget)
            text = text[:chars]
    generation = state.last_generation()
    clamp = generation.request.clamp if ids is not None and generation is not None else ""
    if clamp:
        st.caption(f"Read with the generation's clamps ({markdown_literal(clamp)}), so the states below are "
                   "the clamped run's.")
    trace = resources.trace(resources.model_key(info), text, lm, ids, clamp)
    if not trace.token_ids:
        st.info("This text has no tokens to read.")
        return None
    return text, trace
