"""Lesson: exploding gradients, and what clipping does about them (a live experiment)."""

import math

import streamlit as st

from playground.views.learn import cached, charts, keys, sources
from playground.widgets.token_html import markdown_literal
from rnnlm import RnnlmError
from rnnlm.lessons.clipping import ClippingSettings

EXPERIMENT_CHARS = 20_000


def settings_form() -> ClippingSettings | None:
    d = ClippingSettings()
    with st.form(keys.LN_CLIP_SETTINGS, border=True):
        a, b, c, e = st.columns(4)
        lr = a.slider("Learning rate (SGD)", 0.1, 10.0, d.lr, 0.1)
        scale = b.slider("Recurrent weights' scale", 0.5, 4.0, d.recurrent_scale, 0.1,
                         help="Every singular value of the initial recurrent matrix: above 1, gradients can explode")
        threshold = c.slider("Clip threshold", 0.1, 10.0, d.threshold, 0.1)
        steps = e.slider("Steps", 50, 500, d.steps, 50)
        seed = st.number_input("Seed", 0, 10_000, d.seed)
        run = st.form_submit_button("Train both", icon=":material/play_arrow:", type="primary")
    settings = ClippingSettings(steps=steps, lr=lr, recurrent_scale=scale, threshold=threshold, seed=seed)
    if run:
        st.session_state["ln_clip_last"] = settings
    return st.session_state.get("ln_clip_last")


def show(_catalogue, info) -> None:
    st.markdown("Two copies of one small plain RNN (tanh, 64 units), same seed, same text, same batches: one "
                "clips its gradient to a norm of the threshold, the other does not. With recurrent weights above "
                "1, some windows' gradients come out hundreds of times larger than the rest: unclipped, one such "
                "step throws the weights away and the loss jumps; clipped, the same step is scaled down.")
    text, origin = sources.text_or_paste(info.corpus, EXPERIMENT_CHARS, keys.LN_CLIP_TEXT, "Training text",
                                         EXPERIMENT_CHARS)
    settings = settings_form()
    if settings is None:
        st.caption(f"Trains on {origin}. Takes a few seconds; any click stops it.")
        return
    bar = st.progress(0.0, text="Training without clipping, then with it…")
    try:
        plain, clipped = cached.clipping(text, settings, _progress=lambda f: bar.progress(f))
    except RnnlmError as exc:
        bar.empty()
        st.error(f"{markdown_literal(str(exc))}. Change the settings or the text.", icon=":material/block:")
        return
    bar.empty()
    st.plotly_chart(charts.clipping_figure((plain, clipped), settings.threshold), key="ln_clip_chart")
    columns = st.columns(2)
    for column, run in zip(columns, (plain, clipped)):
        title = f"Clipped at {settings.threshold:g}" if run.clipped else "Not clipped"
        ending = (f"NaN at step {run.diverged_at}" if run.diverged_at is not None
                  else f"{run.final_loss:.3f} nats/char")
        column.metric(f"{title}: loss of the last 20 steps", ending, help="Mean loss of the last 20 steps' batches")
        column.caption(f"Largest gradient norm {max(run.grad_norms):.3g}; {len(run.spikes())} spikes "
                       "(over 10x the median).")
    st.caption(f"Trained on {origin}. A uniform guess over its {len(set(text))} characters costs "
               f"{math.log(max(len(set(text)), 1)):.2f} nats/char.")
