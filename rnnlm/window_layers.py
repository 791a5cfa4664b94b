"""One stream through the recurrent layers, a window at a time, with a hand-written backward:
the hot loop of dynamic evaluation (rnnlm.dynamic_eval), which trains on batch 1.

nn.GRU's CPU backward at batch 1 computes each step's weight gradient as an outer product
that writes the whole recurrent matrix, 50 times a window; oneDNN's LSTM is ~2x its
matrix-vector floor at batch 1. Here a step is one matrix-vector product and a few vector
operations each way, and the weight gradients are one matrix product per window
(measured at window 50, one thread: 2x512 GRU 1,040 -> 1,680 chars/s, 2x640 LSTM 870 ->
1,050). Each layer's input projection is also one matrix product per window. The tests
check these against torch.autograd.gradcheck and against the nn modules.
"""

from __future__ import annotations

import torch

from .model import RNNLM, State


class LSTMWindow(torch.autograd.Function):
    """x (T, in), h0 and c0 (H,), nn.LSTM's weights -> outputs (T, H), h_T, c_T. Gates i, f, g, o."""

    @staticmethod
    def forward(ctx, x, h0, c0, w_ih, w_hh, b_ih, b_hh):
        steps, hidden = x.shape[0], h0.shape[0]
        pre = torch.addmm(b_ih + b_hh, x, w_ih.t())  # the inputs' share of every gate, for the whole window
        hs, cs = x.new_empty(steps + 1, hidden), x.new_empty(steps + 1, hidden)
        acts, tanh_cs = x.new_empty(steps, 4 * hidden), x.new_empty(steps, hidden)
        hs[0], cs[0] = h0, c0
        i, f, g, o = (slice(k * hidden, (k + 1) * hidden) for k in range(4))
        for t in range(steps):
            a = acts[t]
            torch.addmv(pre[t], w_hh, hs[t], out=a)
            torch.tanh(a[g], out=a[g])
            torch.sigmoid(a[:g.start], out=a[:g.start])  # i and f
            torch.sigmoid(a[o], out=a[o])
            torch.addcmul(a[f] * cs[t], a[i], a[g], out=cs[t + 1])
            torch.tanh(cs[t + 1], out=tanh_cs[t])
            torch.mul(a[o], tanh_cs[t], out=hs[t + 1])
        ctx.save_for_backward(x, w_ih, w_hh, hs, cs, acts, tanh_cs)
        return hs[1:], hs[steps].clone(), cs[steps].clone()

    @staticmethod
    def backward(ctx, d_out, d_h_last, d_c_last):
        x, w_ih, w_hh, hs, cs, acts, tanh_cs = ctx.saved_tensors
        steps, hidden = x.shape[0], hs.shape[1]
        i, f, g, o = acts.split(hidden, dim=1)
        # All that does not depend on the recurrence, for every step at once, so that a step is
        # a few vector operations and one matrix-vector product.
        dc_per_dh = o * (1 - tanh_cs * tanh_cs)
        ifg_factors = torch.stack([g * i * (1 - i), cs[:-1] * f * (1 - f), i * (1 - g * g)], 1)  # (T, 3, H)
        o_factor = tanh_cs * o * (1 - o)
        d_pre = x.new_empty(steps, 4 * hidden)
        dh, dc = d_h_last.clone(), d_c_last.clone()
        w_hh_t = w_hh.t()
        for t in range(steps - 1, -1, -1):
            dh += d_out[t]
            dc.addcmul_(dh, dc_per_dh[t])
            row = d_pre[t]
            torch.mul(ifg_factors[t], dc, out=row[:3 * hidden].view(3, hidden))
            torch.mul(dh, o_factor[t], out=row[3 * hidden:])
            dc.mul_(f[t])
            dh = torch.mv(w_hh_t, row)
        d_bias = d_pre.sum(0)
        return d_pre @ w_ih, dh, dc, d_pre.t() @ x, d_pre.t() @ hs[:-1], d_bias, d_bias.clone()


