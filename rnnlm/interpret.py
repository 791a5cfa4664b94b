"""Looking inside the recurrent cell: traces, feature tracks, cell search, gate saturation.

Tensors in, arrays out; no plotting here. A trace is a float32 array
(time, layers, quantities, hidden): the state after reading each token (see stepper.py
for the quantity names). Feature tracks (features.py) are per-character signals computed
from the text alone (inside a quote, brace depth, position in line, ...); the cell search
correlates every unit with every track, the automatic version of what Karpathy found
by hand in "Visualizing and Understanding Recurrent Networks" (2015). Whether a found
cell is more than chance is cell_validation.py's job.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .features import at_token_ends, feature_tracks
from .language_model import LanguageModel

GATES = {"input", "forget", "output", "reset", "update"}
SATURATION_LOW, SATURATION_HIGH = 0.1, 0.9


@dataclass
class Trace:
    token_ids: list[int]
    token_texts: list[str]
    states: np.ndarray  # (time, layers, quantities, hidden) after reading each token
    next_top: list[list[tuple[str, float]]]  # the model's top guesses for the token after each one
    quantities: tuple[str, ...]

    def values(self, layer: int, quantity: str) -> np.ndarray:
        """(time, hidden) for one layer and quantity."""
        return self.states[:, layer, self.quantities.index(quantity)]

    def char_ends(self) -> np.ndarray:
        """Index one past the last character of each token in the joined text."""
        return np.cumsum([len(t) for t in self.token_texts])


def trace_text(lm: LanguageModel, text: str, top_n: int = 3, clamps=()) -> Trace:
    """Read text (after the context newline) and keep every state and next-token guess."""
    return trace_ids(lm, lm.tokenizer.encode(text), top_n, clamps)


def trace_ids(lm: LanguageModel, ids: Sequence[int], top_n: int = 3, clamps=()) -> Trace:
    """The same for given token ids: a sampled text's own tokens, which re-encoding its text
    may not give back (a word model can sample ' h' 'us' 'es' where encode reads ' hus' 'es').
    clamps (rnnlm.clamp.Clamp): read as a clamped generation did, so its heatmaps show that run."""
    tokenizer, stepper = lm.tokenizer, lm.stepper
    ids = list(ids)
    for clamp in clamps:
        clamp.check(lm.cell, lm.config.num_layers, lm.config.hidden_size)
    state, _ = stepper.step(tokenizer.context_id(), stepper.initial_state(), clamps)
    states = np.empty((len(ids),) + state.shape, dtype=np.float32)
    guesses = []
    for position, token_id in enumerate(ids):
        state, logits = stepper.step(token_id, state, clamps)
        states[position] = state
        top = np.argpartition(-logits, top_n)[:top_n] if len(logits) > top_n else np.arange(len(logits))
        top = top[np.argsort(-logits[top], kind="stable")]
        probs = np.exp(logits[top] - logits.max()) / np.exp(logits - logits.max()).sum()
        guesses.append([(tokenizer.token_text(int(i)), float(p)) for i, p in zip(top, probs)])
    return Trace(ids, [tokenizer.token_text(i) for i in ids], states, guesses, lm.quantities)


# --- feature tracks (per token) -----------------------------------------------------

def token_feature_tracks(trace: Trace) -> dict[str, np.ndarray]:
    """Feature value at the last character of each token (so word and char models compare)."""
    text = "".join(trace.token_texts)
    return {name: at_token_ends(track, trace.token_texts) for name, track in feature_tracks(text).items()} if text else {}


# --- cell search ---------------------------------------------------------------------

def correlations(values: np.ndarray, feature: np.ndarray) -> np.ndarray:
    """Pearson correlation of every unit (columns of values (time, hidden)) with a feature."""
    x = values - values.mean(0)
    y = feature - feature.mean()
    denominator = np.sqrt((x * x).sum(0) * (y * y).sum())
    with np.errstate(invalid="ignore", divide="ignore"):
        r = (x * y[:, None]).sum(0) / denominator
    return np.nan_to_num(r)


@dataclass
class CellMatch:
    feature: str
    layer: int
    quantity: str
    unit: int
    correlation: float  # signed: negative means the unit goes down when the feature goes up
    # Filled in by rnnlm.cell_validation: r of the same unit on a second, disjoint slice of text
    # (None: not checked, or the feature is absent there), and the chance level both |r| must beat.
    check_correlation: float | None = None
    chance: float | None = None

    @property
    def validated(self) -> bool:
        """Holds on both slices, same sign, above what searching every unit finds by chance."""
        return (self.check_correlation is not None and self.chance is not None
                and self.correlation * self.check_correlation > 0
                and min(abs(self.correlation), abs(self.check_correlation)) > self.chance)


def search_cells(trace: Trace, quantity: str = "h", per_feature: int = 3,
                 features: dict[str, np.ndarray] | None = None) -> list[CellMatch]:
    """Units that best track each feature, per layer, strongest first."""
    features = token_feature_tracks(trace) if features is None else features
    matches = []
    for layer in range(trace.states.shape[1]):
        values = trace.values(layer, quantity)
        for name, track in features.items():
            if track.std() == 0:  # a feature that never changes in this text says nothing
                continue
            r = correlations(values, track)
            for unit in np.argsort(-np.abs(r), kind="stable")[:per_feature]:
                matches.append(CellMatch(name, layer, quantity, int(unit), float(r[unit])))
    return sorted(matches, key=lambda m: -abs(m.correlation))


def strongest_cells(trace: Trace, quantities: tuple[str, ...] = ("h", "c")) -> list[CellMatch]:
    """The single best unit for each feature over every layer and the given quantities,
    strongest feature first: the one-line-per-feature summary a model card reports."""
    best: dict[str, CellMatch] = {}
    for quantity in (q for q in quantities if q in trace.quantities):
        for match in search_cells(trace, quantity, per_feature=1):
            if match.feature not in best or abs(match.correlation) > abs(best[match.feature].correlation):
                best[match.feature] = match
    return sorted(best.values(), key=lambda m: -abs(m.correlation))


# --- unit ordering and gate saturation -------------------------------------------------

def unit_order(values: np.ndarray, by: str = "variance", feature: np.ndarray | None = None) -> np.ndarray:
    """A permutation of units (columns) that makes structure visible in a heatmap."""
    if by == "variance":
        return np.argsort(-values.var(0), kind="stable")
    if by == "correlation":
        return np.argsort(-correlations(values, feature), kind="stable")
    if by == "similarity":
        # Spectral ordering: units sorted by the leading eigenvector of their correlation
        # matrix, so units that move together sit together.
        centred = values - values.mean(0)
        scale = np.sqrt((centred ** 2).sum(0)) + 1e-8
        similarity = (centred / scale).T @ (centred / scale)
        _, vectors = np.linalg.eigh(similarity)
        return np.argsort(vectors[:, -1], kind="stable")
    return np.arange(values.shape[1])


@dataclass
class Saturation:
    gate: str
    layer: int
    left: np.ndarray  # (hidden,) fraction of time below SATURATION_LOW
    right: np.ndarray  # (hidden,) fraction of time above SATURATION_HIGH


def gate_saturation(trace: Trace) -> list[Saturation]:
    """Per layer and gate: how often each unit is nearly closed or nearly open."""
    result = []
    for layer in range(trace.states.shape[1]):
        for gate in (q for q in trace.quantities if q in GATES):
            values = trace.values(layer, gate)
            result.append(Saturation(gate, layer, (values < SATURATION_LOW).mean(0), (values > SATURATION_HIGH).mean(0)))
    return result
