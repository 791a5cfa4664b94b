"""Plotly figures of a trace (pure: arrays in, figure out): units x time, and gate saturation.

The heatmap has a thin strip at its right, one cell per unit coloured by the value the units
are sorted by. The strip is there to be clicked: Streamlit reports no selection for a
click on a heatmap cell (streamlit#8760, plotly.js has no point selection for heatmaps),
but it does for scatter points, so invisible markers over the strip pick a unit
(unit_from_points).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from playground.widgets.token_html import chart_label
from rnnlm.interpret import GATES, SATURATION_HIGH, SATURATION_LOW, Saturation

MAX_STEPS, MAX_UNITS = 1000, 512  # per figure: larger traces are paged through time by the caller
DIVERGING = "RdBu_r"  # blue below the middle of the range, white at it, red above
# The heatmap is drawn with theme=None: Streamlit's theme pass re-serialises the whole
# spec (0.3 s for 1000 x 512 values on a busy machine). These keep it looking the same.
PLAIN_LAYOUT = {"font": {"family": '"Source Sans", "Source Sans Pro", sans-serif', "size": 12, "color": "#31333f"},
                "paper_bgcolor": "rgba(0,0,0,0)", "plot_bgcolor": "rgba(0,0,0,0)",
                "hoverlabel": {"font": {"family": "ui-monospace, monospace"}}}
INT16_MAX = 32767
EXACT_VALUES = 64 * 1000  # up to this many values the figure carries float32 (4 bytes each) instead of int16
SCALE_NOTES = {3: " ×10⁻³", 2: " ×10⁻²", 1: " ×10⁻¹", 0: ""}  # hover text: the int16 value's unit
CONFIG = {"displaylogo": False, "modeBarButtonsToRemove": ["select2d", "lasso2d"]}


def value_range(quantity: str, values: np.ndarray, squashed: bool = False) -> tuple[float, float]:
    """The colour range: gates live in (0, 1), h and the candidate in (-1, 1), c is unbounded."""
    if quantity in GATES:
        return 0.0, 1.0
    if quantity == "c" and not squashed:
        # The 99th percentile, not the maximum: one runaway cell would wash out the rest.
        bound = float(np.percentile(np.abs(values), 99)) if values.size else 1.0
        return -max(bound, 1e-6), max(bound, 1e-6)
    return -1.0, 1.0


def time_labels(token_texts: Sequence[str], start: int = 0) -> list[str]:
    """One label per step, unique (position first) so plotly keeps repeated tokens apart."""
    return [f"{start + i}:{chart_label(text)}" for i, text in enumerate(token_texts)]


def unit_labels(units: Sequence[int]) -> list[str]:
    return [f"unit {int(u)}" for u in units]


def heatmap_height(units: int) -> int:
    return int(min(900, max(360, 2.2 * units + 140)))


def heatmap_figure(values: np.ndarray, units: Sequence[int], token_texts: Sequence[str], start: int,
                   colour_range: tuple[float, float], strip: np.ndarray, strip_name: str) -> go.Figure:
    """values: (time, len(units)), columns in display order (top row first).

    strip: one number per displayed unit (what they are sorted by), shown as the clickable strip."""
    steps, count = values.shape
    if steps > MAX_STEPS or count > MAX_UNITS:
        raise ValueError(f"at most {MAX_STEPS} steps x {MAX_UNITS} units per figure, got {steps} x {count}")
    x, y = time_labels(token_texts, start), unit_labels(units)
    low, high = colour_range
    if values.size <= EXACT_VALUES:  # small enough to send as float32: the hover reads 1.000, not 1000 ×10⁻³
        z, decimals, value_text = np.ascontiguousarray(values.T, dtype=np.float32), 0, "%{z:.3f}"
    else:
        z, decimals = fixed_point(values.T, colour_range)
        value_text = "%{z}" + SCALE_NOTES[decimals]
    scale = 10 ** decimals
    ticks = np.linspace(low, high, 5)
    strip = np.asarray(strip, dtype=np.float32)
    data = [
        go.Heatmap(z=z, x=x, y=y, zmin=low * scale, zmax=high * scale, zmid=(low + high) / 2 * scale,
                   colorscale=DIVERGING, meta={"decimals": decimals},
                   colorbar={"thickness": 12, "x": 1.01, "xanchor": "left", "tickvals": (ticks * scale).tolist(),
                             "ticktext": [f"{t:.3g}" for t in ticks]},
                   hovertemplate="%{y}<br>token %{x}<br>value " + value_text + "<extra></extra>"),
        go.Heatmap(z=strip[:, None], x=[0.5], y=y, xaxis="x2", showscale=False, hoverinfo="skip",
                   **strip_scale(strip, strip_name)),
        # Streamlit reports no selection for heatmaps: invisible markers along the strip's middle
        # answer hover anywhere on it, and a click on one selects it (with its unit).
        go.Scatter(x=np.full(count, 0.5), y=y, xaxis="x2", mode="markers", marker={"opacity": 0, "size": 10},
                   showlegend=False, customdata=np.asarray(units, dtype=np.int64),
                   text=[f"{v:.3f}" for v in strip.tolist()],
                   hovertemplate=f"%{{y}}<br>{strip_name} %{{text}}<br>click: show it on the text<extra></extra>"),
    ]
    # One layout dict, axes side by side on a shared y (what make_subplots would build, at a
    # fraction of its cost), with fixed margins that fit "unit 511" and the rotated token
    # labels: automargin would lay the figure out twice.
    layout = {
        "xaxis": {"domain": [0, 0.954], "type": "category", "nticks": 24, "tickangle": -45, "showgrid": False},
        "xaxis2": {"domain": [0.96, 1], "anchor": "y", "fixedrange": True, "range": [0, 1], "showticklabels": False,
                   "showgrid": False, "zeroline": False, "title": {"text": "unit", "font": {"size": 11}}},
        # nticks: plotly lays out a label per category before thinning them; 512 cost ~50 ms a draw.
        "yaxis": {"autorange": "reversed", "type": "category", "nticks": 32, "showgrid": False},
        "height": heatmap_height(count), "clickmode": "event+select", "dragmode": "zoom",
        "margin": {"l": 64, "r": 10, "t": 10, "b": 64}, **PLAIN_LAYOUT,
    }
    return go.Figure(data=data, layout=layout)


def fixed_point(values: np.ndarray, colour_range: tuple[float, float]) -> tuple[np.ndarray, int]:
    """values as int16 in units of 10^-decimals (3 decimals unless the values are too large).

    Streamlit's frontend stringifies a figure and rescans its JSON some forty times on
    every update, so the bytes of the 512k values set the pace: int16 instead of float32
    took "pick another quantity -> heatmap drawn" from 1.17 s to 0.81 s
    (bench/bench_heatmap.py). Three decimals are what the hover showed before."""
    largest = max(float(np.max(np.abs(values), initial=0.0)), *map(abs, colour_range))
    decimals = 3
    while decimals > 0 and largest * 10 ** decimals > INT16_MAX:
        decimals -= 1
    scaled = np.clip(np.round(values * 10 ** decimals), -INT16_MAX, INT16_MAX)
    return np.ascontiguousarray(scaled, dtype=np.int16), decimals


def strip_scale(strip: np.ndarray, strip_name: str) -> dict:
    """Correlations run blue-white-red like the heatmap; spreads a grey ramp, darker for livelier units."""
    if strip_name == "correlation":
        return {"colorscale": DIVERGING, "zmin": -1.0, "zmax": 1.0}
    return {"colorscale": "Greys", "zmin": 0.0, "zmax": max(float(np.max(strip, initial=0.0)), 1e-6)}


def unit_from_points(points: Sequence[dict]) -> int | None:
    """The unit of the first clicked strip marker (its customdata), or None."""
    for point in points:
        data = point.get("customdata")
        if isinstance(data, (list, tuple)):
            data = data[0] if data else None
        if isinstance(data, (int, float)) and not isinstance(data, bool):
            return int(data)
    return None


def saturation_figure(saturations: Sequence[Saturation]) -> go.Figure:
    """Karpathy et al. (2015), fig. 3: each dot a unit; how often its gate is nearly closed
    (x, below SATURATION_LOW) or nearly open (y, above SATURATION_HIGH). One panel per layer
    and gate. Dots near the top of a forget-gate panel are units that keep their memory."""
    layers = sorted({s.layer for s in saturations})
    gates = list(dict.fromkeys(s.gate for s in saturations))
    figure = make_subplots(rows=len(layers), cols=len(gates), shared_xaxes=True, shared_yaxes=True,
                           subplot_titles=[f"layer {layer + 1} · {gate} gate" for layer in layers for gate in gates],
                           horizontal_spacing=0.04, vertical_spacing=0.12 / max(len(layers), 1))
    for s in saturations:
        units = np.arange(len(s.left))
        figure.add_trace(go.Scatter(
            x=s.left, y=s.right, mode="markers", name=f"layer {s.layer + 1} {s.gate}", showlegend=False,
            marker={"size": 6, "opacity": 0.6, "color": "#3b6fd6"},
            customdata=np.stack([np.full(len(units), s.layer), units], axis=1),
            hovertemplate=(f"{s.gate} gate, layer {s.layer + 1}, unit %{{customdata[1]}}<br>"
                           f"below {SATURATION_LOW:g}: %{{x:.0%}} of the time<br>"
                           f"above {SATURATION_HIGH:g}: %{{y:.0%}} of the time<extra></extra>")),
            row=layers.index(s.layer) + 1, col=gates.index(s.gate) + 1)
    # Points on this line are always saturated one way or the other: binary switches.
    figure.add_shape(type="line", x0=0, y0=1, x1=1, y1=0, line={"dash": "dot", "color": "grey", "width": 1},
                     row="all", col="all")
    figure.update_xaxes(range=[-0.03, 1.03], tickformat=".0%")
    figure.update_yaxes(range=[-0.03, 1.03], tickformat=".0%")
    for column in range(1, len(gates) + 1):
        figure.update_xaxes(title_text="left-saturated", row=len(layers), col=column)
    for row in range(1, len(layers) + 1):
        figure.update_yaxes(title_text="right-saturated", row=row, col=1)
    figure.update_layout(height=260 * len(layers) + 80, margin={"l": 10, "r": 10, "t": 40, "b": 10},
                         clickmode="event+select", dragmode="zoom")
    return figure


def saturation_pick(points: Sequence[dict], saturations: Sequence[Saturation]) -> tuple[int, str, int] | None:
    """(layer, gate, unit) of the first clicked dot, or None. Traces are in saturations' order."""
    for point in points:
        curve, index = point.get("curve_number"), point.get("point_index")
        if isinstance(curve, int) and isinstance(index, int) and 0 <= curve < len(saturations):
            chosen = saturations[curve]
            if 0 <= index < len(chosen.left):
                return chosen.layer, chosen.gate, index
    return None
