"""The Learn page's plotly figures (pure: numbers in, figure out)."""

from __future__ import annotations

import math

import plotly.graph_objects as go
from plotly.subplots import make_subplots

CELL_COLOURS = {"rnn": "#d62728", "lstm": "#1f77b4", "gru": "#2ca02c"}
LAYOUT = {"margin": {"l": 10, "r": 10, "t": 40, "b": 10}, "legend": {"orientation": "h", "y": 1.15, "x": 0}}


def handset_figure(rows: list[dict], kind: str) -> go.Figure:
    """Memory and output per step (top), each gate per step (bottom, 0-1)."""
    steps = [f"t={t + 1}" for t in range(len(rows))]
    figure = make_subplots(rows=2, cols=1, shared_xaxes=True, row_heights=[0.55, 0.45], vertical_spacing=0.08)
    for name, dash in (("memory", "solid"), ("output", "dot")):
        figure.add_trace(go.Scatter(x=steps, y=[r[name] for r in rows], name=name, mode="lines+markers",
                                    line={"dash": dash}, hovertemplate=f"{name} %{{y:.3f}}<extra></extra>"), 1, 1)
    gates = [k for k in rows[0] if k.endswith("gate")]
    for gate in gates:
        figure.add_trace(go.Bar(x=steps, y=[r[gate] for r in rows], name=gate,
                                hovertemplate=f"{gate} %{{y:.3f}}<extra></extra>"), 2, 1)
    figure.update_yaxes(title_text="value", row=1, col=1)
    figure.update_yaxes(title_text="gate", range=[0, 1.05], row=2, col=1)
    figure.update_layout(height=420, barmode="group", title=f"The hand-set {kind}, step by step", **LAYOUT)
    return figure


def flow_figure(curves: dict[str, tuple[str, list[float]]]) -> go.Figure:
    """curves: model -> (cell, gradient norm relative to k = 0, per lag k)."""
    figure = go.Figure()
    for name, (cell, relative) in curves.items():
        figure.add_trace(go.Scatter(x=list(range(len(relative))), y=[max(v, 1e-12) for v in relative], name=name,
                                    mode="lines", line={"color": CELL_COLOURS.get(cell)},
                                    hovertemplate="k = %{x}<br>%{y:.2e} of the nearest input's<extra>" + name + "</extra>"))
    figure.add_hline(y=0.01, line_dash="dot", line_color="grey", annotation_text="1%", annotation_position="right")
    figure.update_xaxes(title_text="steps back k")
    figure.update_yaxes(type="log", title_text="|∂ log p / ∂ input at t−k| (relative)", exponentformat="power")
    figure.update_layout(height=380, title="Gradient flow over time", **LAYOUT)
    return figure


def memory_figure(curves: dict[str, tuple[str, list[int], list[float], float]]) -> go.Figure:
    """curves: model -> (cell, context lengths, nats per token at each, nats per token with full context)."""
    figure = go.Figure()
    for name, (cell, contexts, nats, full) in curves.items():
        colour = CELL_COLOURS.get(cell)
        figure.add_trace(go.Scatter(x=contexts, y=nats, name=name, mode="lines+markers", line={"color": colour},
                                    hovertemplate="last %{x} tokens: %{y:.3f} nats/token<extra>" + name + "</extra>"))
        figure.add_trace(go.Scatter(x=[contexts[0], contexts[-1]], y=[full, full], mode="lines", showlegend=False,
                                    line={"color": colour, "dash": "dot"}, hoverinfo="skip"))
    figure.update_xaxes(type="log", title_text="tokens of context the model may read (dotted: all of it)")
    figure.update_yaxes(title_text="nats per token")
    figure.update_layout(height=360, title="Effective memory: loss when the context is cut", **LAYOUT)
    return figure


def clipping_figure(runs, threshold: float) -> go.Figure:
    """Gradient norm per step (top, log scale, with the clip threshold) and loss per step (bottom)."""
    figure = make_subplots(rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.08,
                           subplot_titles=("gradient norm before clipping", "training loss (nats/char)"))
    for run, colour in zip(runs, ("#d62728", "#1f77b4")):
        name = f"clipped at {threshold:g}" if run.clipped else "not clipped"
        steps = list(range(len(run.losses)))
        norms = [v if math.isfinite(v) else None for v in run.grad_norms]
        losses = [v if math.isfinite(v) else None for v in run.losses]
        figure.add_trace(go.Scatter(x=steps, y=norms, name=name, mode="lines", line={"color": colour},
                                    legendgroup=name, hovertemplate="step %{x}: %{y:.3g}<extra>" + name + "</extra>"), 1, 1)
        figure.add_trace(go.Scatter(x=steps, y=losses, name=name, mode="lines", line={"color": colour},
                                    legendgroup=name, showlegend=False,
                                    hovertemplate="step %{x}: %{y:.3f}<extra>" + name + "</extra>"), 2, 1)
        if run.diverged_at is not None:
            figure.add_vline(x=run.diverged_at, line_color=colour, line_dash="dash",
                             annotation_text=f"{name}: not a number at step {run.diverged_at}")
    figure.add_hline(y=threshold, line_dash="dot", line_color="grey", row=1, col=1,
                     annotation_text=f"clip threshold {threshold:g}", annotation_position="bottom right")
    figure.update_yaxes(type="log", exponentformat="power", row=1, col=1)
    figure.update_xaxes(title_text="training step", row=2, col=1)
    figure.update_layout(height=520, **LAYOUT)
    return figure


def char_word_figure(char_name: str, char_bits: list[float], word_name: str, word_bits: list[float]) -> go.Figure:
    """Cumulative bits along the text for both models: where the lines part, one model is paying more."""
    figure = go.Figure()
    for name, bits, colour in ((char_name, char_bits, "#1f77b4"), (word_name, word_bits, "#ff7f0e")):
        total, running = 0.0, []
        for value in bits:
            total += value
            running.append(total)
        figure.add_trace(go.Scatter(x=list(range(1, len(running) + 1)), y=running, name=name, mode="lines",
                                    line={"color": colour},
                                    hovertemplate="after %{x} chars: %{y:,.0f} bits<extra>" + name + "</extra>"))
    figure.update_xaxes(title_text="characters read")
    figure.update_yaxes(title_text="bits so far", rangemode="tozero")
    figure.update_layout(height=340, title="Bits spent along the text", **LAYOUT)
    return figure
