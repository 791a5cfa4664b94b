"""Is a found cell real? Check it against chance and on a second, disjoint slice of text.

Searching ~2,000 units for the one that best follows a feature finds a good-looking
correlation even in noise, and slowly changing tracks (a brace depth, a comment) make it
worse: neighbouring steps are not independent. So a cell counts (CellMatch.validated) only when

1. its |r| on the slice it was found on beats the chance level: the 99th percentile, over
   circular shifts of the feature track (a shift keeps the track's autocorrelation, so the
   baseline knows how long its runs are), of the best |r| that any searched unit reaches;
2. on a second slice of text, disjoint from the first, the same unit's r has the same sign
   and beats that slice's chance level too.

The chance level a match carries is the higher of the two slices'. The Inspect page checks
the first half of its text on the second half (search_halves); a model card checks one
held-out slice on another (strongest_checked, covering_slices).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from .features import feature_tracks
from .interpret import CellMatch, Trace, correlations, search_cells, strongest_cells, token_feature_tracks

CHANCE_PERCENTILE = 99
SHIFTS = 200  # circular shifts of each feature track: the baseline's sample size
MIN_SHIFT = 0.1  # shifts by less than this fraction of the slice would leave the track nearly aligned
MAX_SLICES_SCANNED = 120  # covering_slices reads at most this many candidate slices
NEWLINE_SEARCH = 300  # a slice starts at the next line if one begins this close


def unit_columns(trace: Trace, quantities: Sequence[str]) -> np.ndarray:
    """(time, units): every unit of every layer for the quantities the trace has: the searched family."""
    index = [trace.quantities.index(q) for q in quantities if q in trace.quantities]
    states = trace.states[:, :, index, :]  # (time, layers, quantities, hidden)
    return states.reshape(len(states), -1)


def standardised(values: np.ndarray) -> np.ndarray:
    """Columns with zero mean and unit norm (constant ones stay zero), so a product is a correlation."""
    centred = values.astype(np.float64) - values.mean(0)
    norm = np.sqrt((centred * centred).sum(0))
    return np.divide(centred, norm, out=np.zeros_like(centred), where=norm > 0).astype(np.float32)


def shift_offsets(length: int, shifts: int = SHIFTS, seed: int = 0) -> np.ndarray:
    low = max(1, int(length * MIN_SHIFT))
    high = max(low + 1, length - low + 1)
    return np.random.default_rng(seed).integers(low, high, size=shifts)


def chance_level(columns: np.ndarray, feature: np.ndarray, shifts: int = SHIFTS, seed: int = 0) -> float:
    """The CHANCE_PERCENTILE-th percentile of max over units of |r| with the feature circularly shifted.
    columns: standardised (time, units). A feature that never changes gives 1 (nothing beats it)."""
    length = len(feature)
    if length < 3 or feature.std() == 0:
        return 1.0
    track = standardised(feature[:, None])[:, 0]
    offsets = shift_offsets(length, shifts, seed)
    shifted = track[(np.arange(length)[:, None] - offsets[None, :]) % length]  # (time, shifts)
    best = np.abs(columns.T @ shifted).max(0)  # (shifts,)
    return float(min(1.0, np.percentile(best, CHANCE_PERCENTILE)))


def check_cells(matches: Sequence[CellMatch], found: Trace, check: Trace, quantities: Sequence[str],
                found_features: dict[str, np.ndarray] | None = None,
                check_features: dict[str, np.ndarray] | None = None,
                shifts: int = SHIFTS, seed: int = 0) -> list[CellMatch]:
    """Each match (found on `found`) with its r on `check` and the chance level, validated ones first.
    quantities: every quantity the search looked at, so the baseline searches as many units as it did."""
    found_features = token_feature_tracks(found) if found_features is None else found_features
    check_features = token_feature_tracks(check) if check_features is None else check_features
    found_columns, check_columns = (standardised(unit_columns(t, quantities)) for t in (found, check))
    chance: dict[str, tuple[float, float | None]] = {}
    result = []
    for match in matches:
        track = check_features.get(match.feature)
        present = track is not None and len(track) > 2 and track.std() > 0
        if match.feature not in chance:
            chance[match.feature] = (chance_level(found_columns, found_features[match.feature], shifts, seed),
                                     chance_level(check_columns, track, shifts, seed) if present else None)
        r = float(correlations(check.values(match.layer, match.quantity)[:, [match.unit]], track)[0]) if present else None
        result.append(replace(match, check_correlation=r, chance=max(c for c in chance[match.feature] if c is not None)))
    return sorted(result, key=lambda m: (not m.validated, -abs(m.correlation)))


def part(trace: Trace, start: int, end: int) -> Trace:
    return Trace(trace.token_ids[start:end], trace.token_texts[start:end], trace.states[start:end],
                 trace.next_top[start:end], trace.quantities)


def halves_middle(tokens: int) -> int:
    """Where search_halves' second half starts: the one rule for every feature, built-in or your own."""
    return tokens // 2


def search_halves(trace: Trace, quantity: str = "h", per_feature: int = 3,
                  features: dict[str, np.ndarray] | None = None, shifts: int = SHIFTS) -> list[CellMatch]:
    """The Inspect page's search: units found on the first half of the text (by tokens), checked on
    the second. features: per-token tracks of the whole text (token_feature_tracks), cut the same way."""
    features = token_feature_tracks(trace) if features is None else features
    middle = halves_middle(len(trace.token_ids))
    first, second = part(trace, 0, middle), part(trace, middle, len(trace.token_ids))
    first_features = {name: track[:middle] for name, track in features.items()}
    second_features = {name: track[middle:] for name, track in features.items()}
    matches = search_cells(first, quantity, per_feature, first_features)
    return check_cells(matches, first, second, (quantity,), first_features, second_features, shifts)


def strongest_checked(found: Trace, check: Trace, quantities: tuple[str, ...] = ("h", "c"),
                      shifts: int = SHIFTS) -> list[CellMatch]:
    """A model card's search: the best unit for each feature on one slice (over every layer and the
    quantities), checked on another slice read from a fresh state; validated cells first."""
    return check_cells(strongest_cells(found, quantities), found, check, quantities, shifts=shifts)


def varying_features(text: str) -> set[str]:
    return {name for name, track in feature_tracks(text).items() if track.std() > 0}


def candidate_slices(text: str, chars: int) -> list[tuple[int, int]]:
    """Disjoint [start, end) slices of about chars characters, one after another, each starting at a line."""
    found, start = [], 0
    while start < len(text) and len(found) < MAX_SLICES_SCANNED:
        end = min(start + chars, len(text))
        found.append((start, end))
        newline = text.find("\n", end, end + NEWLINE_SEARCH)
        start = newline + 1 if newline != -1 else end
    return found


def covering_slices(text: str, chars: int, count: int = 2) -> tuple[list[tuple[int, int]], list[list[str]]]:
    """count disjoint slices of text that contain as many features as any slice does (the first such,
    in order), and the features absent from each. A text too short for count slices is cut in count."""
    candidates = candidate_slices(text, chars)
    if len(candidates) < count or candidates[count - 1][1] - candidates[count - 1][0] < chars:
        step = len(text) // count
        candidates = [(i * step, (i + 1) * step) for i in range(count)]
    present = [varying_features(text[start:end]) for start, end in candidates]
    chosen = sorted(sorted(range(len(candidates)), key=lambda i: -len(present[i]))[:count])
    every = sorted(feature_tracks(" "))
    return [candidates[i] for i in chosen], [[f for f in every if f not in present[i]] for i in chosen]
