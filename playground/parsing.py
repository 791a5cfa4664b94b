"""Turning one URL parameter's text into a value, or into a sentence saying why not.

Pure functions, no Streamlit: state.py decides which parameter uses which parser and
what the fallback is; these only judge the text. Each returns (value, problem) where
problem is None when the text was usable.
"""

from __future__ import annotations

import math

from rnnlm.branching import parse_forced
from rnnlm.clamp import parse_clamps
from rnnlm.errors import RnnlmError

Parsed = tuple[object, str | None]


def parse_float(name: str, text: str, low: float, high: float) -> Parsed:
    try:
        value = float(text)
    except ValueError:
        return None, f"{name}={text!r} is not a number"
    if not math.isfinite(value) or not low <= value <= high:
        return None, f"{name}={text!r} is outside {low:g}–{high:g}"
    return value, None


def parse_int(name: str, text: str, low: int, high: int) -> Parsed:
    try:
        value = int(text.strip(), 10)
    except ValueError:
        return None, f"{name}={text!r} is not a whole number"
    if not low <= value <= high:
        return None, f"{name}={text!r} is outside {low:,}–{high:,}"
    return value, None


def parse_text(name: str, text: str, max_chars: int) -> Parsed:
    if len(text) > max_chars:
        return None, f"{name} is {len(text):,} characters long; the limit is {max_chars:,}"
    return text, None


def parse_choice(name: str, text: str, choices: list[str]) -> Parsed:
    if text not in choices:
        return None, f"{name}={text!r} is not one of the available models"
    return text, None


def parse_choices(name: str, texts: list[str], choices: list[str], low: int, high: int) -> Parsed:
    """A list of distinct known choices, low to high of them."""
    known = list(dict.fromkeys(t for t in texts if t in choices))
    if len(known) < low or len(known) > high:
        return None, f"{name} must name {low} to {high} distinct available models, got {texts!r}"
    unknown = [t for t in texts if t not in choices]
    if unknown:
        return known, f"{name}: dropped unknown models {unknown!r}"
    return known, None


def _spec_text(name: str, text: str, parse) -> Parsed:
    """A spec kept as typed when the core's parser takes all of it; its refusal otherwise."""
    try:
        parse(text)
    except RnnlmError as exc:
        return None, f"{name}: {exc}"
    return text, None


def parse_clamp_text(text: str) -> Parsed:
    """Clamps as typed ("1:42=0.9, 2:7:c=0"). Whether the model has that layer and unit is
    checked when sampling (the model may change first)."""
    return _spec_text("clamp", text, parse_clamps)


def parse_force_text(text: str) -> Parsed:
    """Forced tokens as typed ("12:45, 30:7")."""
    return _spec_text("force", text, parse_forced)


def parse_temps_text(text: str, low: float, high: float, most: int) -> Parsed:
    """A temperature sweep as typed in a link ("0.2,0.5,0.8"): 1 to `most` distinct numbers in
    [low, high], kept as the canonical text (two decimals, ascending)."""
    try:
        values = sorted({round(float(part), 2) for part in text.split(",") if part.strip()})
    except ValueError:
        return None, f"temps must be numbers separated by commas, got {text[:40]!r}"
    if not 1 <= len(values) <= most or not all(math.isfinite(v) and low <= v <= high for v in values):
        return None, f"temps must be 1 to {most} temperatures from {low:g} to {high:g}, got {text[:40]!r}"
    return ",".join(f"{v:g}" for v in values), None
