"""The traced path: one token at a time, every layer's hidden state, cell state and gates.

nn.LSTM does not return gates, and calling it per token costs ~1.3 ms. This path runs
the same weights in NumPy: one OpenBLAS matrix-vector product per weight matrix (3x
faster than torch's matvec on CPU), the first layer's input projection looked up from a
precomputed (vocab, gates) table, and one compiled element-wise pass per layer
(cell_kernels) that writes every activation straight into the state array, so traced
and untraced stepping are the same code and give the same numbers.

A state is one float32 array (layers, quantities, hidden); row 0 of each layer is h.
Quantities per cell (QUANTITIES): LSTM h, c, input, forget, output, candidate;
GRU h, reset, update, candidate; RNN h.
"""

from __future__ import annotations

import numpy as np
import torch

from .cell_kernels import gru_update, lstm_update, rnn_update
from .model import RNNLM

QUANTITIES = {
    "lstm": ("h", "c", "input", "forget", "output", "candidate"),
    "gru": ("h", "reset", "update", "candidate"),
    "rnn": ("h",),
}
# Tables larger than this (big word vocabularies) are not worth the memory.
MAX_INPUT_TABLE_BYTES = 16 << 20


def _numpy(t: torch.Tensor) -> np.ndarray:
    return np.ascontiguousarray(t.detach().to(torch.float32).cpu().numpy())


class _FirstLayerInput:
    """Input projection of a token into layer 0's gate space (bias included)."""

    def __init__(self, embedding: np.ndarray, w_ih: np.ndarray, bias: np.ndarray):
        if embedding.shape[0] * w_ih.shape[0] * 4 <= MAX_INPUT_TABLE_BYTES:
            self.table = (embedding @ w_ih.T + bias).astype(np.float32)  # (vocab, gates*hidden)
        else:
            self.table = None
            self.embedding, self.w_ih, self.bias = embedding, w_ih, bias

    def __call__(self, token_id: int) -> np.ndarray:
        if self.table is not None:
            return self.table[token_id]
        return self.w_ih @ self.embedding[token_id] + self.bias


class _Layer:
    def __init__(self, w_ih, w_hh, b_ih, b_hh):
        self.w_ih, self.w_hh, self.b_ih, self.b_hh = w_ih, w_hh, b_ih, b_hh
        self.projection_bias = self.input_bias()  # computed once, not per token

    def input_bias(self) -> np.ndarray:
        """Bias folded into the input projection (GRU keeps b_hh apart for the reset gate)."""
        return self.b_ih + self.b_hh

    def project(self, x: np.ndarray) -> np.ndarray:
        projected = self.w_ih @ x
        projected += self.projection_bias
        return projected


class _LSTMLayer(_Layer):
    def step(self, projected: np.ndarray, prev: np.ndarray, out: np.ndarray) -> None:
        np.matmul(self.w_hh, prev[0], out=out[2:].reshape(-1))  # gates i, f, o, g, before the input's share
        lstm_update(out, projected, prev[1])


class _GRULayer(_Layer):
    def input_bias(self) -> np.ndarray:
        return self.b_ih

    def step(self, projected: np.ndarray, prev: np.ndarray, out: np.ndarray) -> None:
        recurrent = self.w_hh @ prev[0]  # (3*hidden,) reset, update, new
        recurrent += self.b_hh  # kept apart from the input's bias: the reset gate multiplies it
        gru_update(out, projected, recurrent, prev[0])


class _RNNLayer(_Layer):
    def step(self, projected: np.ndarray, prev: np.ndarray, out: np.ndarray) -> None:
        np.matmul(self.w_hh, prev[0], out=out[0])
        rnn_update(out, projected)


