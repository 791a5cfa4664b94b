"""The fused forward and the traced NumPy step path agree; configs are validated."""

import numpy as np
import pytest
import torch
from conftest import tiny_model

from rnnlm import QUANTITIES, RNNLM, CheckpointError, ModelConfig


@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn"])
@pytest.mark.parametrize("layers", [1, 2, 3])
@pytest.mark.parametrize("tie", [False, True])
def test_fused_and_step_paths_agree(cell, layers, tie, char_tokenizer, shakespeare_text):
    lm = tiny_model(char_tokenizer, cell=cell, layers=layers, tie=tie, seed=layers)
    with torch.no_grad():  # random weights are too tame: make the gates actually swing
        for p in lm.net.rnn.parameters():
            p.mul_(2.0)
    ids = char_tokenizer.encode(shakespeare_text[:80])
    with torch.no_grad():
        logits, state = lm.net(torch.tensor([ids]))
    states, last_logits = lm.stepper.read(ids)
    np.testing.assert_allclose(last_logits, logits[0, -1].numpy(), atol=1e-5)
    with torch.no_grad():  # every position, not just the last
        all_logits = [lm.stepper.head_weight @ s[-1, 0] + lm.stepper.head_bias for s in states]
    np.testing.assert_allclose(np.stack(all_logits), logits[0].numpy(), atol=1e-5)
    np.testing.assert_allclose(states[-1][:, 0], state[0][:, 0].numpy(), atol=1e-5)
    if cell == "lstm":
        # c is unbounded (here up to ~30): float32 keeps 1e-5 relative, not absolute, there
        np.testing.assert_allclose(states[-1][:, 1], state[1][:, 0].numpy(), atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn"])
def test_gates_are_in_range_and_consistent(cell, char_tokenizer, shakespeare_text):
    lm = tiny_model(char_tokenizer, cell=cell)
    states, _ = lm.stepper.read(char_tokenizer.encode(shakespeare_text[:200]))
    trace = np.stack(states)  # (time, layers, quantities, hidden)
    names = QUANTITIES[cell]
    assert trace.shape[2] == len(names)
    for index, name in enumerate(names):
        values = trace[:, :, index]
        if name in ("input", "forget", "output", "reset", "update"):
            assert values.min() >= 0 and values.max() <= 1
        elif name != "c":
            assert values.min() >= -1 and values.max() <= 1
    if cell == "lstm":  # h = output * tanh(c): the traced pieces fit together
        h, c, o = trace[:, :, 0], trace[:, :, 1], trace[:, :, names.index("output")]
        np.testing.assert_allclose(h, o * np.tanh(c), atol=1e-6)


def test_step_state_continues_a_fused_prefix(char_tokenizer, shakespeare_text):
    """The stepper can pick up from the fused path's state (torch_state maps back)."""
    lm = tiny_model(char_tokenizer, cell="lstm")
    ids = char_tokenizer.encode(shakespeare_text[:40])
    states, _ = lm.stepper.read(ids[:20])
    with torch.no_grad():
        full, _ = lm.net(torch.tensor([ids]))
        tail, _ = lm.net(torch.tensor([ids[20:]]), lm.stepper.torch_state(states[-1]))
    np.testing.assert_allclose(tail[0].numpy(), full[0, 20:].numpy(), atol=1e-5)


@pytest.mark.parametrize("bad, message", [
    (dict(cell="transformer"), "cell must be one of"),
    (dict(hidden_size=10**6), "hidden_size must be an integer"),
    (dict(num_layers=0), "num_layers"),
    (dict(dropout=1.5), "dropout"),
    (dict(weight_drop=1.0), "weight_drop must be in"),
    (dict(weight_drop=True), "weight_drop must be in"),
    (dict(tie_weights=True, embed_dim=8, hidden_size=16), "tie_weights needs"),
    (dict(vocab_size="65"), "vocab_size"),
])
def test_config_refuses_bad_values(bad, message):
    with pytest.raises(CheckpointError, match=message):
        ModelConfig(**{"vocab_size": 65, **bad})


@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn"])
def test_weight_drop_masks_the_recurrent_weights_while_training_and_never_when_scoring(cell):
    torch.manual_seed(0)
    config = ModelConfig(vocab_size=30, cell=cell, embed_dim=8, hidden_size=32, num_layers=2, weight_drop=0.5)
    net, plain = RNNLM(config), RNNLM(ModelConfig(**{**config.to_dict(), "weight_drop": 0.0}))
    plain.load_state_dict(net.state_dict())
    ids = torch.randint(0, 30, (3, 12))
    kept = {name: w.detach().clone() for name, w in net.named_parameters()}
    net.train(), plain.train()
    dropped, _ = net(ids)
    assert not torch.allclose(dropped, plain(ids)[0])  # dropout 0: only the weight mask differs
    dropped.sum().backward()
    assert all(net.rnn.get_parameter(f"weight_hh_l{k}").grad.abs().sum() > 0 for k in range(2))
    assert all(torch.equal(w, kept[name]) for name, w in net.named_parameters())  # masks copies only
    masked = net._hidden_weights_dropped()["weight_hh_l0"]
    assert 0.45 < (masked == 0).float().mean() < 0.55  # each entry dropped with probability 0.5
    survivors = masked != 0
    torch.testing.assert_close(masked[survivors], 2 * net.rnn.weight_hh_l0[survivors])  # rescaled by 1/(1-p)
    net.eval(), plain.eval()
    torch.testing.assert_close(net(ids)[0], plain(ids)[0], rtol=0, atol=0)


def test_without_native_bfloat16_an_lstm_recurrence_runs_in_float32_under_autocast(monkeypatch):
    """oneDNN's bfloat16 LSTM kernel fails on CPUs without AVX512-BF16 / AMX: there the recurrence
    steps in float32 and only the other products (the output layer) run in bfloat16."""
    monkeypatch.setattr("rnnlm.model.native_bfloat16", lambda: False)
    torch.manual_seed(0)
    net = RNNLM(ModelConfig(vocab_size=30, cell="lstm", embed_dim=8, hidden_size=32, num_layers=2)).eval()
    ids = torch.randint(0, 30, (2, 9))
    with torch.no_grad():
        exact_out, exact_state = net.recur(ids)
        exact_logits, _ = net(ids)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            out, state = net.recur(ids)
            logits, _ = net(ids)
    assert out.dtype == torch.float32 and torch.equal(out, exact_out)
    assert all(torch.equal(a, b) for a, b in zip(state, exact_state))
    assert logits.dtype == torch.bfloat16 and not torch.equal(logits.float(), exact_logits)


def test_config_from_dict_refuses_unknown_fields():
    with pytest.raises(CheckpointError, match="unknown fields"):
        ModelConfig.from_dict({"vocab_size": 65, "activation": "relu"})


def test_parameter_count_formula_matches_torch(char_tokenizer):
    for cell in ("lstm", "gru", "rnn"):
        for tie in (False, True):
            lm = tiny_model(char_tokenizer, cell=cell, tie=tie)
            assert lm.config.parameter_count() == lm.parameter_count()


@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn"])
@pytest.mark.parametrize("layers", [1, 3])
@pytest.mark.parametrize("tie", [False, True])
def test_parameter_shapes_are_the_state_dict_shapes(cell, layers, tie):
    config = ModelConfig(vocab_size=11, embed_dim=16, hidden_size=16 if tie else 24, num_layers=layers, cell=cell,
                         tie_weights=tie)
    held = {name: tuple(t.shape) for name, t in RNNLM(config).state_dict().items()}
    if tie:
        del held["head.weight"]  # the embedding, stored once
    assert config.parameter_shapes() == held
