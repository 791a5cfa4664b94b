"""The Learn page's plotly figures (pure: numbers in, figure out)."""

from __future__ import annotations

import math

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from playground.widgets.token_html import chart_label

CELL_COLOURS = {"rnn": "#d62728", "lstm": "#1f77b4", "gru": "#2ca02c"}
LAYOUT = {"margin": {"l": 10, "r": 10, "t": 80, "b": 10},
          "legend": {"orientation": "h", "x": 0, "y": 1.0, "yanchor": "bottom"}}  # between the title and the plot


def titled(text: str) -> dict:
    return {"title": {"text": text, "x": 0, "y": 0.98, "yanchor": "top"}, **LAYOUT}


def flow_figure(curves: dict) -> go.Figure:
    """curves: model -> (cell, rnnlm.lessons.gradient_flow.GradientFlow)."""
    figure = go.Figure()
    for name, (cell, flow) in curves.items():
        figure.add_trace(go.Scatter(x=flow.lags, y=[max(v, 1e-12) for v in flow.relative()], name=name,
                                    mode="lines", line={"color": CELL_COLOURS.get(cell)},
                                    hovertemplate="k = %{x}<br>%{y:.2e} of the nearest input's<extra>" + name + "</extra>"))
    figure.add_hline(y=0.01, line_dash="dot", line_color="grey", annotation_text="1%", annotation_position="right")
    figure.update_xaxes(title_text="steps back k")
    figure.update_yaxes(type="log", title_text="|∂ log p / ∂ input at t−k| (relative)", exponentformat="power")
    figure.update_layout(height=380, **titled("Gradient flow over time"))
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
    contexts = next(iter(curves.values()))[1] if curves else []
    figure.update_xaxes(type="log", tickvals=contexts, ticktext=[str(k) for k in contexts],
                        title_text="tokens of context the model may read (dotted: all of it)")
    figure.update_yaxes(title_text="nats per token")
    figure.update_layout(height=360, **titled("Effective memory: loss when the context is cut"))
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
    """The word model's bits minus the char model's, summed along the text: rising where the word
    model pays more, falling where it pays less. Two running totals would lie on top of each other."""
    running, total = [], 0.0
    for char_cost, word_cost in zip(char_bits, word_bits):
        total += word_cost - char_cost
        running.append(total)
    figure = go.Figure(go.Scatter(x=list(range(1, len(running) + 1)), y=running, mode="lines", showlegend=False,
                                  line={"color": "#7f7f7f"},
                                  hovertemplate="after %{x} chars: %{y:+,.1f} bits<extra></extra>"))
    figure.add_hline(y=0, line_color="grey", line_width=1)
    figure.update_xaxes(title_text="characters read")
    figure.update_yaxes(title_text=f"bits: {word_name} minus {char_name}", title_font={"size": 11})
    figure.update_layout(height=320, **titled(f"Above 0: {char_name} is ahead · below 0: {word_name} is ahead"))
    return figure


def unit_track_figure(trace, layer: int, unit: int, position: int) -> go.Figure:
    """One unit's quantities over the whole text, the token shown in the equations marked."""
    labels = [chart_label(text) for text in trace.token_texts]
    figure = go.Figure()
    for quantity in trace.quantities:
        if quantity in ("candidate", "reset"):  # keep the chart to what the equations turn on
            continue
        values = trace.values(layer, quantity)[:, unit]
        figure.add_trace(go.Scatter(y=values, mode="lines", name=quantity, customdata=labels,
                                    line={"dash": "solid" if quantity in ("h", "c") else "dot"},
                                    hovertemplate="%{customdata}: %{y:.3f}<extra>" + quantity + "</extra>"))
    figure.add_vline(x=position, line_color="grey", line_dash="dash")
    figure.update_xaxes(title_text="token")
    figure.update_layout(height=280, hovermode="x unified", **titled(f"Layer {layer + 1}, unit {unit} over the text"))
    return figure
