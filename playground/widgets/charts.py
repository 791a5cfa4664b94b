"""Plotly figures of a generation (pure: Step records in, figure out).

Built from NumPy arrays, not lists: plotly validates a list element by element (for 2,000
tokens that was most of the figure's 0.1-0.3 s on the page's script thread, which holds the
GIL), and it sends an array to the browser as a typed array that the browser reads without
parsing numbers (bench/bench_pool.py prints both costs).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

from playground.widgets.token_html import chart_label, percent
from rnnlm import Step

MAX_TICK_LABELS = 60  # more token labels than this overlap into an unreadable band
LABEL_CHARS = 110  # characters of tick labels the chart's width holds without overlap
MAX_LABEL_CHARS = 8  # a long word piece is cut to this many characters on the axis
LONG = 300  # from this many tokens on: thin lines, a moving average over them, and a range slider
AVERAGE_POINTS_PER_WIDTH = 4  # a moving average over w tokens drawn with a point every w / 4 tokens
# The layout make_subplots(specs=[[{"secondary_y": True}]]) gives, without its cost: room on the right for entropy.
TWO_Y_AXES = {"xaxis": {"anchor": "y", "domain": [0.0, 0.94]}, "yaxis": {"anchor": "x", "domain": [0.0, 1.0]},
              "yaxis2": {"anchor": "x", "overlaying": "y", "side": "right"}}


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
    sums = np.concatenate(([0.0], np.cumsum(np.asarray(values, dtype=np.float64))))
    index = np.arange(len(values))
    low, high = np.maximum(index - half, 0), np.minimum(index + half + 1, len(values))
    return ((sums[high] - sums[low]) / (high - low)).tolist()


def thinned(count: int, width: int) -> np.ndarray:
    """The indices at which a moving average over width tokens is drawn: a smooth curve needs a
    few points per width, not one per token (the browser draws it twice, with the range slider)."""
    every = max(1, width // AVERAGE_POINTS_PER_WIDTH)
    return np.unique(np.append(np.arange(0, count, every), count - 1))


def probability_entropy_figure(steps: Sequence[Step], labels: Sequence[str] | None = None) -> go.Figure:
    """Per step: the model's probability of the chosen token at temperature 1 (left axis) and the
    model's entropy (right axis). labels: each token as the user reads it (their own characters
    where the model read its unknown token); by default the tokens' texts. A long generation
    draws the raw series faintly under a moving average, with a range slider to zoom."""
    positions = np.array([step.index for step in steps], dtype=np.int64)
    raw = list(labels or [step.text for step in steps])
    labels = [chart_label(label) for label in raw]
    long = len(steps) >= LONG
    hover = np.array([[label, percent(step.model_prob)] for label, step in zip(labels, steps)],
                     dtype=object).reshape(-1, 2)  # (tokens, 2), also when there are none
    probabilities = np.array([step.model_prob for step in steps], dtype=np.float64)
    entropies = np.array([step.entropy for step in steps], dtype=np.float64)
    figure = go.Figure(layout=TWO_Y_AXES)
    figure.add_trace(go.Scatter(
        x=positions, y=probabilities, name="model p(chosen token)", mode="lines" if long else "lines+markers",
        marker={"size": 4}, line={"width": 1} if long else {}, opacity=0.35 if long else 1.0,
        customdata=hover, hovertemplate="%{customdata[0]}<br>p = %{customdata[1]}<extra></extra>",
        yaxis="y"))
    figure.add_trace(go.Scatter(
        x=positions, y=entropies, name="entropy (nats)", mode="lines", line={"dash": "dot", "width": 1 if long else 2},
        opacity=0.35 if long else 1.0, customdata=np.array(labels, dtype=object),
        hovertemplate="%{customdata}<br>entropy %{y:.2f} nats<extra></extra>", yaxis="y2"))
    if long:
        width = max(5, len(steps) // 40)
        points = thinned(len(steps), width)
        for values, name, colour, axis in ((probabilities, "p, mean of", "#1f77b4", "y"),
                                           (entropies, "entropy, mean of", "#ff7f0e", "y2")):
            average = np.asarray(moving_average(values, width))
            figure.add_trace(go.Scatter(x=positions[points], y=average[points], name=f"{name} {width} tokens",
                                        mode="lines", line={"color": colour, "width": 2.5}, hoverinfo="skip",
                                        yaxis=axis))
    prompt_steps = [step.index for step in steps if step.from_prompt]
    if prompt_steps:
        figure.add_vrect(x0=min(prompt_steps) - 0.5, x1=max(prompt_steps) + 0.5, fillcolor="grey", opacity=0.12,
                         line_width=0, annotation_text="prompt", annotation_position="top left")
    ticks = tick_positions(len(steps), label_budget(raw))
    figure.update_xaxes(tickmode="array", tickvals=[int(positions[i]) for i in ticks],
                        ticktext=[chart_label(raw[i][:MAX_LABEL_CHARS]) for i in ticks], tickangle=0, title_text="token",
                        rangeslider={"visible": long, "thickness": 0.08})
    figure.update_layout(yaxis={"title_text": "probability", "range": [0, 1.02], "tickformat": ".0%"},
                         yaxis2={"title_text": "entropy (nats)", "rangemode": "tozero"},
                         height=380 if long else 320, margin={"l": 10, "r": 10, "t": 30, "b": 10},
                         hovermode="x unified", legend={"orientation": "h", "y": 1.12, "x": 0})
    return figure
