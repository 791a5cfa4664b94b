"""Hand-set cells with one memory unit and a 3-number input, stepped in float64 so every gate
and every memory value can be read and checked by hand.

The LSTM is the lecture's: the cell input is x1, x2 = 1 writes it into the memory, x2 = -1
resets the memory, x3 = 1 shows the memory at the output. Each gate is
activation(w . x + b); with weights of 100 the sigmoids are 0 or 1 to within 5e-5, which is
why the memory reads 3, 7, 7, 7, 0, 6, 6. The GRU has no output gate: its memory is always
visible; its update gate decides between keeping and rewriting, its reset gate whether the
rewrite adds to the memory or replaces it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from ..errors import SettingsError

ACTIVATIONS = {
    "sigmoid": lambda z: 1.0 / (1.0 + math.exp(-z)) if z >= 0 else math.exp(z) / (1.0 + math.exp(z)),
    "tanh": math.tanh,
    "linear": lambda z: z,
}


@dataclass(frozen=True)
class Gate:
    """activation(w . x + b) on the 3-number input."""
    weights: tuple[float, float, float]
    bias: float = 0.0
    activation: str = "sigmoid"

    def __post_init__(self):
        if self.activation not in ACTIVATIONS:
            raise SettingsError(f"activation must be one of {', '.join(ACTIVATIONS)}, not {self.activation!r}")
        if len(self.weights) != 3 or not all(math.isfinite(float(w)) for w in (*self.weights, self.bias)):
            raise SettingsError("a gate needs 3 finite input weights and a finite bias")

    def pre_activation(self, x: tuple[float, float, float], extra: float = 0.0) -> float:
        return sum(w * v for w, v in zip(self.weights, x)) + self.bias + extra

    def __call__(self, x: tuple[float, float, float], extra: float = 0.0) -> float:
        return ACTIVATIONS[self.activation](self.pre_activation(x, extra))


@dataclass(frozen=True)
class HandSetLSTM:
    cell_input: Gate = Gate((1, 0, 0), 0, "linear")   # g = x1
    input_gate: Gate = Gate((0, 100, 0), -10)         # i = sigmoid(100 x2 - 10)
    forget_gate: Gate = Gate((0, 100, 0), 10)         # f = sigmoid(100 x2 + 10)
    output_gate: Gate = Gate((0, 0, 100), -10)        # o = sigmoid(100 x3 - 10)
    output_activation: str = "linear"                 # h = o * c (the lecture's linear h)

    def __post_init__(self):
        if self.output_activation not in ACTIVATIONS:
            raise SettingsError(f"output activation must be one of {', '.join(ACTIVATIONS)}")

    def run(self, inputs: list[tuple[float, float, float]]) -> list[dict[str, float]]:
        """One row per input: the gates, the memory c after the step and the output h."""
        memory, rows = 0.0, []
        for x in _checked(inputs):
            g, i, f, o = (gate(x) for gate in (self.cell_input, self.input_gate, self.forget_gate, self.output_gate))
            previous, memory = memory, f * memory + i * g
            output = o * ACTIVATIONS[self.output_activation](memory)
            rows.append({"x1": x[0], "x2": x[1], "x3": x[2], "input gate": i, "forget gate": f,
                         "output gate": o, "cell input": g, "memory before": previous, "memory": memory,
                         "output": output})
        return rows


@dataclass(frozen=True)
class HandSetGRU:
    """PyTorch's GRU with one unit: r = σ(Wr x + br), z = σ(Wz x + bz),
    n = act(Wn x + bn + r · u h), h' = (1 − z) n + z h."""
    reset_gate: Gate = Gate((0, 100, 0), -10)              # r = 1 only when x2 = 1: add to the memory
    update_gate: Gate = Gate((0, -100, -100), 10)          # z = 0 (rewrite) when x2 = 1 or x3 = 1, else keep
    candidate: Gate = Gate((1, 0, 0), 0, "linear")         # n = x1 + r * h
    recurrent_weight: float = 1.0                          # u: how much of the memory the candidate sees

    def run(self, inputs: list[tuple[float, float, float]]) -> list[dict[str, float]]:
        memory, rows = 0.0, []
        for x in _checked(inputs):
            r, z = self.reset_gate(x), self.update_gate(x)
            n = self.candidate(x, extra=r * self.recurrent_weight * memory)
            previous, memory = memory, (1 - z) * n + z * memory
            rows.append({"x1": x[0], "x2": x[1], "x3": x[2], "reset gate": r, "update gate": z,
                         "candidate": n, "memory before": previous, "memory": memory, "output": memory})
        return rows


LECTURE_INPUTS = [(3, 1, 0), (4, 1, 0), (2, 0, 0), (1, 0, 1), (3, -1, 0), (6, 1, 0), (1, 0, 1)]
# x2 = 1 adds x1, x3 = 1 replaces the memory with x1, otherwise the memory is kept.
GRU_INPUTS = [(3, 1, 0), (4, 1, 0), (2, 0, 0), (5, 0, 1), (1, 0, 0), (2, 1, 0)]
MAX_STEPS = 100


def _checked(inputs) -> list[tuple[float, float, float]]:
    rows = [tuple(float(v) for v in row) for row in inputs]
    if len(rows) > MAX_STEPS:
        raise SettingsError(f"at most {MAX_STEPS} input steps, not {len(rows)}")
    for number, row in enumerate(rows, 1):
        if len(row) != 3 or not all(math.isfinite(v) for v in row):
            raise SettingsError(f"input step {number} needs 3 finite numbers (x1, x2, x3), not {row}")
    return rows


def with_gate(cell, name: str, gate: Gate):
    """The cell with one gate replaced (the page edits one gate at a time)."""
    return replace(cell, **{name: gate})

