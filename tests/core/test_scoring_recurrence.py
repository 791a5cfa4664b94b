"""The bfloat16 recurrence for GRU and plain-RNN cells: bit for bit the plain per-step loop it replaced."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from conftest import tiny_model

import rnnlm.scoring
from rnnlm import score_text
from rnnlm.bfloat16_recurrence import Bfloat16Recurrence, _packed_product
from rnnlm.cpu_features import native_bfloat16


def reference_recurrence(net):
    """The plain loop (rnnlm.scoring before the packed weights and reused buffers): the same
    rounding, written the obvious way, one fresh tensor per operation."""
    rnn = net.rnn
    gru, relu = net.config.cell == "gru", getattr(rnn, "nonlinearity", "tanh") == "relu"

    def forward(ids, state):
        hx = (state or net.initial_state(ids.shape[0]))[0]
        x = net.embedding(ids.t()).float()
        finals = []
        for layer, h in enumerate(hx.float()):
            w_ih, w_hh = getattr(rnn, f"weight_ih_l{layer}"), getattr(rnn, f"weight_hh_l{layer}")
            b_ih, b_hh = getattr(rnn, f"bias_ih_l{layer}").float(), getattr(rnn, f"bias_hh_l{layer}").float()
            projected = F.linear(x.to(torch.bfloat16), w_ih.to(torch.bfloat16)).float() + b_ih
            w_hh_t = w_hh.t().to(torch.bfloat16).contiguous()
            x = torch.empty(projected.shape[0], *h.shape)
            for t in range(projected.shape[0]):
                recurrent = torch.mm(h.to(torch.bfloat16), w_hh_t).float() + b_hh
                if gru:
                    hidden = h.shape[-1]
                    reset, update = torch.sigmoid(projected[t, :, :2 * hidden] + recurrent[:, :2 * hidden]).chunk(2, 1)
                    candidate = torch.tanh(torch.addcmul(projected[t, :, 2 * hidden:], reset, recurrent[:, 2 * hidden:]))
                    h = torch.lerp(candidate, h, update)
                else:
                    h = (torch.relu if relu else torch.tanh)(projected[t] + recurrent)
                x[t] = h
            finals.append(h)
        return x.transpose(0, 1), (torch.stack(finals),)
    return forward


@pytest.mark.parametrize("cell, relu, hidden", [("gru", False, 32), ("gru", False, 64), ("rnn", False, 48),
                                                ("rnn", True, 32)])
def test_the_recurrence_is_bit_for_bit_the_plain_loop(char_tokenizer, cell, relu, hidden):
    net = tiny_model(char_tokenizer, cell=cell, hidden=hidden).net.eval()
    if relu:
        net.rnn.nonlinearity = "relu"
    ids = torch.randint(0, char_tokenizer.vocab_size, (5, 40))
    state = (torch.randn(2, 5, hidden),)
    with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16):
        out, (final,) = Bfloat16Recurrence(net)(ids, state)
        expected_out, (expected_final,) = reference_recurrence(net)(ids, state)
    assert torch.equal(out, expected_out) and torch.equal(final, expected_final)
    assert out.dtype == torch.float32 and out.shape == (5, 40, hidden)


@pytest.mark.parametrize("cell", ["gru", "rnn"])
def test_scores_with_the_recurrence_equal_the_plain_loops(char_tokenizer, shakespeare_text, monkeypatch, cell):
    """Whole texts in streams and windows, state carried across windows: the same figures, exactly."""
    lm = tiny_model(char_tokenizer, cell=cell, hidden=32)
    text = shakespeare_text[:4_000]
    fast = score_text(lm, text, precision="bfloat16", warmup=64)
    monkeypatch.setattr(rnnlm.scoring, "recurrence", lambda net, bfloat16: reference_recurrence(net))
    plain = score_text(lm, text, precision="bfloat16", warmup=64)
    np.testing.assert_array_equal(fast.logprobs, plain.logprobs)


def test_the_packed_product_equals_torch_mm_and_falls_back_without_onednn(monkeypatch):
    torch.manual_seed(1)
    weight = (torch.randn(96, 40) * 0.2).to(torch.bfloat16)  # (out, in), as nn.GRU stores it
    h = torch.randn(7, 40).to(torch.bfloat16)
    expected = torch.mm(h, weight.t())
    packed = _packed_product(weight)
    # oneDNN's packed bfloat16 weight where the CPU multiplies bfloat16 natively, torch.mm elsewhere
    assert (packed.__name__ != "plain") == native_bfloat16() and torch.equal(packed(h), expected)

    def missing(*args):
        raise RuntimeError("no oneDNN here")

    monkeypatch.setattr(torch.ops.mkldnn, "_reorder_linear_weight", missing)
    fallback = _packed_product(weight)
    assert fallback.__name__ == "plain" and torch.equal(fallback(h), expected)
