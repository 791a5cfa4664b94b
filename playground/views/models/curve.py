"""A model's learning curve on the Models page: held-out nats/char as it trained (curve.json,
written by python -m train.publish from the run's evaluations), beside xz's figure.

A Vega-Lite spec rather than a plotly figure: the Models page opens on the sidebar model's card,
curve included, and in a fresh browser plotly.js costs about a second of CPU more to load and
start than Streamlit's Vega-Lite (bench/bench_pages.py).
"""

from __future__ import annotations

import json
from pathlib import Path

AXES = {"chars_seen": "characters read", "minutes": "minutes of training"}
# Each x quantity's number formats (d3), on the axis and in the hover: characters read as 1.2M
# (1.234M in the hover), minutes with one decimal.
X_FORMATS = {"chars_seen": ("~s", ",.4~s"), "minutes": (".1f", ".1f")}
PUBLISHED_COLOUR, XZ_COLOUR = "#2a9d8f", "#b00020"


def read_points(folder: Path) -> list[dict]:
    """The curve's points; [] when the model has none or the file is not readable."""
    try:
        points = json.loads((folder / "curve.json").read_text(encoding="utf-8"))["points"]
    except (OSError, ValueError, KeyError, TypeError):
        return []
    return [p for p in points if isinstance(p, dict) and all(k in p for k in (*AXES, "val_nats_per_char"))]


def reference_layers(label: str, value: float, colour: str, dash: list[int], baseline: str) -> list[dict]:
    """A horizontal rule at value with its label at the chart's left end, where a falling curve
    is high above it (at the right end the curve meets the published figure's label)."""
    data = {"values": [{"y": value, "label": label}]}
    y = {"field": "y", "type": "quantitative"}
    return [{"data": data, "mark": {"type": "rule", "color": colour, "strokeDash": dash}, "encoding": {"y": y}},
            {"data": data, "mark": {"type": "text", "align": "left", "baseline": baseline, "dx": 4,
                                    "dy": -3 if baseline == "bottom" else 3, "x": 0, "color": colour},
             "encoding": {"y": y, "text": {"field": "label"}}}]


def curve_spec(points: list[dict], x: str, final: float, xz: float | None) -> dict:
    """The curve (line and points, with hover figures), the published whole-split figure (dotted)
    and xz's (dashed)."""
    values = [{"x": p[x], "y": p["val_nats_per_char"]} for p in points]
    axis_format, hover_format = X_FORMATS[x]
    layers = [{"data": {"values": values}, "mark": {"type": "line", "point": True},
               "encoding": {"x": {"field": "x", "type": "quantitative", "title": AXES[x],
                                  "axis": {"format": axis_format}},
                            "y": {"field": "y", "type": "quantitative", "title": "nats/char (lower is better)",
                                  "scale": {"zero": False}},
                            "tooltip": [{"field": "x", "title": AXES[x], "format": hover_format},
                                        {"field": "y", "title": "nats/char", "format": ".3f"}]}}]
    layers += reference_layers(f"published: {final:.3f} (whole split)", final, PUBLISHED_COLOUR, [2, 3], "bottom")
    if xz is not None:
        layers += reference_layers(f"xz -9e: {xz:.3f}", xz, XZ_COLOUR, [6, 4], "top")
    return {"layer": layers}
