"""The batched recurrent layers of dynamic evaluation (rnnlm.batch_window_layers): exact gradients,
and the same outputs, states and weight gradients as nn.LSTM / nn.GRU / nn.RNN."""

import pytest
import torch

from rnnlm.batch_window_layers import GRUBatchWindow, LSTMBatchWindow, RNNBatchWindow, batch_window_forward
from rnnlm.window_layers import window_forward


@pytest.mark.parametrize("layer, gates, cell_state", [(LSTMBatchWindow, 4, True), (GRUBatchWindow, 3, False),
                                                      (RNNBatchWindow, 1, False)])
def test_hand_written_backward_matches_numerical_gradients(layer, gates, cell_state):
    torch.manual_seed(0)
    steps, streams, inputs, hidden = 4, 3, 3, 4
    shapes = [(steps, streams, inputs), (streams, hidden)] + [(streams, hidden)] * cell_state + [
        (gates * hidden, inputs), (gates * hidden, hidden), (gates * hidden,), (gates * hidden,)]
    args = [torch.randn(shape, dtype=torch.float64, requires_grad=True) for shape in shapes]
    assert torch.autograd.gradcheck(lambda *a: layer.apply(*a, False), args)


def outputs_and_gradients(net, logits, state):
    params = list(net.parameters())
    return logits, state, torch.autograd.grad(logits.logsumexp(-1).sum(), params, retain_graph=True)


@pytest.mark.parametrize("bfloat16, atol", [(False, 1e-5), (True, 0.03)])
def test_batched_layers_match_the_nn_modules(any_model, bfloat16, atol):
    net = any_model.net
    torch.manual_seed(1)
    ids = torch.randint(0, net.config.vocab_size, (5, 9))  # (B, T)
    state = tuple(torch.randn_like(s) for s in net.initial_state(5))
    expected = outputs_and_gradients(net, *net(ids, state))
    logits, new_state = batch_window_forward(net, ids.t().contiguous(), state, bfloat16)
    ours = outputs_and_gradients(net, logits.transpose(0, 1), new_state)
    if bfloat16:  # the products really ran with bfloat16 operands
        assert not torch.allclose(ours[0], expected[0], atol=1e-6, rtol=0)
    torch.testing.assert_close(ours[0], expected[0], atol=atol, rtol=atol)
    for a, b in zip(ours[1], expected[1]):
        torch.testing.assert_close(a, b, atol=atol, rtol=atol)
    for a, b in zip(ours[2], expected[2]):  # weight gradients, relative to each weight's largest
        torch.testing.assert_close(a / b.abs().max(), b / b.abs().max(), atol=atol, rtol=atol)


def test_each_stream_is_the_single_stream_kernel_on_its_own(any_model):
    net = any_model.net
    torch.manual_seed(2)
    ids = torch.randint(0, net.config.vocab_size, (11, 3))  # (T, B)
    state = tuple(torch.randn_like(s) for s in net.initial_state(3))
    logits, _ = batch_window_forward(net, ids, state)
    for b in range(3):
        alone, _ = window_forward(net, ids[:, b], tuple(s[:, b:b + 1] for s in state))
        torch.testing.assert_close(logits[:, b], alone, atol=1e-5, rtol=1e-4)
