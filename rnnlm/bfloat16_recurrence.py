"""The network's forward over a window for GRU and plain-RNN cells with bfloat16 recurrent products.

Under autocast only the LSTM reaches oneDNN's fused bfloat16 kernel (torch.mkldnn_rnn_layer
refuses the GRU and RNN modes); torch's GRU and RNN step in float32, at about a third of the bfloat16 rate. Here each
layer projects the whole window's inputs in one product, then steps through time with the
state's product in bfloat16 (float32 accumulation, result rounded to bfloat16) and the gates
in float32, the rounding the LSTM's kernel makes.

Speed: a step is one small (streams, hidden) x (hidden, gates) product, about 60% of the time,
and a few gate operations, each its own call. The recurrent weight is packed once into oneDNN's
blocked layout (torch.ops.mkldnn, the prepacked linear torch's own compiler uses): 16 x 512 by
512 x 1536 took 150 us against torch.mm's 207 us on the plain weight. Every other result goes
into a buffer allocated once per window. The arithmetic is the
same, operation for operation, so the figures are bit-identical to the plain loop
(tests/core/test_scoring_recurrence.py). 20,000 characters of C on one thread of a shared core,
CPU seconds (median of 5, alternating): c-char-gru 1.79 -> 1.47, linux-char-rnn 0.63 -> 0.53.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

from .model import RNNLM, State

Product = Callable[[torch.Tensor], torch.Tensor]


def _packed_product(weight: torch.Tensor) -> Product:
    """h (batch, in) bfloat16 -> h @ weight.T (batch, out) bfloat16, with the weight packed once.
    Falls back to torch.mm where torch has no oneDNN or the CPU no bfloat16 path for it."""
    transposed = weight.t().contiguous()

    def plain(h: torch.Tensor) -> torch.Tensor:
        return torch.mm(h, transposed)

    try:
        packed = torch.ops.mkldnn._reorder_linear_weight(weight)
        linear = torch.ops.mkldnn._linear_pointwise
        linear(torch.zeros(1, weight.shape[1], dtype=weight.dtype), packed, None, "none", [], "")  # a probe
    except (AttributeError, RuntimeError, NotImplementedError):
        return plain
    return lambda h: linear(h, packed, None, "none", [], "")


class Bfloat16Recurrence:
    """Called as net.recur: (ids (batch, time), state) -> (outputs (batch, time, hidden), state)."""

    def __init__(self, net: RNNLM):
        self.net, rnn = net, net.rnn
        self.layers = []
        for layer in range(rnn.num_layers):
            weights = [getattr(rnn, f"{name}_l{layer}", None) for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]
            w_ih, w_hh, b_ih, b_hh = (None if w is None else w.detach() for w in weights)
            self.layers.append((w_ih.to(torch.bfloat16), _packed_product(w_hh.to(torch.bfloat16)),
                                torch.zeros(w_ih.shape[0]) if b_ih is None else b_ih.float(),
                                torch.zeros(w_hh.shape[0]) if b_hh is None else b_hh.float()))
        self.steps = self._gru_steps if net.config.cell == "gru" else self._rnn_steps
        self.relu = getattr(rnn, "nonlinearity", "tanh") == "relu"

    def __call__(self, ids: torch.Tensor, state: State | None) -> tuple[torch.Tensor, State]:
        net = self.net
        hx = (state or net.initial_state(ids.shape[0]))[0]  # (layers, batch, hidden)
        x = net.embedding(ids.t()).float()  # (time, batch, embed): time-major, so every step's slice is contiguous
        finals = []
        for (w_ih, product, b_ih, b_hh), h in zip(self.layers, hx.float()):
            projected = F.linear(x.to(torch.bfloat16), w_ih).float() + b_ih  # (time, batch, gates)
            x = torch.empty(projected.shape[0], *h.shape)  # (time, batch, hidden)
            finals.append(self.steps(projected, x, h.contiguous(), product, b_hh))
        return x.transpose(0, 1), (torch.stack(finals),)  # (batch, time, hidden)

    @staticmethod
    def _recurrent(product: Product, h: torch.Tensor, h16: torch.Tensor, b_hh: torch.Tensor,
                   out: torch.Tensor) -> torch.Tensor:
        """out = float(bfloat16(h) @ W_hh.T) + b_hh (batch, gates): bfloat16 to float32 is exact."""
        return out.copy_(product(h16.copy_(h))).add_(b_hh)

    def _gru_steps(self, projected, x, h, product, b_hh) -> torch.Tensor:
        """x[t] = the GRU's h after step t; returns the last h."""
        hidden = h.shape[-1]
        h16 = torch.empty(h.shape, dtype=torch.bfloat16)
        recurrent = torch.empty(h.shape[0], 3 * hidden)
        gates, candidate = torch.empty(h.shape[0], 2 * hidden), torch.empty_like(h)
        reset, update = gates[:, :hidden], gates[:, hidden:]
        for step_in, out in zip(projected.unbind(0), x.unbind(0)):
            self._recurrent(product, h, h16, b_hh, recurrent)
            torch.add(step_in[:, :2 * hidden], recurrent[:, :2 * hidden], out=gates).sigmoid_()
            torch.addcmul(step_in[:, 2 * hidden:], reset, recurrent[:, 2 * hidden:], out=candidate).tanh_()
            h = torch.lerp(candidate, h, update, out=out)  # (1 - update) * candidate + update * h
        return h

    def _rnn_steps(self, projected, x, h, product, b_hh) -> torch.Tensor:
        """x[t] = the plain RNN's h after step t; returns the last h."""
        h16, recurrent = torch.empty(h.shape, dtype=torch.bfloat16), torch.empty_like(h)
        for step_in, out in zip(projected.unbind(0), x.unbind(0)):
            self._recurrent(product, h, h16, b_hh, recurrent)
            h = torch.add(step_in, recurrent, out=out)
            h = h.relu_() if self.relu else h.tanh_()
        return h


def recurrence(net: RNNLM, bfloat16: bool) -> Callable[[torch.Tensor, State | None], tuple[torch.Tensor, State]]:
    """The network's forward over a window: its own, or bfloat16 steps for GRU and plain RNN cells."""
    return Bfloat16Recurrence(net) if bfloat16 and net.config.cell in ("gru", "rnn") else net.recur