def _lstm_layout(w: np.ndarray, hidden: int) -> np.ndarray:
    """PyTorch stores LSTM gates as i, f, g, o; reorder to i, f, o, g so the three
    sigmoid gates are contiguous, and halve them: the kernels take sigmoid(z) as
    0.5 + 0.5 * tanh(z / 2) (halving is exact in floating point)."""
    i, f, g, o = (w[k * hidden:(k + 1) * hidden] for k in range(4))
    return np.ascontiguousarray(np.concatenate([0.5 * i, 0.5 * f, 0.5 * o, g]))


def _gru_layout(w: np.ndarray, hidden: int) -> np.ndarray:
    """GRU gates are r, z, n; halve r and z (sigmoid via tanh, as for the LSTM). The candidate's
    recurrent part must stay unscaled because the reset gate multiplies it."""
    return np.ascontiguousarray(np.concatenate([0.5 * w[:2 * hidden], w[2 * hidden:]]))


class Stepper:
    """Runs a model one token at a time in NumPy; built from (and equal to) its torch weights."""

    def __init__(self, model: RNNLM):
        cfg = model.config
        self.cell = cfg.cell
        self.quantities = QUANTITIES[cfg.cell]
        self.num_layers, self.hidden = cfg.num_layers, cfg.hidden_size
        layer_class = {"lstm": _LSTMLayer, "gru": _GRULayer, "rnn": _RNNLayer}[cfg.cell]
        self.layers = []
        for index in range(cfg.num_layers):
            weights = [_numpy(getattr(model.rnn, f"{name}_l{index}")) for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]
            if cfg.cell == "lstm":
                weights = [_lstm_layout(w, cfg.hidden_size) for w in weights]
            elif cfg.cell == "gru":
                weights = [_gru_layout(w, cfg.hidden_size) for w in weights]
            self.layers.append(layer_class(*weights))
        first = self.layers[0]
        self.first_input = _FirstLayerInput(_numpy(model.embedding.weight), first.w_ih, first.input_bias())
        self.head_weight = _numpy(model.head.weight)  # (vocab, hidden)
        self.head_bias = _numpy(model.head.bias)

    def initial_state(self) -> np.ndarray:
        return np.zeros((self.num_layers, len(self.quantities), self.hidden), dtype=np.float32)

    def step(self, token_id: int, state: np.ndarray, clamps=()) -> tuple[np.ndarray, np.ndarray]:
        """Read one token: (new state (layers, quantities, hidden), next-token logits (vocab,)).
        clamps (rnnlm.clamp.Clamp): units held at a value after their layer's step."""
        new = np.empty_like(state)
        projected = self.first_input(token_id)
        for index, layer in enumerate(self.layers):
            if index > 0:
                projected = layer.project(new[index - 1, 0])
            layer.step(projected, state[index], new[index])
            for clamp in clamps:
                if clamp.layer == index:
                    self._apply(clamp, new[index])
        logits = self.head_weight @ new[-1, 0] + self.head_bias
        return new, logits

    def _apply(self, clamp, layer_state: np.ndarray) -> None:
        if clamp.quantity == "c":  # the output gate then shows the clamped memory: h = o * tanh(c)
            layer_state[1, clamp.unit] = clamp.value
            output = layer_state[self.quantities.index("output"), clamp.unit]
            layer_state[0, clamp.unit] = output * np.tanh(np.float32(clamp.value))
        else:
            layer_state[0, clamp.unit] = clamp.value

    def read(self, token_ids, state: np.ndarray | None = None) -> tuple[list[np.ndarray], np.ndarray]:
        """Read a sequence: the state after each token, and the logits after the last."""
        state = self.initial_state() if state is None else state
        states, logits = [], None
        for token_id in token_ids:
            state, logits = self.step(int(token_id), state)
            states.append(state)
        return states, logits

    def torch_state(self, state: np.ndarray) -> tuple[torch.Tensor, ...]:
        """The fused path's (layers, 1, hidden) state tuple for this state."""
        h = torch.from_numpy(state[:, 0].copy()).unsqueeze(1)
        if self.cell == "lstm":
            return h, torch.from_numpy(state[:, 1].copy()).unsqueeze(1)
        return (h,)
