"""Synthetic text and traces shared by the own-feature tests (regex and brushing)."""

import numpy as np

from rnnlm.interpret import Trace

STRING = '"[^"]*"'
PLANTED = (1, 5)  # layer, unit of h


def code(lines: int, seed: int) -> str:
    """C-ish lines, some with a string of random length, so the feature has runs of varied length."""
    rng = np.random.default_rng(seed)
    words = ["x", "count", "name", "f(y)"]
    return "".join(f'  puts("{"ab " * int(rng.integers(1, 8))}"); {rng.choice(words)} = 1;\n'
                   if rng.random() < 0.5 else f"  {rng.choice(words)} += 2;\n" for _ in range(lines))


def trace_of(text: str, seed: int, wired: np.ndarray | None = None, walk: bool = False) -> Trace:
    """A char trace of noise units (random walks if walk); layer 1 unit 5 copies `wired` plus noise when given."""
    rng = np.random.default_rng(seed)
    states = rng.normal(size=(len(text), 2, 1, 64)).astype(np.float32)
    if walk:
        states = np.cumsum(states, axis=0)
    if wired is not None:
        states[:, PLANTED[0], 0, PLANTED[1]] = wired + 0.7 * rng.normal(size=len(text))
    return Trace(list(range(len(text))), list(text), states, [[]] * len(text), ("h",))