class GRUWindow(torch.autograd.Function):
    """x (T, in), h0 (H,), nn.GRU's weights -> outputs (T, H), h_T. Gates r, z, n as nn.GRU has them:
    n = tanh(x W_in + b_in + r (h W_hn + b_hn)), h' = (1 - z) n + z h."""

    @staticmethod
    def forward(ctx, x, h0, w_ih, w_hh, b_ih, b_hh):
        steps, hidden = x.shape[0], h0.shape[0]
        gi = torch.addmm(b_ih, x, w_ih.t())  # (T, 3H)
        hs = x.new_empty(steps + 1, hidden)
        rz, n, gh_n = x.new_empty(steps, 2 * hidden), x.new_empty(steps, hidden), x.new_empty(steps, hidden)
        gh = x.new_empty(3 * hidden)
        hs[0] = h0
        for t in range(steps):
            torch.addmv(b_hh, w_hh, hs[t], out=gh)
            torch.sigmoid(gi[t, :2 * hidden] + gh[:2 * hidden], out=rz[t])
            gh_n[t] = gh[2 * hidden:]
            torch.tanh(torch.addcmul(gi[t, 2 * hidden:], rz[t, :hidden], gh_n[t]), out=n[t])
            torch.addcmul(n[t], rz[t, hidden:], hs[t] - n[t], out=hs[t + 1])
        ctx.save_for_backward(x, w_ih, w_hh, hs, rz, n, gh_n)
        return hs[1:], hs[steps].clone()

    @staticmethod
    def backward(ctx, d_out, d_h_last):
        x, w_ih, w_hh, hs, rz, n, gh_n = ctx.saved_tensors
        steps, hidden = x.shape[0], hs.shape[1]
        r, z = rz.split(hidden, dim=1)
        z_factor = (hs[:-1] - n) * z * (1 - z)
        n_factor = (1 - z) * (1 - n * n)
        r_factor = gh_n * r * (1 - r)
        d_gi = x.new_empty(steps, 3 * hidden)  # gradients of the gates' input parts
        d_gh = x.new_empty(3 * hidden)  # ... and of one step's recurrent parts
        dh = d_h_last.clone()
        w_hh_t = w_hh.t()
        for t in range(steps - 1, -1, -1):
            dh += d_out[t]
            d_r, d_z, d_n = d_gi[t].split(hidden)
            torch.mul(dh, z_factor[t], out=d_z)
            torch.mul(dh, n_factor[t], out=d_n)
            torch.mul(d_n, r_factor[t], out=d_r)
            d_gh[:2 * hidden] = d_gi[t, :2 * hidden]
            torch.mul(d_n, r[t], out=d_gh[2 * hidden:])
            dh = torch.addmv(dh * z[t], w_hh_t, d_gh)
        d_gh_all = d_gi.clone()
        d_gh_all[:, 2 * hidden:] *= r
        return (d_gi @ w_ih, dh, d_gi.t() @ x, d_gh_all.t() @ hs[:-1], d_gi.sum(0), d_gh_all.sum(0))


class RNNWindow(torch.autograd.Function):
    """x (T, in), h0 (H,), nn.RNN's weights (tanh) -> outputs (T, H), h_T."""

    @staticmethod
    def forward(ctx, x, h0, w_ih, w_hh, b_ih, b_hh):
        steps, hidden = x.shape[0], h0.shape[0]
        pre = torch.addmm(b_ih + b_hh, x, w_ih.t())
        hs = x.new_empty(steps + 1, hidden)
        hs[0] = h0
        for t in range(steps):
            torch.tanh(torch.addmv(pre[t], w_hh, hs[t]), out=hs[t + 1])
        ctx.save_for_backward(x, w_ih, w_hh, hs)
        return hs[1:], hs[steps].clone()

    @staticmethod
    def backward(ctx, d_out, d_h_last):
        x, w_ih, w_hh, hs = ctx.saved_tensors
        tanh_factor = 1 - hs[1:] * hs[1:]
        d_pre = torch.empty_like(tanh_factor)
        dh = d_h_last.clone()
        w_hh_t = w_hh.t()
        for t in range(x.shape[0] - 1, -1, -1):
            dh += d_out[t]
            torch.mul(dh, tanh_factor[t], out=d_pre[t])
            dh = torch.mv(w_hh_t, d_pre[t])
        d_bias = d_pre.sum(0)
        return d_pre @ w_ih, dh, d_pre.t() @ x, d_pre.t() @ hs[:-1], d_bias, d_bias.clone()


def window_forward(net: RNNLM, ids: torch.Tensor, state: State) -> tuple[torch.Tensor, State]:
    """net's forward for one stream: ids (T,) -> logits (T, vocab) and the state after them, with
    the hand-written recurrent layers (net in eval mode: no dropout between layers)."""
    x = net.embedding(ids)
    last = [[] for _ in state]
    for layer in range(net.config.num_layers):
        weights = [getattr(net.rnn, f"{kind}_l{layer}") for kind in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]
        if net.config.cell == "lstm":
            x, h, c = LSTMWindow.apply(x, state[0][layer, 0], state[1][layer, 0], *weights)
            last[1].append(c)
        else:
            x, h = (GRUWindow if net.config.cell == "gru" else RNNWindow).apply(x, state[0][layer, 0], *weights)
        last[0].append(h)
    return net.head(x), tuple(torch.stack(parts).unsqueeze(1) for parts in last)


def module_window_forward(net: RNNLM, ids: torch.Tensor, state: State) -> tuple[torch.Tensor, State]:
    """The same through nn.LSTM / nn.GRU / nn.RNN under bfloat16 autocast (the hand-written layers are
    float32 only; bfloat16 was slower here anyway: docs/ADAPT.md)."""
    with torch.autocast("cpu", dtype=torch.bfloat16):
        logits, state = net(ids.view(1, -1), state)
    return logits[0].float(), state

