"""The lecture's equations with a real model's numbers: one unit, one step of a trace.

LSTM (PyTorch):  c_t = f·c_{t-1} + i·g,   h_t = o·tanh(c_t)
GRU (PyTorch):   h_t = (1 − z)·n + z·h_{t-1}   (n already holds r's effect)
RNN:             h_t = tanh(W x_t + U h_{t-1} + b)

`unit_step` reads the gate values the traced step path stored and recomputes the state from
them, so the page can show the sum term by term and the check that it adds up.
"""

from __future__ import annotations

import math

import numpy as np

from ..errors import SettingsError
from ..interpret import Trace


def unit_step(trace: Trace, layer: int, unit: int, position: int) -> dict[str, float]:
    """The quantities of one unit at one token (and the state it came from), plus `recomputed`:
    the new state rebuilt from the gates by the cell's equation."""
    states = trace.states
    # Token 0's previous state is the one after the context token, which the trace does not keep.
    if not 1 <= position < len(states) or not 0 <= layer < states.shape[1] or not 0 <= unit < states.shape[3]:
        raise SettingsError(f"no token {position} (from 1), layer {layer} or unit {unit} in this trace")
    now = {name: float(states[position, layer, index, unit]) for index, name in enumerate(trace.quantities)}
    before = states[position - 1, layer, :, unit]
    previous = {name: float(before[index]) for index, name in enumerate(trace.quantities)}
    if "c" in now:  # LSTM
        recomputed = now["forget"] * previous["c"] + now["input"] * now["candidate"]
        return {**now, "c_prev": previous["c"], "h_prev": previous["h"], "recomputed": recomputed,
                "recomputed_h": now["output"] * math.tanh(recomputed)}
    if "update" in now:  # GRU
        recomputed = (1 - now["update"]) * now["candidate"] + now["update"] * previous["h"]
        return {**now, "h_prev": previous["h"], "recomputed": recomputed}
    return {**now, "h_prev": previous["h"]}


def busiest_unit(trace: Trace, layer: int) -> int:
    """The unit whose hidden state varies most over the text: a good first unit to look at."""
    return int(np.argmax(trace.values(layer, "h").var(axis=0)))
