"""Lesson: how far back a plain RNN, an LSTM and a GRU of one corpus can look, measured two ways:
gradients over time, and the loss when the context is cut."""

import streamlit as st

from playground import catalogue as cat
from playground import resources, state
from playground.views.learn import cached, charts, keys, sources
from playground.widgets.token_html import markdown_literal
from rnnlm import RnnlmError

TEXT_CHARS = 20_000
MAX_LAG = {"char": 100, "word": 40}
CONTEXTS = {"char": (1, 2, 4, 8, 16, 32, 64, 128), "word": (1, 2, 4, 8, 16, 32, 64)}
FLOW_POSITIONS, MEMORY_POSITIONS = 32, 64


def cell_models(catalogue, corpus: str, level: str) -> list:
    """The best model of each cell for this corpus and level, plain RNN first."""
    chosen = {}
    for info in cat.options(catalogue, corpus=corpus, level=level):
        if not info.from_session and (info.cell not in chosen or info.val_nats_per_char < chosen[info.cell].val_nats_per_char):
            chosen[info.cell] = info
    return [chosen[c] for c in ("rnn", "lstm", "gru") if c in chosen]


def measure(models, text: str, level: str) -> tuple[dict, dict]:
    flows, memories = {}, {}
    bar = st.progress(0.0)
    for index, info in enumerate(models):
        def progress(fraction, index=index, info=info, what="gradients"):
            bar.progress((index + fraction) / len(models),
                         text=f"{markdown_literal(info.name)}: {what} ({index + 1} of {len(models)})")
        key, lm = resources.model_key(info), resources.load(info)
        flow = cached.flow(key, text, MAX_LAG[level], FLOW_POSITIONS, lm, _progress=progress)
        flows[info.name] = (info.cell, flow)
        curve = cached.memory(key, text, CONTEXTS[level], MEMORY_POSITIONS, lm,
                              _progress=lambda f, p=progress: p(f, what="context cuts"))
        memories[info.name] = (info.cell, curve.contexts, curve.nats_per_token, curve.full_nats_per_token)
    bar.empty()
    return flows, memories


def reach_text(flows: dict) -> str:
    parts = []
    for name, (_, flow) in flows.items():
        reach = flow.reach()
        parts.append(f"{markdown_literal(name)} {reach if reach is not None else f'over {flow.lags[-1]}'}")
    return ", ".join(parts)


def show(catalogue, info) -> None:
    st.markdown("Backpropagation through time multiplies the gradient by the recurrent Jacobian once per step back. "
                "In a **plain RNN** that product shrinks geometrically: the gradient from a token vanishes within "
                "tens of steps, so training cannot teach it long dependencies. An **LSTM**'s cell state and a "
                "**GRU**'s update gate give the gradient a path it can travel along nearly unchanged.")
    corpora = [c for c in cat.distinct(i.corpus for i in catalogue if not i.from_session and not i.smoke)
               if len(cell_models(catalogue, c, "char")) >= 2]
    if not corpora:
        st.info("No corpus has char models of two kinds of cell here.")
        return
    state.keep_valid(keys.LN_REACH_CORPUS, [info.corpus if info.corpus in corpora else corpora[0], *corpora])
    st.selectbox("Corpus", corpora, format_func=cat.corpus_label, **state.bind(keys.LN_REACH_CORPUS))
    corpus = state.value(keys.LN_REACH_CORPUS)
    models = cell_models(catalogue, corpus, "char")
    st.caption("Models: " + ", ".join(f"{markdown_literal(m.name)} ({m.shape})" for m in models))
    text, origin = sources.text_or_paste(corpus, TEXT_CHARS, keys.LN_REACH_TEXT, "Text to measure on", TEXT_CHARS)
    if len(text) < 400:
        st.info("The measurement needs a text of at least 400 characters.")
        return
    if not st.button("Measure", icon=":material/straighten:", type="primary", key="ln_reach_go") and \
            st.session_state.get("ln_reach_done") != (corpus, text):
        st.caption(f"Measures on {origin}: about ten seconds per model the first time.")
        return
    st.session_state["ln_reach_done"] = (corpus, text)
    try:
        flows, memories = measure(models, text, "char")
    except RnnlmError as exc:
        st.error(str(exc))
        return
    st.plotly_chart(charts.flow_figure(flows), key="ln_flow_chart")
    st.caption(f"Measured on {origin}, averaged over {FLOW_POSITIONS} positions. Steps back until the gradient "
               "falls below 1% of the nearest input's: " + reach_text(flows) + ".")
    st.plotly_chart(charts.memory_figure(memories), key="ln_memory_chart")
    st.caption("Where a curve meets its dotted line, older context stops helping that model: its effective memory. "
               "A gradient that reaches far is what lets training teach a model to use far context.")
