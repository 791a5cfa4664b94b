"""The Score page's table: the same text scored by every model of the chosen model's level.

The models are scored side by side on rnnlm.score_many's shared workers (one per core, each with
one torch thread), so on 2 cores two models are read at once; the page's own thread only waits,
redrawing one bar with how far the whole comparison is and which models are reading.
"""

import streamlit as st

from playground import catalogue as cat
from playground import resources
from playground.views.score import cached
from playground.widgets.token_html import markdown_literal
from rnnlm import RnnlmError
from rnnlm.score_many import ScoreJob, wait_all


def progress(jobs: list[ScoreJob], level: str) -> tuple[float, str]:
    """The bar's value and words: the share of all the reading done, which models are reading now."""
    fraction = min(sum(job.fraction for job in jobs) / max(len(jobs), 1), 1.0)
    finished = sum(job.future.done() for job in jobs)
    words = f"Scoring with every {level}-level model: {finished} of {len(jobs)} done"
    reading = [markdown_literal(job.name) for job in jobs if job.running]
    if reading:
        words += f", reading with {', '.join(reading)}"
    return fraction, f"{words} ({fraction:.0%})"


def loaded_models(models, warn) -> dict[str, tuple[str, object]]:
    """name -> (model key, model) of every model that loads; warn(name, error) for the others."""
    found = {}
    for info in models:
        try:
            found[info.name] = (resources.model_key(info), resources.load(info))
        except RnnlmError as exc:  # one broken model folder should not hide the others
            warn(info.name, exc)
    return found


def comparison_rows(catalogue, current, text: str) -> list[dict]:
    models = cat.options(catalogue, level=current.level)

    def warn(name: str, exc: Exception) -> None:
        st.warning(f"{markdown_literal(name)}: {markdown_literal(str(exc))}")

    jobs = cached.jobs(loaded_models(models, warn), text)
    bar = st.progress(0.0, text=f"Scoring with every {current.level}-level model…")  # kept scores return at once
    wait_all(jobs, lambda listed: bar.progress(*progress(listed, current.level)))
    bar.empty()
    rows = []
    for info in models:
        if info.name not in jobs:
            continue
        try:
            result = jobs[info.name].result()
        except RnnlmError as exc:
            warn(info.name, exc)
            continue
        rows.append({"model": info.name, "trained on": cat.corpus_label(info.corpus), "shape": info.shape,
                     "nats/char": round(result.nats_per_char, 4), "bits/char": round(result.bits_per_char, 3),
                     "its validation nats/char": round(info.val_nats_per_char, 4)})
    best = min((row["nats/char"] for row in rows), default=None)
    for row in rows:
        row["best"] = "◀ best" if row["nats/char"] == best else ""
    return rows


def comparison(catalogue, current, text: str) -> None:
    st.subheader(f"Every {current.level}-level model on this text")
    st.caption("Lower is better. A model trained on text like this one needs fewer bits per character: "
               "◀ marks the one that recognises it best.")
    st.dataframe(comparison_rows(catalogue, current, text), hide_index=True, width="stretch",
                 column_config={"model": st.column_config.TextColumn("model", width="medium"),
                                "best": st.column_config.TextColumn("best", help="the model that recognises it best")})
