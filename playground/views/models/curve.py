"""A model's learning curve on the Models page: held-out nats/char as it trained (curve.json,
written by python -m train.publish from the run's evaluations), beside xz's figure."""

from __future__ import annotations

import json
from pathlib import Path

import plotly.graph_objects as go

AXES = {"chars_seen": "characters read", "minutes": "minutes of training"}


def read_points(folder: Path) -> list[dict]:
    """The curve's points; [] when the model has none or the file is not readable."""
    try:
        points = json.loads((folder / "curve.json").read_text(encoding="utf-8"))["points"]
    except (OSError, ValueError, KeyError, TypeError):
        return []
    return [p for p in points if isinstance(p, dict) and all(k in p for k in (*AXES, "val_nats_per_char"))]


def curve_figure(points: list[dict], x: str, final: float, xz: float | None) -> go.Figure:
    figure = go.Figure()
    figure.add_scatter(x=[p[x] for p in points], y=[p["val_nats_per_char"] for p in points], mode="lines+markers",
                       name="held-out nats/char", hovertemplate=f"%{{x:,.4~s}} {AXES[x]}<br>%{{y:.3f}} nats/char"
                       "<extra></extra>")
    figure.add_hline(y=final, line_dash="dot", line_color="#2a9d8f",
                     annotation_text=f"published: {final:.3f} (whole split)", annotation_position="top right")
    if xz is not None:
        figure.add_hline(y=xz, line_dash="dash", line_color="#b00020",
                         annotation_text=f"xz -9e: {xz:.3f}", annotation_position="bottom right")
    figure.update_layout(height=300, margin={"l": 10, "r": 10, "t": 30, "b": 10}, showlegend=False,
                         xaxis_title=AXES[x], yaxis_title="nats/char (lower is better)")
    return figure
