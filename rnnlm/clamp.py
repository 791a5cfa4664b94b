"""Clamping a unit: hold one layer's unit at a value at every step, to see what it does.

A clamp is written L:U=VALUE (layer L counted from 1, as the pages show layers; unit U from
0; the hidden state h) or L:U:c=VALUE (an LSTM's cell state c, whose output h is then
recomputed as o * tanh(c), so the next layer and the next step see the clamped memory).
Value 0 ablates the unit. The step path applies clamps after each layer's step and before
the next layer reads it, so the sampled text, its probabilities and a trace all show the
clamped run.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from .errors import SettingsError

SPEC = re.compile(r"^\s*(\d+)\s*:\s*(\d+)\s*(?::\s*([hc]))?\s*=\s*([-+]?\d*\.?\d+(?:[eE][-+]?\d+)?)\s*$")
MAX_CLAMPS = 8
MAX_ABS_VALUE = 100.0  # tanh units live in [-1, 1]; an LSTM's c rarely leaves [-20, 20]
MAX_DIGITS = 9  # a layer or unit number; no model has a billion units


@dataclass(frozen=True)
class Clamp:
    layer: int  # from 0 (the spec counts from 1)
    unit: int
    value: float
    quantity: str = "h"  # "h", or "c" for an LSTM's cell state

    def spec(self) -> str:
        where = f"{self.layer + 1}:{self.unit}" + (":c" if self.quantity == "c" else "")
        return f"{where}={self.value:g}"

    def check(self, cell: str, layers: int, hidden: int) -> None:
        if not 0 <= self.layer < layers:
            raise SettingsError(f"clamp {self.spec()}: this model has layers 1-{layers}")
        if not 0 <= self.unit < hidden:
            raise SettingsError(f"clamp {self.spec()}: this model has units 0-{hidden - 1}")
        if self.quantity == "c" and cell != "lstm":
            raise SettingsError(f"clamp {self.spec()}: only an LSTM has a cell state c; clamp h instead")


def _shown(text: str) -> str:
    """The clamp as typed, for a message: cut short, since a share link can carry any length."""
    text = text.strip()
    return repr(text if len(text) <= 40 else text[:40] + "…")


def parse_clamp(text: str) -> Clamp:
    match = SPEC.match(text)
    if not match or len(match[1]) > MAX_DIGITS or len(match[2]) > MAX_DIGITS:  # int() refuses 4,300+ digits
        raise SettingsError(f"a clamp is written LAYER:UNIT=VALUE or LAYER:UNIT:c=VALUE (e.g. 1:42=0.9), "
                            f"not {_shown(text)}")
    layer, unit, quantity, value = int(match[1]), int(match[2]), match[3] or "h", float(match[4])
    if layer < 1:
        raise SettingsError(f"clamp {_shown(text)}: layers are counted from 1")
    if not math.isfinite(value) or abs(value) > MAX_ABS_VALUE:
        raise SettingsError(f"clamp {_shown(text)}: the value must be between -{MAX_ABS_VALUE:g} and {MAX_ABS_VALUE:g}")
    return Clamp(layer - 1, unit, value, quantity)


def parse_clamps(text: str) -> tuple[Clamp, ...]:
    """Clamps separated by commas or semicolons ('' gives none); a unit clamped twice is refused."""
    clamps = tuple(parse_clamp(part) for part in re.split(r"[,;]", text) if part.strip())
    if len(clamps) > MAX_CLAMPS:
        raise SettingsError(f"at most {MAX_CLAMPS} clamps, not {len(clamps)}")
    places = [(c.layer, c.unit, c.quantity) for c in clamps]
    if len(set(places)) != len(places):
        raise SettingsError("a unit is clamped twice: give each unit one value")
    return clamps


def clamps_text(clamps: tuple[Clamp, ...]) -> str:
    return ", ".join(c.spec() for c in clamps)
