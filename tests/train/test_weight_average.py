"""WeightAverage: the bias-corrected moving average, swapping it in and out, checkpoint round trip."""

import pytest
import torch

from rnnlm.training.weight_average import WeightAverage


def net_with(value: float) -> torch.nn.Linear:
    net = torch.nn.Linear(3, 2)
    with torch.no_grad():
        for p in net.parameters():
            p.fill_(value)
    return net


def test_average_is_the_bias_corrected_moving_average_of_the_weights():
    net, decay = net_with(0.0), 0.5
    average = WeightAverage(net, decay)
    values = [4.0, 8.0, -2.0]
    for value in values:
        with torch.no_grad():
            net.weight.fill_(value)
        average.update(net)
    # sum_k (1 - d) d^(n-k) w_k / (1 - d^n): weights 1/7, 2/7, 4/7 for three updates at d = 0.5
    expected = (1 * 4.0 + 2 * 8.0 + 4 * -2.0) / 7
    assert torch.allclose(average.tensors["weight"], torch.full((2, 3), expected))


def test_first_update_copies_the_weights():
    net = net_with(3.0)
    average = WeightAverage(net, 0.999)
    average.update(net)
    assert all(torch.equal(average.tensors[n], p) for n, p in net.named_parameters())


def test_swapped_in_puts_the_average_in_and_the_current_weights_back_even_after_an_error():
    net = net_with(1.0)
    average = WeightAverage(net, 0.9)
    average.update(net_with(5.0))
    with pytest.raises(RuntimeError):
        with average.swapped_in(net):
            assert torch.all(net.weight == 5.0) and torch.all(net.bias == 5.0)
            raise RuntimeError("scoring failed")
    assert torch.all(net.weight == 1.0) and torch.all(net.bias == 1.0)


def test_checkpoint_round_trip_restores_the_average_and_its_update_count():
    net = net_with(2.0)
    saved = WeightAverage(net, 0.9)
    saved.update(net)
    saved.update(net_with(4.0))
    restored = WeightAverage(net, 0.9)
    assert restored.load_state(saved.state_tensors())
    assert restored.updates == 2 and all(torch.equal(restored.tensors[n], saved.tensors[n]) for n in saved.tensors)
    assert not WeightAverage(net, 0.9).load_state({"rng.torch": torch.zeros(3)})  # a checkpoint without one
