"""The Generate page's chart of a generation as a Vega-Lite spec (pure: Step records in, dict out).

Per token: the model's probability of the chosen token (left axis) and its entropy (right axis),
one hover line giving both with the token. Vega-Lite rather than plotly: the Generate page is
every visitor's first page, and in a fresh browser plotly.js costs about a second of CPU more to
load and start (bench/bench_pages.py measured it on the Models page); with eight visitors on two
cores the browsers drawing their results took about twice the server's CPU (bench/bench_load.py).
The spec is plain JSON built from the steps in one pass: no validators on the script thread.

Token texts reach the chart only as data (tooltips, and axis labels looked up from a parameter),
never inside an expression: Vega draws them as text, so a crafted vocabulary cannot inject markup.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from playground.widgets.token_html import percent, plain_label
from rnnlm import Step

P_COLOUR, ENTROPY_COLOUR = "#1f77b4", "#ff7f0e"
MAX_TICK_LABELS = 60  # more token labels than this overlap into an unreadable band
LABEL_CHARS = 110  # characters of tick labels the chart's width holds without overlap
MAX_LABEL_CHARS = 8  # a long word piece is cut to this many characters on the axis
LONG = 300  # from this many tokens on: thin lines, a moving average over them, and an overview to zoom with
AVERAGE_POINTS_PER_WIDTH = 4  # a moving average over w tokens drawn with a point every w / 4 tokens
ZOOM = "zoom"  # the overview's brush: the main view shows the tokens it spans


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
    few points per width, not one per token."""
    every = max(1, width // AVERAGE_POINTS_PER_WIDTH)
    return np.unique(np.append(np.arange(0, count, every), count - 1))


def token_rows(steps: Sequence[Step], labels: Sequence[str]) -> list[dict]:
    return [{"i": step.index, "p": step.model_prob, "e": step.entropy, "token": plain_label(label),
             "p_text": percent(step.model_prob)} for step, label in zip(steps, labels)]


def average_rows(steps: Sequence[Step], width: int) -> list[dict]:
    """Moving averages of p and entropy, thinned, both ends kept."""
    points = thinned(len(steps), width)
    p = moving_average([step.model_prob for step in steps], width)
    e = moving_average([step.entropy for step in steps], width)
    return [{"i": steps[k].index, "p": p[k], "e": e[k]} for k in points.tolist()]


def series(name: str, field: str, data: str, colours: dict[str, str], axis: dict, mark: dict) -> dict:
    """One line of the chart: its legend entry (by colour) and its y axis."""
    return {"data": {"name": data}, "mark": {"type": "line", **mark},
            "encoding": {"y": {"field": field, "type": "quantitative", **axis},
                         "color": {"datum": name, "scale": {"domain": list(colours), "range": list(colours.values())},
                                   "legend": {"orient": "top", "title": None}}}}


def line_groups(long: bool, width: int) -> list[dict]:
    """The probability lines (left axis) and the entropy lines (right axis), each with its average
    when the text is long; a group shares its axis."""
    raw = {"opacity": 0.35, "strokeWidth": 1} if long else {}
    p_axis = {"title": "probability", "scale": {"domain": [0, 1]}, "axis": {"format": ".0%"}}
    e_axis = {"title": "entropy (nats)", "scale": {"zero": True}, "axis": {"orient": "right"}}
    names = {"p": "model p(chosen token)", "e": "entropy (nats)",
             "p_mean": f"p, mean of {width} tokens", "e_mean": f"entropy, mean of {width} tokens"}
    colours = {names["p"]: P_COLOUR, names["e"]: ENTROPY_COLOUR}
    if long:
        colours |= {names["p_mean"]: "#08306b", names["e_mean"]: "#a63603"}
    groups = []
    for field, axis, dash in (("p", p_axis, None), ("e", e_axis, [2, 2])):
        # a short text marks each token's probability; entropy stays a dotted line
        style = {**raw, **({"strokeDash": dash} if dash else {} if long else {"point": {"size": 16}})}
        layers = [series(names[field], field, "tokens", colours, axis, style)]
        if long:
            layers.append(series(names[f"{field}_mean"], field, "averages", colours, axis, {"strokeWidth": 2.5}))
        groups.append({"layer": layers})
    return groups


def hover_layer() -> dict:
    """A rule at the token nearest the pointer, with the token, its p and entropy in the tooltip."""
    # aria off: one rule per token would give screen readers (and the page) thousands of labelled items
    return {"data": {"name": "tokens"}, "mark": {"type": "rule", "color": "#555", "aria": False},
            "params": [{"name": "hover", "select": {"type": "point", "fields": ["i"], "nearest": True,
                                                    "on": "pointerover", "clear": "pointerout"}}],
            "encoding": {"opacity": {"condition": {"param": "hover", "empty": False, "value": 0.5}, "value": 0},
                         "tooltip": [{"field": "token", "title": "token"},
                                     {"field": "p_text", "title": "p (model)"},
                                     {"field": "e", "title": "entropy (nats)", "format": ".2f"},
                                     {"field": "i", "title": "position"}]}}


def prompt_layers(steps: Sequence[Step]) -> list[dict]:
    """The prompt's tokens shaded, labelled at the top left."""
    indices = [step.index for step in steps if step.from_prompt]
    if not indices:
        return []
    data = {"values": [{"x0": min(indices) - 0.5, "x1": max(indices) + 0.5, "label": "prompt"}]}
    # aria off: a shading and its caption, not data (Vega would label them "token: -0.5; label: prompt")
    return [{"data": data, "mark": {"type": "rect", "color": "grey", "opacity": 0.12, "aria": False},
             "encoding": {"x": {"field": "x0", "type": "quantitative"}, "x2": {"field": "x1"}}},
            {"data": data, "mark": {"type": "text", "align": "left", "baseline": "top", "dx": 3, "y": 3, "color": "#555",
                                    "aria": False},
             "encoding": {"x": {"field": "x0", "type": "quantitative"}, "text": {"field": "label"}}}]


def x_encoding(tick_count: int, zoomable: bool) -> dict:
    """Token positions, labelled with the tokens themselves (looked up in the tick_text parameter)."""
    scale = {"domain": {"param": ZOOM, "encodings": ["x"]}} if zoomable else {}
    return {"field": "i", "type": "quantitative", "title": "token", "scale": {**scale, "nice": False},
            "axis": {"tickCount": tick_count, "tickMinStep": 1, "labelAngle": 0,
                     "labelExpr": "tick_text[datum.value] || ''"}}


def overview(width: int) -> dict:
    """A strip under a long text's chart: the averaged probability, and a brush that zooms the chart."""
    return {"height": 50, "data": {"name": "averages"},
            "mark": {"type": "area", "color": P_COLOUR, "opacity": 0.4},
            "params": [{"name": ZOOM, "select": {"type": "interval", "encodings": ["x"]}}],
            "encoding": {"x": {"field": "i", "type": "quantitative", "title": "drag here to zoom",
                               "scale": {"nice": False}},
                         "y": {"field": "p", "type": "quantitative", "axis": None, "scale": {"domain": [0, 1]}}}}


def probability_entropy_spec(steps: Sequence[Step], labels: Sequence[str] | None = None) -> dict:
    """The chart of a generation. labels: each token as the user reads it (their own characters
    where the model read its unknown token); by default the tokens' texts. A long generation draws
    the raw series faintly under a moving average, with an overview strip to zoom."""
    labels = list(labels or [step.text for step in steps])
    long = len(steps) >= LONG
    width = max(5, len(steps) // 40)
    tick_text = {str(step.index): plain_label(label[:MAX_LABEL_CHARS]) for step, label in zip(steps, labels)}
    main = {"height": 300 if long else 260,
            # the hover layer last: Vega-Lite takes the zoom's x extent from a layer's last child,
            # which must inherit the shared x (the prompt layers set their own)
            "layer": [*prompt_layers(steps), *line_groups(long, width), hover_layer()],
            "encoding": {"x": x_encoding(label_budget(labels), long)},
            "resolve": {"scale": {"y": "independent"}}}
    spec = {"params": [{"name": "tick_text", "value": tick_text}],
            "datasets": {"tokens": token_rows(steps, labels)}}
    if long:
        spec["datasets"]["averages"] = average_rows(steps, width)
    if not long:
        return {**spec, **main}
    # fit-x: Streamlit pads a vconcat of layers, and the right-hand axis then overflows the page
    return {**spec, "vconcat": [main, overview(width)], "autosize": {"type": "fit-x", "contains": "padding"}}
