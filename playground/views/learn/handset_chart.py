"""The hand-set cell's charts as Vega-Lite specs (pure: the cell's rows in, specs out).

Vega-Lite rather than plotly: this lesson is what the Learn page opens on, and in a fresh browser
loading and starting plotly.js cost about four times what Streamlit's Vega-Lite does (one small
chart on a one-line page, measured as bench/bench_pages.py measures). The charts are drawn when
their expander opens (handset.py); the step table above them holds every number.
"""

from __future__ import annotations

import math

STEP_AXIS = {"field": "t", "type": "ordinal", "title": None, "axis": {"labelExpr": "'t=' + datum.value", "labelAngle": 0}}
LEGEND = {"orient": "top", "title": None}


def points(rows: list[dict], names: list[str]) -> list[dict]:
    """One record per step and name: {"t": 1, "quantity": "memory", "value": 3.0}. A value that is
    not finite (weights edited to overflow) is left out of the line: JSON has no NaN."""
    return [{"t": t, "quantity": name, "value": row[name] if math.isfinite(row[name]) else None}
            for t, row in enumerate(rows, start=1) for name in names]


def tooltip(label: str) -> list[dict]:
    return [{"field": "quantity", "type": "nominal", "title": label},
            {"field": "t", "type": "ordinal", "title": "step"},
            {"field": "value", "type": "quantitative", "format": ".3f"}]


def state_spec(rows: list[dict], kind: str) -> dict:
    """Memory (solid) and output (dotted) per step."""
    names = ["memory", "output"]
    return {
        "title": {"text": f"The hand-set {kind}, step by step", "anchor": "start"},
        "data": {"values": points(rows, names)},
        "mark": {"type": "line", "point": True},
        "encoding": {
            "x": STEP_AXIS,
            "y": {"field": "value", "type": "quantitative", "title": "value"},
            "color": {"field": "quantity", "type": "nominal", "sort": names, "legend": LEGEND},
            "strokeDash": {"field": "quantity", "type": "nominal", "sort": names, "legend": None},
            "tooltip": tooltip("quantity"),
        },
    }


def gates_spec(rows: list[dict]) -> dict:
    """Each gate per step, side by side, on a fixed 0-1 scale."""
    gates = [name for name in rows[0] if name.endswith("gate")]
    return {
        "title": {"text": "Each gate per step (0 shut, 1 open)", "anchor": "start"},
        "data": {"values": points(rows, gates)},
        "mark": {"type": "bar"},
        "encoding": {
            "x": STEP_AXIS,
            "xOffset": {"field": "quantity", "type": "nominal", "sort": gates},
            "y": {"field": "value", "type": "quantitative", "title": "gate", "scale": {"domain": [0, 1.05]}},
            "color": {"field": "quantity", "type": "nominal", "sort": gates, "legend": LEGEND},
            "tooltip": tooltip("gate"),
        },
    }
