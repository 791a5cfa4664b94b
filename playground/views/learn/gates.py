"""Lesson: the LSTM/GRU equations filled in with a real model's numbers for one unit at one token."""

import streamlit as st

from playground import catalogue as cat
from playground import resources, state
from playground.views.learn import charts, keys, sources
from playground.widgets.token_html import markdown_literal, visible_token
from rnnlm import RnnlmError
from rnnlm.lessons.gates import busiest_unit, unit_step

MAX_CHARS = 600


def equations(cell: str, v: dict) -> list[str]:
    """LaTeX lines: each equation with this step's numbers."""
    if cell == "lstm":
        return [(rf"i_t = {v['input']:.3f} \quad f_t = {v['forget']:.3f} \quad o_t = {v['output']:.3f} \quad "
                rf"g_t = \tanh(\dots) = {v['candidate']:.3f}"),
                (rf"c_t = f_t\,c_{{t-1}} + i_t\,g_t = {v['forget']:.3f} \times ({v['c_prev']:.3f}) + "
                rf"{v['input']:.3f} \times ({v['candidate']:.3f}) = {v['recomputed']:.3f}"),
                rf"h_t = o_t \tanh(c_t) = {v['output']:.3f} \times \tanh({v['c']:.3f}) = {v['recomputed_h']:.3f}"]
    if cell == "gru":
        return [(rf"r_t = {v['reset']:.3f} \quad z_t = {v['update']:.3f} \quad "
                rf"n_t = \tanh(W_n x_t + r_t (U_n h_{{t-1}})) = {v['candidate']:.3f}"),
                (rf"h_t = (1 - z_t)\,n_t + z_t\,h_{{t-1}} = (1 - {v['update']:.3f}) \times ({v['candidate']:.3f}) + "
                rf"{v['update']:.3f} \times ({v['h_prev']:.3f}) = {v['recomputed']:.3f}")]
    return [rf"h_t = \tanh(W x_t + U h_{{t-1}} + b) = {v['h']:.3f} \quad (h_{{t-1}} = {v['h_prev']:.3f})",
            r"\text{A plain RNN has no gates: every step rewrites all of } h."]


def reading(cell: str, v: dict) -> str:
    """What the numbers mean, in words."""
    if cell == "lstm":
        keep = "keeps" if v["forget"] > 0.9 else ("forgets" if v["forget"] < 0.1 else "partly keeps")
        write = "writes" if v["input"] > 0.9 else ("ignores the input" if v["input"] < 0.1 else "partly writes")
        return f"This unit {keep} its memory and {write}; its output gate lets {v['output']:.0%} of it out."
    if cell == "gru":
        return (f"This unit keeps {v['update']:.0%} of its previous state and takes {1 - v['update']:.0%} "
                "from the candidate.")
    return "Without gates the state is a squashed mix of the input and the previous state at every step."


def show(_catalogue, info) -> None:
    st.markdown(f"One unit of **{markdown_literal(info.name)}** ({cat.CELL_LABELS.get(info.cell, info.cell)}) at one "
                "token: the lecture's equations with the model's own gate values. The last line is recomputed from "
                "the gates, and matches the state the model stored.")
    generation = state.last_generation()
    if generation is not None and generation.request.model == info.name and generation.new_steps and \
            st.toggle("Read what Generate just wrote", value=True, key="ln_gate_generated"):
        text = generation.text[:MAX_CHARS]
        st.caption("The prompt and the text this model generated last, read again step by step "
                   "(with the Generate page's clamps, if any, the numbers below are the unclamped model's).")
    else:
        text, _ = sources.text_or_paste(info.corpus, 300, keys.LN_GATE_TEXT, "Text the model reads", MAX_CHARS)
    if not text.strip():
        st.info("Paste a text for the model to read.")
        return
    try:
        trace = resources.trace(resources.model_key(info), text, resources.load(info))
    except RnnlmError as exc:
        st.error(str(exc))
        return
    tokens = len(trace.token_ids)
    layer_box, unit_box = st.columns(2)
    layers = trace.states.shape[1]
    state.keep_valid(keys.LN_GATE_LAYER, list(range(layers)))
    layer_box.selectbox("Layer", list(range(layers)), format_func=lambda i: f"layer {i + 1}",
                        **state.bind(keys.LN_GATE_LAYER))
    layer = state.value(keys.LN_GATE_LAYER)
    if keys.LN_GATE_UNIT not in st.session_state:
        st.session_state[keys.LN_GATE_UNIT] = busiest_unit(trace, layer)
    unit = unit_box.number_input("Unit", 0, trace.states.shape[3] - 1, key=keys.LN_GATE_UNIT,
                                 help="Starts on the unit that varies most over this text")
    if tokens < 2:
        st.info("The text needs at least two tokens: the equations use the state before the token.")
        return
    st.session_state[keys.LN_GATE_POSITION] = min(max(state.value(keys.LN_GATE_POSITION), 1), tokens - 1)
    st.slider("Token", 1, max(tokens - 1, 2), disabled=tokens < 3, **state.bind(keys.LN_GATE_POSITION))
    position = state.value(keys.LN_GATE_POSITION)
    before = "".join(trace.token_texts[max(0, position - 30):position])
    st.markdown(f"Reading **`{visible_token(trace.token_texts[position])}`** after "
                f"“{markdown_literal(before[-60:])}”")
    values = unit_step(trace, layer, unit, position)
    for line in equations(info.cell, values):
        st.latex(line)
    st.caption(reading(info.cell, values))
    st.plotly_chart(charts.unit_track_figure(trace, layer, unit, position), key="ln_gate_track")
