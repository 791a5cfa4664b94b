"""Plotly figures of a generation (pure: Step records in, figure out)."""

from __future__ import annotations

import math
from collections.abc import Sequence

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from playground.widgets.token_html import chart_label, percent
from rnnlm import Step

MAX_TICK_LABELS = 60  # more token labels than this overlap into an unreadable band
LABEL_CHARS = 110  # characters of tick labels the chart's width holds without overlap
MAX_LABEL_CHARS = 8  # a long word piece is cut to this many characters on the axis
LONG = 300  # from this many tokens on: thin lines, a moving average over them, and a range slider


def tick_positions(count: int, max_labels: int = MAX_TICK_LABELS) -> list[int]:
    every = max(1, math.ceil(count / max_labels))
    return list(range(0, count, every))


def label_budget(labels: Sequence[str]) -> int:
    """How many tick labels fit: fewer for word pieces (long labels) than for characters."""
    mean_length = sum(min(len(label), MAX_LABEL_CHARS) for label in labels) / max(len(labels), 1)
    return max(5, min(MAX_TICK_LABELS, int(LABEL_CHARS / (mean_length + 2))))


def moving_average(values: Sequence[float], width: int) -> list[float]:
    """Centred mean over width points (fewer at the ends), so a long series shows its trend."""
    half = width // 2
    sums = [0.0]
    for value in values:
        sums.append(sums[-1] + value)
    out = []
    for index in range(len(values)):
        low, high = max(0, index - half), min(len(values), index + half + 1)
        out.append((sums[high] - sums[low]) / (high - low))
    return out


def probability_entropy_figure(steps: Sequence[Step], labels: Sequence[str] | None = None) -> go.Figure:
    """Per step: the model's probability of the chosen token at temperature 1 (left axis) and the
    model's entropy (right axis). labels: each token as the user reads it (their own characters
    where the model read its unknown token); by default the tokens' texts. A long generation
    draws the raw series faintly under a moving average, with a range slider to zoom."""
    positions = [step.index for step in steps]
    raw = list(labels or [step.text for step in steps])
    labels = [chart_label(label) for label in raw]
    long = len(steps) >= LONG
    hover = [[label, percent(step.model_prob)] for label, step in zip(labels, steps)]
    figure = make_subplots(specs=[[{"secondary_y": True}]])
    probabilities, entropies = [step.model_prob for step in steps], [step.entropy for step in steps]
    figure.add_trace(go.Scatter(
        x=positions, y=probabilities, name="model p(chosen token)", mode="lines" if long else "lines+markers",
        marker={"size": 4}, line={"width": 1} if long else {}, opacity=0.35 if long else 1.0, customdata=hover,
        hovertemplate="%{customdata[0]}<br>p = %{customdata[1]}<extra></extra>"), secondary_y=False)
    figure.add_trace(go.Scatter(
        x=positions, y=entropies, name="entropy (nats)", mode="lines", line={"dash": "dot", "width": 1 if long else 2},
        opacity=0.35 if long else 1.0, customdata=labels,
        hovertemplate="%{customdata}<br>entropy %{y:.2f} nats<extra></extra>"), secondary_y=True)
    if long:
        width = max(5, len(steps) // 40)
        for values, name, colour, secondary in ((probabilities, "p, mean of", "#1f77b4", False),
                                                (entropies, "entropy, mean of", "#ff7f0e", True)):
            figure.add_trace(go.Scatter(x=positions, y=moving_average(values, width), name=f"{name} {width} tokens",
                                        mode="lines", line={"color": colour, "width": 2.5}, hoverinfo="skip"),
                             secondary_y=secondary)
    prompt_steps = [step.index for step in steps if step.from_prompt]
    if prompt_steps:
        figure.add_vrect(x0=min(prompt_steps) - 0.5, x1=max(prompt_steps) + 0.5, fillcolor="grey", opacity=0.12,
                         line_width=0, annotation_text="prompt", annotation_position="top left")
    ticks = tick_positions(len(steps), label_budget(raw))
    figure.update_xaxes(tickmode="array", tickvals=[positions[i] for i in ticks],
                        ticktext=[chart_label(raw[i][:MAX_LABEL_CHARS]) for i in ticks], tickangle=0, title_text="token",
                        rangeslider={"visible": long, "thickness": 0.08})
    figure.update_yaxes(title_text="probability", range=[0, 1.02], tickformat=".0%", secondary_y=False)
    figure.update_yaxes(title_text="entropy (nats)", rangemode="tozero", secondary_y=True)
    figure.update_layout(height=380 if long else 320, margin={"l": 10, "r": 10, "t": 30, "b": 10},
                         hovermode="x unified", legend={"orientation": "h", "y": 1.12, "x": 0})
    return figure
