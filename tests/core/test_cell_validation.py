"""Validated cell search on tiny synthetic traces: a real cell holds, a lucky one does not."""

import numpy as np
import pytest

from rnnlm.cell_validation import (
    chance_level,
    check_cells,
    covering_slices,
    search_halves,
    standardised,
    strongest_checked,
    unit_columns,
)
from rnnlm.features import feature_tracks
from rnnlm.interpret import CellMatch, Trace, search_cells

LAYERS, UNITS = 2, 100  # with h and c: 400 units searched per feature
PLANTED = (1, "c", 7)  # layer, quantity, unit


def blocks(length: int, seed: int, mean_run: int = 40) -> np.ndarray:
    """A feature with runs of random length (like 'inside comment'): strongly autocorrelated."""
    rng = np.random.default_rng(seed)
    runs = rng.geometric(1 / mean_run, size=length)
    values = np.repeat(np.arange(len(runs)) % 2, runs)[:length]
    return values.astype(np.float32)


def synthetic(feature: np.ndarray, seed: int, copy: bool = True, noise: float = 0.7, walk: bool = False) -> Trace:
    """Noise units (random walks if walk: autocorrelated like a real cell state); the planted unit
    copies the feature with noise when copy."""
    rng = np.random.default_rng(seed)
    states = rng.normal(size=(len(feature), LAYERS, 2, UNITS)).astype(np.float32)
    if walk:
        states = np.cumsum(states, axis=0)
    layer, quantity, unit = PLANTED
    if copy:
        states[:, layer, ("h", "c").index(quantity), unit] = feature + noise * rng.normal(size=len(feature))
    n = len(feature)
    return Trace(list(range(n)), ["x"] * n, states, [[]] * n, ("h", "c"))


def checked(found: Trace, check: Trace, found_feature: np.ndarray, check_feature: np.ndarray) -> list[CellMatch]:
    """The card's search for one feature: the best of every unit (both layers, h and c), then checked."""
    searched = [m for q in ("h", "c") for m in search_cells(found, q, 1, {"planted": found_feature})]
    matches = [max(searched, key=lambda m: abs(m.correlation))]
    return check_cells(matches, found, check, ("h", "c"), {"planted": found_feature}, {"planted": check_feature})


def test_a_unit_that_copies_a_feature_with_noise_validates():
    a, b = blocks(1500, seed=1), blocks(1500, seed=2)
    match = checked(synthetic(a, seed=3), synthetic(b, seed=4), a, b)[0]
    assert (match.layer, match.quantity, match.unit) == PLANTED
    assert match.correlation > 0.5 and match.check_correlation > 0.5 and match.chance < 0.3
    assert match.validated


def test_a_unit_correlated_on_one_slice_only_does_not_validate():
    a, b = blocks(1500, seed=1), blocks(1500, seed=2)
    match = checked(synthetic(a, seed=3), synthetic(b, seed=4, copy=False), a, b)[0]
    assert (match.layer, match.quantity, match.unit) == PLANTED and match.correlation > 0.5
    assert abs(match.check_correlation) < match.chance and not match.validated


def test_the_permutation_baseline_rejects_the_luckiest_random_unit():
    a, b = blocks(600, seed=5, mean_run=80), blocks(600, seed=6, mean_run=80)
    found, check = synthetic(a, seed=7, copy=False, walk=True), synthetic(b, seed=8, copy=False, walk=True)
    match = checked(found, check, a, b)[0]
    naive = 2 / np.sqrt(len(a))  # what one unit would need to pass a 5% test, searching nothing
    assert abs(match.correlation) > max(0.3, naive)  # it looks like a cell...
    found_chance = chance_level(standardised(unit_columns(found, ("h", "c"))), a)  # the first slice's own baseline
    assert found_chance > abs(match.correlation) and not match.validated  # ...but searching finds that by chance


def test_chance_grows_with_the_units_searched_and_a_constant_feature_is_never_beaten():
    feature = blocks(800, seed=9)
    rng = np.random.default_rng(0)
    one, many = (standardised(rng.normal(size=(800, n)).astype(np.float32)) for n in (1, 400))
    assert chance_level(one, feature) < chance_level(many, feature) < 0.5
    assert chance_level(many, feature) == chance_level(many, feature)  # reproducible
    assert chance_level(many, np.ones(800, dtype=np.float32)) == 1.0


def test_a_feature_absent_from_the_second_slice_is_not_confirmed():
    a = blocks(800, seed=1)
    match = checked(synthetic(a, seed=3), synthetic(a, seed=4), a, np.zeros(800, dtype=np.float32))[0]
    assert match.check_correlation is None and match.chance is not None and not match.validated


def test_search_halves_finds_the_planted_unit_on_the_first_half_and_checks_it_on_the_second():
    feature = blocks(2000, seed=11)
    trace = synthetic(feature, seed=12)
    matches = search_halves(trace, "c", per_feature=2, features={"planted": feature, "flat": np.zeros(2000)})
    best = matches[0]
    assert (best.layer, best.quantity, best.unit, best.feature) == PLANTED + ("planted",) and best.validated
    first = np.corrcoef(trace.states[:1000, 1, 1, 7], feature[:1000])[0, 1]
    second = np.corrcoef(trace.states[1000:, 1, 1, 7], feature[1000:])[0, 1]
    assert best.correlation == pytest.approx(first, abs=1e-4)
    assert best.check_correlation == pytest.approx(second, abs=1e-4)
    assert not any(m.validated for m in matches[1:] if m.layer == 0)  # layer 0 holds only noise


def code_trace(text: str, seed: int) -> Trace:
    """A char trace whose layer 1 h unit 2 is the text's brace depth plus noise; the rest noise."""
    rng = np.random.default_rng(seed)
    states = rng.normal(size=(len(text), 1, 2, 8)).astype(np.float32)
    states[:, 0, 0, 2] = feature_tracks(text)["brace depth"] + 0.3 * rng.normal(size=len(text))
    return Trace(list(range(len(text))), list(text), states, [[]] * len(text), ("h", "c"))


def test_strongest_checked_reads_each_slices_features_from_its_own_text():
    found = code_trace('int f(a) {\n  if (a) {\n    x = "q";\n  }\n}\n' * 15, seed=1)
    check = code_trace("void g(b) {\n  while (b) {\n    b--;\n  }\n}\n" * 15, seed=2)
    matches = {m.feature: m for m in strongest_checked(found, check, shifts=50)}
    brace = matches["brace depth"]
    assert (brace.layer, brace.quantity, brace.unit) == (0, "h", 2) and brace.validated
    assert matches["inside quotes"].check_correlation is None  # no quote in the check text
    assert not matches["inside quotes"].validated


def test_covering_slices_skip_a_slice_without_quotes_and_name_what_is_absent():
    plain = "int f(void)\n{\n\treturn 0; /* zero */\n}\n" * 30
    quoted = 'int g(void)\n{\n\tif (x) {\n\t\tputs("hi"); /* say */\n\t}\n}\n' * 20
    text = plain + quoted + quoted + plain
    slices, absent = covering_slices(text, 1000)
    assert len(slices) == 2 and slices[0][1] <= slices[1][0]  # disjoint, in order
    assert all('"' in text[start:end] for start, end in slices)
    assert all("inside quotes" not in names and "speaker name line" in names for names in absent)
    short, _ = covering_slices("ab\ncd\n" * 10, 1000)  # too short for two slices: cut in two
    assert short == [(0, 30), (30, 60)]
