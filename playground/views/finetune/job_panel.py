"""The fine-tune page's job panel: live progress while training, the result when it is done.

The live part is two st.fragments that rerun alone: the rest of the page stays as it is and
responsive. Progress and figures every POLL_SECONDS; the loss chart and the samples every
CURVES_SECONDS: the Plotly chart is the panel's costliest part to redraw (about a fifth of what
the open page costs the watching browser: bench/bench_watch.py), and its curves move little in
a second. Both read a snapshot from the JobManager (the training process never touches
Streamlit). When the job ends, the whole page reruns once, so the new model appears in the
sidebar's picker and the result replaces the live view.
"""

from __future__ import annotations

import functools
import math

import streamlit as st

from playground import jobs_resource, session_models, state
from playground.views.finetune import report_html as fr
from playground.widgets import blocks, publish
from playground.widgets.token_html import markdown_literal
from rnnlm import RnnlmError
from rnnlm.service.jobs import JobSnapshot
from rnnlm.service.model_zip import model_zip_bytes
from rnnlm.service.store_meta import PublishFacts

POLL_SECONDS = 1.0
CURVES_SECONDS = 5.0
GENERATE_PAGE = "views/generate/generate.py"
PAGE_PATH = "finetune"  # this page's address (app.py): a link is made from the app's root


def snapshot() -> JobSnapshot | None:
    """This session's latest job; None if there is none or the server no longer knows it."""
    job = jobs_resource.finetune_job()
    if job is None:
        return None
    try:
        return jobs_resource.job_manager().snapshot(job["id"])
    except RnnlmError:
        jobs_resource.forget_finetune_job()
        st.info("Your last training job is no longer on the server (it restarted, or the job was cleaned up "
                "after a long pause). Start a new one.")
        return None


def cancel(job_id: str) -> None:
    try:
        jobs_resource.job_manager().cancel(job_id)
    except RnnlmError:  # finished and cleaned up meanwhile: nothing left to stop
        pass


def job_section() -> bool:
    """Draw the job panel; True while a job is queued or running."""
    snap = snapshot()
    if snap is None:
        return False
    st.subheader(f"Training {snap.name}" if not snap.finished else f"Result: {snap.name}")
    if snap.finished:
        result_panel(snap)
        return False
    live_panel()
    live_curves()
    return True


@st.fragment(run_every=POLL_SECONDS)
def live_panel() -> None:
    snap = snapshot()
    if snap is None or snap.finished:
        st.rerun()  # the whole page: result, picker and start button
    if snap.status == "queued":
        st.info(fr.queue_message(snap), icon=":material/hourglass_top:")
        st.button("Leave the queue", key="ft_cancel", on_click=cancel, args=(snap.job_id,))
        return
    st.progress(min(max(snap.fraction, 0.0), 1.0), text=fr.progress_label(snap))
    live_figures(snap)
    st.button("Cancel", key="ft_cancel", icon=":material/stop_circle:", on_click=cancel, args=(snap.job_id,),
              disabled=snap.phase == "cancelling", help="Stops within about a second; keeps the best model so far")


def live_figures(snap: JobSnapshot) -> None:
    speed, norm, clipped, held_out = st.columns(4)
    speed.metric("Tokens/s", f"{snap.tokens_per_second:,.0f}")
    norm.metric("Gradient norm", f"{snap.grad_norm:.2f}")
    clipped.metric("Steps clipped", f"{snap.clip_rate:.0%}")
    held_out.metric("Held-out loss", f"{snap.val_loss[-1][1]:.3f}" if snap.val_loss else "—",
                    help="nats/char on the held-out end of your text, at the latest evaluation")


