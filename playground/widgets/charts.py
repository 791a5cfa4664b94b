"""Plotly figures of a generation (pure: Step records in, figure out)."""

from __future__ import annotations

import math
from typing import Sequence

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from playground.widgets.token_html import visible_token
from rnnlm import Step

MAX_TICK_LABELS = 60  # more token labels than this overlap into an unreadable band


def tick_positions(count: int, max_labels: int = MAX_TICK_LABELS) -> list[int]:
    every = max(1, math.ceil(count / max_labels))
    return list(range(0, count, every))


def probability_entropy_figure(steps: Sequence[Step]) -> go.Figure:
    """Per step: the model's probability of the chosen token at temperature 1 (left axis) and the
    model's entropy (right axis)."""
    positions = [step.index for step in steps]
    labels = [visible_token(step.text) for step in steps]
    figure = make_subplots(specs=[[{"secondary_y": True}]])
    figure.add_trace(go.Scatter(
        x=positions, y=[step.model_prob for step in steps], name="model p(chosen token)", mode="lines+markers",
        marker={"size": 4}, customdata=labels, hovertemplate="%{customdata}<br>p = %{y:.1%}<extra></extra>"),
        secondary_y=False)
    figure.add_trace(go.Scatter(
        x=positions, y=[step.entropy for step in steps], name="entropy (nats)", mode="lines",
        line={"dash": "dot"}, customdata=labels, hovertemplate="%{customdata}<br>entropy %{y:.2f} nats<extra></extra>"),
        secondary_y=True)
    prompt_steps = [step.index for step in steps if step.from_prompt]
    if prompt_steps:
        figure.add_vrect(x0=min(prompt_steps) - 0.5, x1=max(prompt_steps) + 0.5, fillcolor="grey", opacity=0.12,
                         line_width=0, annotation_text="prompt", annotation_position="top left")
    ticks = tick_positions(len(steps))
    figure.update_xaxes(tickmode="array", tickvals=[positions[i] for i in ticks],
                        ticktext=[labels[i] for i in ticks], tickangle=0, title_text="token")
    figure.update_yaxes(title_text="probability", range=[0, 1.02], tickformat=".0%", secondary_y=False)
    figure.update_yaxes(title_text="entropy (nats)", rangemode="tozero", secondary_y=True)
    figure.update_layout(height=320, margin={"l": 10, "r": 10, "t": 30, "b": 10}, hovermode="x unified",
                         legend={"orientation": "h", "y": 1.12, "x": 0})
    return figure
