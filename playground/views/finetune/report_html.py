"""The fine-tune page's pure parts: upload report and job progress as escaped HTML, text, figures.

No Streamlit. File names come from the browser and samples from a model trained on the
user's text, so every one goes through html.escape before it touches markup.
"""

from __future__ import annotations

import html
import math

import plotly.graph_objects as go

from playground.widgets.token_html import visible_token
from rnnlm.service.jobs import JobResult, JobSnapshot
from rnnlm.service.uploads import UploadReport
from rnnlm.service.vocabulary_fit import VocabularyFit

MAX_FILES_LISTED = 50  # a zip of 2,000 files: the counts say the rest
RECEIVED_CSS = "rnnlm-received"
LOSS_UNIT = "nats/char"
STOP_REASONS = {"max_minutes": "the time budget", "max_steps": "the step budget", "early_stop": "no more progress",
                "diverged": "a loss that blew up", "cancelled": "Cancel"}


def _items(names: list[str]) -> str:
    shown = "".join(f"<li>{html.escape(name)}</li>" for name in names[:MAX_FILES_LISTED])
    more = len(names) - MAX_FILES_LISTED
    return shown + (f"<li>… and {more:,} more</li>" if more > 0 else "")


def received_html(report: UploadReport) -> str:
    """Which files were used and which were skipped, with the reason, names escaped."""
    used = f"<b>Used ({len(report.files_used)})</b><ul>{_items(report.files_used)}</ul>"
    if not report.skipped:
        return f'<div class="{RECEIVED_CSS}">{used}</div>'
    reasons = [f"{s.name} — {s.reason}" for s in report.skipped]
    counts = html.escape(report.skipped_counts())
    skipped = f"<b>Skipped ({len(report.skipped)}: {counts})</b><ul>{_items(reasons)}</ul>"
    return f'<div class="{RECEIVED_CSS}">{used}{skipped}</div>'


def characters_text(characters: str) -> str:
    """Characters as a person can read them: whitespace made visible, separated by spaces."""
    return " ".join(visible_token(c) for c in characters)


def fit_text(fit: VocabularyFit) -> str:
    """One sentence for st.info (markdown): the model name in a code span, so '_' stays '_';
    the unseen characters themselves are shown apart, in a code block."""
    what = "characters" if fit.level == "char" else "tokens"
    measured = "" if fit.level == "char" else f" (measured on {fit.measured_chars:,} characters)"
    return f"{fit.unknown_share:.2%} of the {what} are unknown to `{fit.model}`{measured}; {fit.note}."


def duration(seconds: float | None) -> str:
    if seconds is None or not math.isfinite(seconds):
        return "unknown"
    seconds = max(0, round(seconds))
    return f"{seconds // 60}:{seconds % 60:02d}"


def progress_label(snap: JobSnapshot) -> str:
    """The progress bar's text: how far, how long to go."""
    if snap.phase == "preparing":
        return "Preparing: scoring and sampling the base model on your held-out text…"
    if snap.phase == "cancelling":
        return "Stopping: keeping the best model so far…"
    if snap.phase == "finishing":
        return "Finishing: sampling from the new model…"
    return (f"Step {snap.step:,} · {snap.fraction:.0%} · {duration(snap.elapsed_seconds)} elapsed · "
            f"ETA {duration(snap.eta_seconds)}")


def queue_message(snap: JobSnapshot) -> str:
    ahead = snap.queue_position - 1
    if ahead <= 0:
        return ("The server is training someone else's model. Yours is next in the queue and starts "
                "as soon as that one ends; you can leave this page meanwhile.")
    return (f"The server is busy: your job is number {snap.queue_position} in the queue ({ahead} job"
            f"{'s' * (ahead != 1)} ahead of it, after the one training now). You can leave this page meanwhile.")


def loss_figure(snap: JobSnapshot) -> go.Figure:
    """Train loss per step and held-out loss per evaluation, on one axis in nats/char: a word
    model's train loss (nats/token) is divided by its characters per token. Until that ratio is
    known (a new word model before its first evaluation) the train loss has its own axis."""
    ratio = snap.chars_per_token
    figure = go.Figure()
    if snap.train_loss:
        steps, losses = zip(*snap.train_loss)
        if ratio is None:
            name, axis = "train (nats/token, right axis)", "y2"
        else:
            losses = [loss / ratio for loss in losses]
            name = "train (nats/char)" if ratio == 1 else f"train (nats/char: nats/token ÷ {ratio:.2f} chars/token)"
            axis = "y"
        figure.add_trace(go.Scatter(x=steps, y=losses, name=name, mode="lines", yaxis=axis,
                                    line={"width": 1, "color": "#7a8fb8"}))
    if snap.val_loss:
        steps, losses = zip(*snap.val_loss)
        figure.add_trace(go.Scatter(x=steps, y=losses, name="held-out (nats/char)", mode="lines+markers",
                                    line={"color": "#e8710a", "width": 2}))
    figure.update_xaxes(title_text="step", rangemode="tozero")
    figure.update_yaxes(title_text=f"loss, {LOSS_UNIT} (lower is better)")
    if ratio is None and snap.train_loss:
        figure.update_layout(yaxis2={"title": {"text": "train loss, nats/token"}, "overlaying": "y", "side": "right",
                                     "showgrid": False})
    figure.update_layout(height=300, margin={"l": 10, "r": 10, "t": 30, "b": 10}, hovermode="x unified",
                         legend={"orientation": "h", "y": 1.15, "x": 0})
    return figure


def _step(result: JobResult) -> str:
    """The step of the kept weights (the best evaluation's)."""
    return f"step {result.best_step if result.best_step is not None else result.steps:,}"


def before_heading(result: JobResult) -> str:
    """Markdown over the base model's sample (names are plain: letters, digits, '.', '_', '-')."""
    return f"**Before** · `{result.base_name}`, the model you started from"


def after_heading(result: JobResult, name: str) -> str:
    """Markdown over the new model's sample: the kept weights are the best evaluation's."""
    return f"**After** · `{name}`, as kept at {_step(result)}"


def cancelled_text(result: JobResult, entry: dict) -> str:
    """What Cancel kept: the best evaluation so far, ready to use and to download."""
    val = entry["val_nats_per_char"]
    figure = f", {val:.3f} {LOSS_UNIT} on the held-out text" if math.isfinite(val) else ""
    return (f"Cancelled at step {result.steps:,}. The best model so far was kept: **{entry['name']}**, "
            f"from {_step(result)}{figure}. It is ready now: it is in the model picker for this "
            "session (Generate, Compare and the other pages can use it), and you can download it below.")


def sample_html(prompt: str, text: str) -> str:
    """A sample as the Generate page streams it: grey prompt, then the model's text, escaped."""
    return (f'<div class="rnnlm-out rnnlm-sample"><span class="prompt">{html.escape(prompt)}</span>'
            f"{html.escape(text)}</div>")


def change_text(before: float | None, after: float | None) -> str:
    if before is None or after is None or not math.isfinite(after):
        return ""
    change = (after - before) / before if before else 0.0
    return f"{change:+.1%}"
