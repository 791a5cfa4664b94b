"""What the Inspect page shows of a trace, decided without Streamlit (pure functions).

Which text to read (and how much of it fits the memory budget), which slice of time and
which units one figure shows, in what order, and the found cells as table rows.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

import numpy as np

from playground.views.inspect.heatmaps import MAX_STEPS
from rnnlm.interpret import GATES, CellMatch, Trace, correlations, unit_order

# A trace holds every layer's states and gates per token, float32: a 2 x 512 LSTM needs
# 24 KB a token. It is cached and shared, so its size is capped per text.
TRACE_BUDGET_BYTES = 64 << 20
MAX_TRACE_TOKENS = 20_000
SORTS = {"variance": "most active first (variance)", "correlation": "by correlation with a feature",
         "similarity": "similar units together (clusters)", "unit": "by unit number"}
QUANTITY_LABELS = {"h": "hidden state h", "c": "cell state c", "input": "input gate", "forget": "forget gate",
                   "output": "output gate", "reset": "reset gate", "update": "update gate",
                   "candidate": "candidate (new content)"}
SLICE_CHARS = (200, 5000)  # the validation slice's length limits
NEWLINE_SEARCH = 300  # a slice starts at the next line if one begins this close


def token_budget(layers: int, quantities: int, hidden: int) -> int:
    per_token = layers * quantities * hidden * 4
    return int(max(1, min(MAX_TRACE_TOKENS, TRACE_BUDGET_BYTES // per_token)))


def fit_to_budget(text: str, budget: int) -> str:
    """At most `budget` characters: every token is at least one character, so at most `budget` tokens."""
    return text[:budget]


def ids_within(ids: tuple[int, ...], token_texts: list[str], budget: int) -> tuple[tuple[int, ...], int]:
    """The longest prefix of ids whose text fits in budget characters, and that text's length."""
    ends = np.cumsum([len(t) for t in token_texts])
    count = int(np.searchsorted(ends, budget, side="right"))
    return tuple(ids[:count]), int(ends[count - 1]) if count else 0


def validation_slice(validation: str, chars: int, seed: int) -> str:
    """A reproducible random slice of the held-out text, starting at a line where one is near."""
    if len(validation) <= chars:
        return validation
    start = random.Random(seed).randrange(0, len(validation) - chars)
    newline = validation.find("\n", start, start + NEWLINE_SEARCH)
    if newline != -1 and newline + 1 + chars <= len(validation):
        start = newline + 1
    return validation[start:start + chars]


def windows(count: int, size: int = MAX_STEPS) -> list[tuple[int, int]]:
    """[start, end) time windows of at most `size` steps covering `count` steps."""
    return [(start, min(start + size, count)) for start in range(0, max(count, 1), size)]


def display_values(trace: Trace, layer: int, quantity: str, squash: bool) -> np.ndarray:
    """(time, hidden): the cell state c can grow without bound; tanh(c) is what h sees of it."""
    values = trace.values(layer, quantity)
    return np.tanh(values) if quantity == "c" and squash else values


def order_and_strip(values: np.ndarray, by: str, feature: np.ndarray | None) -> tuple[np.ndarray, np.ndarray, str]:
    """(unit order, one number per unit for the strip, its name) for a (time, hidden) array."""
    if by == "correlation" and feature is not None and feature.std() > 0:
        return unit_order(values, "correlation", feature), correlations(values, feature), "correlation"
    spread = values.std(0)
    if by in ("variance", "similarity"):
        return unit_order(values, by), spread, "std dev"
    return np.arange(values.shape[1]), spread, "std dev"


def usable_features(tracks: dict[str, np.ndarray]) -> list[str]:
    """Features that vary in this text: a constant one correlates with nothing."""
    return [name for name, track in tracks.items() if track.size and track.std() > 0]


def strongest_features(values: np.ndarray, tracks: dict[str, np.ndarray], count: int = 3) -> list[tuple[str, float]]:
    """The features one unit's activation (time,) follows most closely, with the signed correlation."""
    found = [(name, float(correlations(values[:, None], track)[0])) for name, track in tracks.items()
             if track.std() > 0]
    return sorted(found, key=lambda item: -abs(item[1]))[:count]


def check_text(match: CellMatch) -> str:
    """The second-half r, or why there is none."""
    return "absent" if match.check_correlation is None else f"{match.check_correlation:+.2f}"


def cell_label(match: CellMatch) -> str:
    where = (f"{match.feature}: layer {match.layer + 1}, unit {match.unit} "
             f"({QUANTITY_LABELS.get(match.quantity, match.quantity)}), r = {match.correlation:+.2f}")
    if match.chance is None:  # never checked
        return where
    mark = "✓ " if match.validated else "✗ unconfirmed: "
    return f"{mark}{where}, then {check_text(match)} (chance {match.chance:.2f})"


def cell_order(match: CellMatch) -> tuple[bool, float]:
    """Validated cells first, then the strongest on the text they were found on."""
    return not match.validated, -abs(match.correlation)


def cell_rows(matches: Sequence[CellMatch]) -> list[dict]:
    """One row per layer and feature: the best unit (a validated one if any), then the runners-up."""
    best: dict[tuple[int, str], list[CellMatch]] = {}
    for match in matches:
        best.setdefault((match.layer, match.feature), []).append(match)
    rows = []
    for (layer, feature), found in sorted(best.items(), key=lambda item: (item[0][0], min(map(cell_order, item[1])))):
        found = sorted(found, key=cell_order)
        top = found[0]
        rows.append({"layer": layer + 1, "feature": feature, "unit": top.unit,
                     "holds": "✓ yes" if top.validated else "✗ no",
                     "r, 1st half": round(top.correlation, 3),
                     "r, 2nd half": None if top.check_correlation is None else round(top.check_correlation, 3),
                     "chance": None if top.chance is None else round(top.chance, 3),
                     "runners-up": ", ".join(f"{m.unit} ({m.correlation:+.2f} / {check_text(m)}{' ✓' if m.validated else ''})"
                                             for m in found[1:])})
    return rows


def clamp_index(value: int, count: int) -> int:
    return min(max(int(value), 0), max(count - 1, 0))


def has_gates(quantities: Sequence[str]) -> bool:
    return any(q in GATES for q in quantities)
