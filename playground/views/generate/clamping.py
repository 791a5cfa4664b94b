"""Generate's clamp controls, and the unclamped run beside a clamped one with the tokens that differ."""

import re
from dataclasses import replace
from itertools import zip_longest

import streamlit as st

from playground import state
from playground.widgets import blocks, generation
from playground.widgets.generation import Generation
from rnnlm.clamp import parse_clamps

PLAIN = "generate-unclamped"  # the kept unclamped run (state.remember)
LAYER, UNIT, QUANTITY, VALUE = "gen_clamp_layer", "gen_clamp_unit", "gen_clamp_quantity", "gen_clamp_value"
VALUE_RANGES = {"h": (-1.0, 1.0), "c": (-5.0, 5.0)}  # h is a tanh; an LSTM's c rarely leaves [-5, 5]


def add_clamp() -> None:
    s = st.session_state
    spec = f"{s[LAYER]}:{s[UNIT]}" + (":c" if s.get(QUANTITY) == "c" else "") + f"={s[VALUE]:g}"
    # split as parse_clamps does (commas or semicolons), so the list reads one way however it was typed
    kept = [part.strip() for part in re.split(r"[,;]", state.value(state.CLAMP)) if part.strip()]
    state.set_value(state.CLAMP, ", ".join([*kept, spec]))


def controls(info) -> None:
    with st.expander("Clamp units: hold a unit at a value at every step, and see what changes",
                     expanded=bool(state.value(state.CLAMP)), icon=":material/tune:"):
        st.text_input("Clamps", placeholder="1:42=0.9, 2:7:c=0", help="LAYER:UNIT=VALUE holds layer LAYER's unit "
                      "UNIT's hidden state h at VALUE while reading and writing (0 silences it); LAYER:UNIT:c=VALUE "
                      "holds an LSTM's cell state. Find units worth clamping on the Inspect page.",
                      **state.bind(state.CLAMP))
        layer, unit, quantity, value, add = st.columns([1, 1, 1, 2, 1], vertical_alignment="bottom")
        layer.selectbox("Layer", list(range(1, info.layers + 1)), key=LAYER)
        unit.number_input("Unit", 0, info.hidden_size - 1, key=UNIT)
        quantity.radio("State", ["h", "c"] if info.cell == "lstm" else ["h"], key=QUANTITY, horizontal=True)
        value.slider("Value", *VALUE_RANGES[st.session_state.get(QUANTITY) or "h"], 0.0, 0.05, key=VALUE)
        add.button("Add", icon=":material/add:", on_click=add_clamp, width="stretch")


def unclamped(lm, request) -> Generation:
    """The same request without its clamps: kept while it stays the same."""
    plain_request = replace(request, clamp="")
    kept = state.recall(PLAIN)
    if kept is not None and kept.request == plain_request:
        return kept
    result = generation.run(lm, plain_request, check_stop=blocks.stop_point)  # Stop works here too
    state.remember(PLAIN, result)
    return result


def differing(one: Generation, other: Generation) -> frozenset[int]:
    """Indices of the new tokens where the two runs differ (or one has ended)."""
    pairs = zip_longest(one.new_steps, other.new_steps)
    return frozenset(step.index for pair in pairs for step in pair
                     if step is not None and (None in pair or pair[0].token_id != pair[1].token_id))


def difference_caption(clamped: Generation, plain: Generation, marked: frozenset[int]) -> str:
    first = min(marked, default=None)
    if first is None:
        return "The clamp changed no token: this unit does not steer this text (its probabilities may still differ)."
    prompt = len(clamped.prompt_steps)
    return (f"Underlined: the {len(marked):,} tokens that differ; outlined: new token {first - prompt + 1:,}, where "
            "the runs part; "
            f"clamps: {', '.join(c.spec() for c in parse_clamps(clamped.request.clamp))}.")
