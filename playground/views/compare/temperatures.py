"""Compare's temperature sweep: one model, one prompt and seed, several temperatures side by side.

Lower temperature sharpens the model's distribution (safer, more repetitive text), higher
flattens it (more surprising, more mistakes): the summary puts numbers on that trade-off.
"""

from dataclasses import replace

import streamlit as st

from playground import resources, state
from playground.widgets import blocks
from playground.widgets.generation import Generation
from playground.widgets.token_html import markdown_literal

PAGE = "compare-temperatures"
CHOICES = (0.0, 0.2, 0.5, 0.8, 1.0, 1.2, 1.5, 2.0)
DEFAULT = "0.2,0.5,0.8,1.2"
PICKED = "cmp_temperatures"  # widget key; the canonical value is state.TEMPS (in the link)


def switch(vary_key: str) -> None:
    """Vary: Temperature starts a sweep at the default temperatures; Models ends it."""
    state.set_value(state.TEMPS, DEFAULT if st.session_state[vary_key] == "temperature" else "")


def picked() -> None:
    chosen = sorted(st.session_state[PICKED])
    state.set_value(state.TEMPS, ",".join(f"{t:g}" for t in chosen) if chosen else state.value(state.TEMPS))


def sweep_rows(results: list[tuple[float, Generation]]) -> list[dict]:
    rows = []
    for temperature, result in results:
        new = result.new_steps
        count = max(len(new), 1)
        rows.append({"temperature": temperature,
                     "mean model p(chosen)": round(sum(s.model_prob for s in new) / count, 4),
                     "mean p as sampled": round(sum(s.prob for s in new) / count, 4),
                     "mean entropy (nats)": round(sum(s.entropy for s in new) / count, 3),
                     "distinct tokens": f"{len({s.token_id for s in new}) / count:.0%}",
                     "characters": len(result.generated_text)})
    return rows


def show(info, pressed: bool) -> None:
    temperatures = [float(t) for t in state.value(state.TEMPS).split(",")]
    st.session_state[PICKED] = temperatures
    st.multiselect("Temperatures (2 to 4)", sorted({*CHOICES, *temperatures}), max_selections=4, key=PICKED,
                   on_change=picked, format_func=lambda t: f"{t:g}" + (" (greedy)" if t == 0 else ""))
    if len(temperatures) < 2:
        st.info("Pick at least two temperatures.")
        return
    st.caption(f"**{markdown_literal(info.name)}** (the sidebar's model), the sidebar's prompt, seed and other "
               "settings; only the temperature changes.")
    base, previous, kept, results = state.request(), state.recall(PAGE) or {}, {}, []
    lm = resources.load(info)
    for slot, temperature in zip(st.columns(len(temperatures)), temperatures):
        request = replace(base, temperature=temperature)
        with slot:
            st.subheader(f"T = {temperature:g}")
            output = st.empty()
            kept[request] = previous[request] if request in previous and not pressed else blocks.stream(output, lm, request)
            blocks.coloured_text(output, kept[request])
            st.code(request.cli_command(info.path if info.from_session else None), language="bash", wrap_lines=True)
        results.append((temperature, kept[request]))
    state.remember(PAGE, kept)
    st.dataframe(sweep_rows(results), hide_index=True, width="stretch")
    st.caption("Model p(chosen): the probability the model itself (temperature 1) gave each sampled token; low "
               "temperatures pick likely tokens but repeat themselves (fewer distinct tokens).")
    blocks.share_link(state.SWEEP_PARAMS, [info])