@st.fragment(run_every=CURVES_SECONDS)
def live_curves() -> None:
    """The loss chart and the samples so far (live_panel reruns the page when the job ends)."""
    snap = snapshot()
    if snap is None or snap.finished or snap.status == "queued":
        return
    loss_chart(snap, key="ft-live-loss")
    if snap.samples:
        step, text = snap.samples[-1]
        st.caption(f"Sample at step {step:,} (from a fresh line), to watch the style arrive:")
        st.html(fr.sample_html("", text))
    if len(snap.samples) > 1:
        with st.expander(f"Earlier samples ({len(snap.samples) - 1})"):
            for step, text in reversed(snap.samples[:-1]):
                st.caption(f"Step {step:,}")
                st.html(fr.sample_html("", text))


def loss_chart(snap: JobSnapshot, key: str) -> None:
    if snap.train_loss or snap.val_loss:
        st.plotly_chart(fr.loss_figure(snap), key=key, config={"displaylogo": False})


def result_panel(snap: JobSnapshot) -> None:
    if snap.status == "failed":
        st.error(markdown_literal(f"Training failed: {snap.message}"))
        return
    result = snap.result
    if result is None:
        st.info("Cancelled before training began: nothing was kept.")
        return
    entry = session_models.registered(result.model_dir)
    if entry is None:
        st.warning("The model of this job could not be added to the model picker (see the server log), "
                   "or its files were cleaned up after a long pause.")
        return
    if snap.status == "cancelled":
        st.success(fr.cancelled_text(result, entry), icon=":material/check_circle:")
    else:
        st.success(f"Done: {result.steps:,} steps in {fr.duration(result.minutes * 60)} (stopped by "
                   f"{fr.STOP_REASONS.get(result.stopped_by, result.stopped_by)}). **{entry['name']}** is in the "
                   "model picker for this session: Generate, Compare and the other pages can use it.",
                   icon=":material/check_circle:")
    before_after(result, entry)
    loss_chart(snap, key="ft-result-loss")
    use_buttons(result, entry)


def before_after(result, entry: dict) -> None:
    after = entry["val_nats_per_char"]
    before_col, after_col = st.columns(2)
    if result.val_before is not None:
        before_col.metric("Held-out loss before", f"{result.val_before:.3f} nats/char")
    after_col.metric("Held-out loss after", "not measured" if math.isnan(after) else f"{after:.3f} nats/char",
                     delta=fr.change_text(result.val_before, after) or None, delta_color="inverse")
    start = f"the prompt {markdown_literal(repr(result.prompt))}" if result.prompt else "a fresh line (no prompt)"
    st.caption(f"Sampled from {start} with seed {result.seed}, before and after training:")
    before_col, after_col = st.columns(2)
    if result.sample_before is not None:
        before_col.markdown(fr.before_heading(result))
        before_col.html(fr.sample_html(result.prompt, result.sample_before))
    after_col.markdown(fr.after_heading(result, entry["name"]))
    after_col.html(fr.sample_html(result.prompt, result.sample_after))


def use_buttons(result, entry: dict) -> None:
    use, download, share = st.columns(3)
    if use.button("Sample from it on Generate", key="ft_use", icon=":material/edit_note:", type="primary"):
        state.choose_model(entry["name"], blocks.catalogue())
        st.switch_page(GENERATE_PAGE)
    download.download_button("Download the model (.zip)", functools.partial(model_zip_bytes, result.model_dir),
                             f"{entry['name']}.zip", "application/zip", key="ft_download", on_click="ignore",
                             icon=":material/download:",
                             help="Weights, config, tokenizer and card; upload it here later to use it again")
    publish.button(entry, functools.partial(published_facts, result, entry), key="ft_publish", where=share)
    publish.link(entry, page_path=PAGE_PATH)


def published_facts(result, entry: dict) -> PublishFacts:
    """What the shared model's card tells: the base, the amount of text, the held-out loss before and after."""
    chars = result.facts.get("upload_chars")
    return PublishFacts(base=result.base_name, text_chars=chars if isinstance(chars, int) else None,
                        nats_before=result.val_before, nats_after=None if math.isnan(entry["val_nats_per_char"])
                        else entry["val_nats_per_char"])
