"""Several streams through the recurrent layers, a window at a time, with a hand-written backward:
the hot loop of batched dynamic evaluation (rnnlm.batched_adapt).

rnnlm.window_layers does this for one stream, where every step is a matrix-vector product
bound by memory bandwidth. Here B streams step together, so a step is a (B, H) x (H, gates)
matrix product: the weights are read once per step for all B streams, and the time goes to
arithmetic instead. Everything that does not depend on the recurrence (each layer's input
projection, the weight gradients) is one large matrix product per window.

Tensors are time-major, (T, B, ...), so that each step's slice is contiguous. With
`bfloat16`, the matrix products take bfloat16 operands with float32 accumulation (AVX512-BF16
runs them at about twice the float32 rate) and the gates, states and gradients stay float32:
the rounding rnnlm.scoring's bfloat16 path makes. The tests check these layers against
torch.autograd.gradcheck (float32 products) and against the nn modules.
"""

from __future__ import annotations

import torch

from .model import RNNLM, State


class Products:
    """Matrix products in float32, or with bfloat16 operands (cast once per window for the weights)."""

    def __init__(self, bfloat16: bool):
        self.dtype = torch.bfloat16 if bfloat16 else None

    def weight(self, w: torch.Tensor) -> torch.Tensor:
        return w if self.dtype is None else w.to(self.dtype)

    def mm(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        """a @ b in float32; b is a weight() already."""
        return torch.mm(a, b) if self.dtype is None else torch.mm(a.to(self.dtype), b).float()

    def add_mm(self, base: torch.Tensor, a: torch.Tensor, b: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
        """out = base + a @ b."""
        if self.dtype is None:
            return torch.addmm(base, a, b, out=out)
        return torch.add(base, torch.mm(a.to(self.dtype), b), out=out)

    def flat(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        """(T, B, m) x (m, n) -> (T, B, n): one product for the whole window."""
        return self.mm(a.reshape(-1, a.shape[-1]), b).view(*a.shape[:-1], b.shape[-1])

    def grad(self, d: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
        """A weight's gradient: sum over time and streams of d^T a: (T, B, n), (T, B, m) -> (n, m)."""
        d2, a2 = d.reshape(-1, d.shape[-1]), a.reshape(-1, a.shape[-1])
        return self.mm(d2.t(), self.weight(a2))


class LSTMBatchWindow(torch.autograd.Function):
    """x (T, B, in), h0 and c0 (B, H), nn.LSTM's weights, bfloat16 flag -> outputs (T, B, H), h_T, c_T."""

    @staticmethod
    def forward(ctx, x, h0, c0, w_ih, w_hh, b_ih, b_hh, bfloat16):
        p = Products(bfloat16)
        steps, streams, hidden = x.shape[0], x.shape[1], h0.shape[1]
        w_hh_t = p.weight(w_hh.t())
        pre = p.flat(x, p.weight(w_ih.t())).add_(b_ih + b_hh)  # (T, B, 4H): the inputs' share of every gate
        hs, cs = x.new_empty(steps + 1, streams, hidden), x.new_empty(steps + 1, streams, hidden)
        acts, tanh_cs = x.new_empty(steps, streams, 4 * hidden), x.new_empty(steps, streams, hidden)
        hs[0], cs[0] = h0, c0
        for t in range(steps):
            a = p.add_mm(pre[t], hs[t], w_hh_t, out=acts[t])  # (B, 4H): gates i, f, g, o
            a[:, :2 * hidden].sigmoid_()
            a[:, 2 * hidden:3 * hidden].tanh_()
            a[:, 3 * hidden:].sigmoid_()
            torch.addcmul(a[:, hidden:2 * hidden] * cs[t], a[:, :hidden], a[:, 2 * hidden:3 * hidden], out=cs[t + 1])
            torch.tanh(cs[t + 1], out=tanh_cs[t])
            torch.mul(a[:, 3 * hidden:], tanh_cs[t], out=hs[t + 1])
        ctx.save_for_backward(x, w_ih, w_hh, hs, cs, acts, tanh_cs)
        ctx.bfloat16 = bfloat16
        return hs[1:], hs[steps].clone(), cs[steps].clone()

    @staticmethod
    def backward(ctx, d_out, d_h_last, d_c_last):
        x, w_ih, w_hh, hs, cs, acts, tanh_cs = ctx.saved_tensors
        p = Products(ctx.bfloat16)
        steps, streams, hidden = x.shape[0], x.shape[1], hs.shape[2]
        i, f, g, o = acts.split(hidden, dim=2)
        # All that does not depend on the recurrence, for every step at once.
        dc_per_dh = o * (1 - tanh_cs * tanh_cs)
        ifg_factors = torch.stack([g * i * (1 - i), cs[:-1] * f * (1 - f), i * (1 - g * g)], 2)  # (T, B, 3, H)
        o_factor = tanh_cs * o * (1 - o)
        d_pre = x.new_empty(steps, streams, 4 * hidden)
        dh, dc = d_h_last.clone(), d_c_last.clone()
        w_hh_b = p.weight(w_hh)
        for t in range(steps - 1, -1, -1):
            dh += d_out[t]
            dc.addcmul_(dh, dc_per_dh[t])
            row = d_pre[t]
            torch.mul(ifg_factors[t], dc.unsqueeze(1), out=row[:, :3 * hidden].view(streams, 3, hidden))
            torch.mul(dh, o_factor[t], out=row[:, 3 * hidden:])
            dc.mul_(f[t])
            dh = p.mm(row, w_hh_b)
        d_bias = d_pre.sum((0, 1))
        return (p.flat(d_pre, p.weight(w_ih)), dh, dc, p.grad(d_pre, x), p.grad(d_pre, hs[:-1]),
                d_bias, d_bias.clone(), None)


class GRUBatchWindow(torch.autograd.Function):
    """x (T, B, in), h0 (B, H), nn.GRU's weights, bfloat16 flag -> outputs (T, B, H), h_T. Gates r, z, n:
    n = tanh(x W_in + b_in + r (h W_hn + b_hn)), h' = (1 - z) n + z h."""

    @staticmethod
    def forward(ctx, x, h0, w_ih, w_hh, b_ih, b_hh, bfloat16):
        p = Products(bfloat16)
        steps, streams, hidden = x.shape[0], x.shape[1], h0.shape[1]
        w_hh_t = p.weight(w_hh.t())
        gi = p.flat(x, p.weight(w_ih.t())).add_(b_ih)  # (T, B, 3H)
        hs = x.new_empty(steps + 1, streams, hidden)
        rz, n, gh_n = (x.new_empty(steps, streams, k * hidden) for k in (2, 1, 1))
        gh = x.new_empty(streams, 3 * hidden)
        hs[0] = h0
        for t in range(steps):
            p.add_mm(b_hh, hs[t], w_hh_t, out=gh)
            torch.sigmoid(gi[t, :, :2 * hidden] + gh[:, :2 * hidden], out=rz[t])
            gh_n[t] = gh[:, 2 * hidden:]
            torch.tanh(torch.addcmul(gi[t, :, 2 * hidden:], rz[t, :, :hidden], gh_n[t]), out=n[t])
            torch.addcmul(n[t], rz[t, :, hidden:], hs[t] - n[t], out=hs[t + 1])
        ctx.save_for_backward(x, w_ih, w_hh, hs, rz, n, gh_n)
        ctx.bfloat16 = bfloat16
        return hs[1:], hs[steps].clone()

    @staticmethod
    def backward(ctx, d_out, d_h_last):
        x, w_ih, w_hh, hs, rz, n, gh_n = ctx.saved_tensors
        p = Products(ctx.bfloat16)
        steps, streams, hidden = x.shape[0], x.shape[1], hs.shape[2]
        r, z = rz.split(hidden, dim=2)
        z_factor = (hs[:-1] - n) * z * (1 - z)
        n_factor = (1 - z) * (1 - n * n)
        r_factor = gh_n * r * (1 - r)
        d_gi = x.new_empty(steps, streams, 3 * hidden)  # gradients of the gates' input parts
        d_gh = x.new_empty(streams, 3 * hidden)  # ... and of one step's recurrent parts
        dh = d_h_last.clone()
        w_hh_b = p.weight(w_hh)
        for t in range(steps - 1, -1, -1):
            dh += d_out[t]
            row = d_gi[t]
            d_n = torch.mul(dh, n_factor[t], out=row[:, 2 * hidden:])
            torch.mul(dh, z_factor[t], out=row[:, hidden:2 * hidden])
            torch.mul(d_n, r_factor[t], out=row[:, :hidden])
            d_gh[:, :2 * hidden] = row[:, :2 * hidden]
            torch.mul(d_n, r[t], out=d_gh[:, 2 * hidden:])
            dh = torch.addcmul(p.mm(d_gh, w_hh_b), dh, z[t])
        d_gh_all = d_gi.clone()
        d_gh_all[:, :, 2 * hidden:] *= r
        return (p.flat(d_gi, p.weight(w_ih)), dh, p.grad(d_gi, x), p.grad(d_gh_all, hs[:-1]),
                d_gi.sum((0, 1)), d_gh_all.sum((0, 1)), None)


class RNNBatchWindow(torch.autograd.Function):
    """x (T, B, in), h0 (B, H), nn.RNN's weights (tanh), bfloat16 flag -> outputs (T, B, H), h_T."""

    @staticmethod
    def forward(ctx, x, h0, w_ih, w_hh, b_ih, b_hh, bfloat16):
        p = Products(bfloat16)
        steps, streams, hidden = x.shape[0], x.shape[1], h0.shape[1]
        w_hh_t = p.weight(w_hh.t())
        pre = p.flat(x, p.weight(w_ih.t())).add_(b_ih + b_hh)
        hs = x.new_empty(steps + 1, streams, hidden)
        hs[0] = h0
        for t in range(steps):
            p.add_mm(pre[t], hs[t], w_hh_t, out=hs[t + 1]).tanh_()
        ctx.save_for_backward(x, w_ih, w_hh, hs)
        ctx.bfloat16 = bfloat16
        return hs[1:], hs[steps].clone()

    @staticmethod
    def backward(ctx, d_out, d_h_last):
        x, w_ih, w_hh, hs = ctx.saved_tensors
        p = Products(ctx.bfloat16)
        tanh_factor = 1 - hs[1:] * hs[1:]
        d_pre = torch.empty_like(tanh_factor)
        dh = d_h_last.clone()
        w_hh_b = p.weight(w_hh)
        for t in range(x.shape[0] - 1, -1, -1):
            dh += d_out[t]
            torch.mul(dh, tanh_factor[t], out=d_pre[t])
            dh = p.mm(d_pre[t], w_hh_b)
        d_bias = d_pre.sum((0, 1))
        return (p.flat(d_pre, p.weight(w_ih)), dh, p.grad(d_pre, x), p.grad(d_pre, hs[:-1]),
                d_bias, d_bias.clone(), None)


LAYERS = {"lstm": LSTMBatchWindow, "gru": GRUBatchWindow, "rnn": RNNBatchWindow}


def batch_recur(net: RNNLM, ids: torch.Tensor, state: State, bfloat16: bool = False) -> tuple[torch.Tensor, State]:
    """net's recurrent layers for B streams: ids (T, B) -> the last layer's outputs (T, B, hidden)
    and the state after them (each (layers, B, hidden)), with the hand-written layers (net in
    eval mode: no dropout)."""
    x = net.embedding(ids)  # (T, B, embed)
    last = [[] for _ in state]
    layer_fn = LAYERS[net.config.cell]
    for layer in range(net.config.num_layers):
        weights = [getattr(net.rnn, f"{kind}_l{layer}") for kind in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]
        if net.config.cell == "lstm":
            x, h, c = layer_fn.apply(x, state[0][layer], state[1][layer], *weights, bfloat16)
            last[1].append(c)
        else:
            x, h = layer_fn.apply(x, state[0][layer], *weights, bfloat16)
        last[0].append(h)
    return x, tuple(torch.stack(parts) for parts in last)


def batch_window_forward(net: RNNLM, ids: torch.Tensor, state: State, bfloat16: bool = False
                         ) -> tuple[torch.Tensor, State]:
    """The same, through the output layer: ids (T, B) -> logits (T, B, vocab), state."""
    x, state = batch_recur(net, ids, state, bfloat16)
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bfloat16):
        logits = net.head(x)
    return logits.float(), state
