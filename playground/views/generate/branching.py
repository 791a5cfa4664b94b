"""Generate's branch control: pick a generated token, choose one of its alternatives, and
continue from that choice; earlier branches stay one click away."""

import streamlit as st

from playground import state
from playground.widgets.generation import Generation
from playground.widgets.token_html import percent, visible_token
from rnnlm.branching import forced_text, parse_forced

POSITION, CHOICE, HISTORY = "gen_branch_position", "gen_branch_choice", "gen_branches"


def branch(position: int, token_id: int) -> None:
    """Force new token `position` (from 0) to token_id; later forced tokens belonged to the old branch."""
    current = state.value(state.FORCE)
    kept = [(p, t) for p, t in parse_forced(current) if p < position]
    history = st.session_state.setdefault(HISTORY, [])
    if current not in history:
        history.append(current)
    state.set_value(state.FORCE, forced_text((*kept, (position, token_id))))


def go_back(spec: str) -> None:
    state.set_value(state.FORCE, spec)


def forced_indices(result: Generation) -> frozenset[int]:
    """Step indices of the forced tokens, to outline them in the text."""
    prompt = len(result.prompt_steps)
    return frozenset(prompt + position for position, _ in parse_forced(result.request.force))


def controls(result: Generation) -> None:
    new = result.new_steps
    if not new:
        return
    with st.expander("Branch: pick another token and continue from it", icon=":material/call_split:",
                     expanded=bool(state.value(state.FORCE))):
        st.number_input("New token #", 1, len(new), key=POSITION, help="Hover a token in the text to see its number")
        position = min(int(st.session_state.get(POSITION) or 1), len(new)) - 1
        step = new[position]
        options = [(text, token_id, probability) for text, token_id, probability in step.top if token_id != step.token_id]
        st.caption(f"Token {position + 1} is “{visible_token(step.text)}” ({percent(step.model_prob)}); "
                   "its alternatives:")
        if options:
            choice = st.radio("Alternative", range(len(options)), key=CHOICE, horizontal=True,
                              format_func=lambda i: f"“{visible_token(options[i][0])}” {percent(options[i][2])}")
            st.button("Continue from this choice", icon=":material/call_split:", on_click=branch,
                      args=(position, options[min(choice or 0, len(options) - 1)][1]), type="primary")
        if state.value(state.FORCE):
            st.caption(f"This text's forced tokens (position:token id): {state.value(state.FORCE)}; outlined in it.")
        history = [spec for spec in st.session_state.get(HISTORY, []) if spec != state.value(state.FORCE)]
        for index, spec in enumerate(history):
            st.button(f"Back to {'the unbranched text' if not spec else 'branch ' + spec}", key=f"gen_back_{index}",
                      on_click=go_back, args=(spec,))
