"""Compare page: one prompt, one set of settings and one seed through two to four models.

Each column is exactly what the Generate page (and the CLI) would give for that model,
with the model's loss on the prompt itself: which model finds this text most natural.
"""

import streamlit as st

from playground import catalogue as cat
from playground import resources, state
from playground.views.compare import temperatures
from playground.widgets import blocks
from playground.widgets.generation import Generation
from rnnlm import RnnlmError, score_text

PAGE = "compare"
VARY = {"models": "Models", "temperature": "Temperature (one model)"}
VARY_KEY = "cmp_vary"  # widget key: session-only


def prompt_loss(lm, prompt: str, kept: dict) -> float | None:
    """nats/char of the prompt under this model; kept between runs (same model, same prompt)."""
    if not prompt:
        return None
    key = ("loss", lm.name, prompt)
    if key not in kept:
        # float32, as the Generate page's probabilities are: a prompt is short, and bfloat16 products
        # moved this figure by 0.02 nats/char on a six-character prompt
        kept[key] = score_text(lm, prompt, precision="float32").nats_per_char
    return kept[key]


def column(info, request, kept: dict, pressed: bool) -> tuple[Generation, float | None]:
    st.subheader(info.name)
    st.caption(f"{cat.corpus_label(info.corpus)} · {info.shape} · val {info.val_nats_per_char:.3f} nats/char")
    loss_slot, output = st.empty(), st.empty()
    lm = resources.load(info)
    loss = prompt_loss(lm, request.prompt, kept)
    loss_slot.markdown(f"Prompt: **{loss:.3f} nats/char**" if loss is not None else "Prompt: empty")
    if pressed or request not in kept:
        kept[request] = blocks.stream(output, lm, request)
    blocks.coloured_text(output, kept[request])
    st.caption(blocks.summary(kept[request]))
    return kept[request], loss


def summary_rows(results: list[tuple]) -> list[dict]:
    rows = []
    for info, result, loss in results:
        new = result.new_steps
        rows.append({"model": info.name, "prompt nats/char": None if loss is None else round(loss, 4),
                     "val nats/char": round(info.val_nats_per_char, 4),
                     "mean model p(chosen)": round(sum(s.model_prob for s in new) / max(len(new), 1), 4),
                     "mean entropy (nats)": round(sum(s.entropy for s in new) / max(len(new), 1), 3),
                     "characters": len(result.generated_text)})
    return rows


def show() -> None:
    catalogue = blocks.catalogue()
    st.title("Compare")
    st.caption("The same prompt, settings and seed through several models: LSTM vs GRU, "
               "characters vs words, one corpus vs another; or one model at several temperatures. Length counts "
               "tokens, so word models write more.")
    st.session_state[VARY_KEY] = "temperature" if state.value(state.TEMPS) else "models"  # the link decides
    st.segmented_control("Vary", list(VARY), format_func=VARY.get, required=True, key=VARY_KEY,
                         on_change=temperatures.switch, args=(VARY_KEY,))
    if state.value(state.TEMPS):
        blocks.prompt_box()
        pressed = st.button("Generate all", type="primary", key="compare_generate")
        temperatures.show(state.current_model(catalogue), pressed)
        return
    st.multiselect("Models (2 to 4)", [info.name for info in catalogue], max_selections=state.COMPARE_COUNT[1],
                   format_func=lambda name: cat.find(catalogue, name).label, **state.bind(state.MODELS))
    blocks.prompt_box()
    names = state.compare_models()
    if len(names) < state.COMPARE_COUNT[0]:
        st.info("Pick at least two models to compare.")
        return
    pressed = st.button("Generate all", type="primary", key="compare_generate")
    previous = state.recall(PAGE) or {}
    base, kept, results = state.request(), {}, []
    kept.update({key: loss for key, loss in previous.items() if isinstance(key, tuple) and key[2] == base.prompt})
    for slot, name in zip(st.columns(len(names)), names):
        info = cat.find(catalogue, name)
        request = base.for_model(name)
        if request in previous:
            kept[request] = previous[request]
        with slot:
            try:
                result, loss = column(info, request, kept, pressed)
            except RnnlmError as exc:
                st.error(str(exc))
                continue
        results.append((info, result, loss))
    state.remember(PAGE, kept)
    st.dataframe(summary_rows(results), hide_index=True, width="stretch",
                 column_config={"model": st.column_config.TextColumn("model", width="medium")})  # whole names
    blocks.share_link(state.COMPARE_PARAMS, [info for info, _, _ in results])


show()
