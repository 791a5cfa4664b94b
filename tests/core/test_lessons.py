"""The Learn page's measurements: hand-set cells, gradient flow, effective memory, clipping."""

import math

import pytest
import torch
from conftest import tiny_model

from rnnlm import RNNLM, ModelConfig
from rnnlm.errors import SettingsError
from rnnlm.interpret import trace_text
from rnnlm.lessons.clipping import ClippingSettings, clipping_experiment
from rnnlm.lessons.gates import busiest_unit, unit_step
from rnnlm.lessons.gradient_flow import gradient_flow
from rnnlm.lessons.handset import GRU_INPUTS, LECTURE_INPUTS, Gate, HandSetGRU, HandSetLSTM, with_gate
from rnnlm.lessons.memory import effective_memory
from rnnlm.scoring import per_char_nats


def test_handset_lstm_reproduces_the_lecture():
    rows = HandSetLSTM().run(LECTURE_INPUTS)
    assert [r["memory"] for r in rows] == pytest.approx([3, 7, 7, 7, 0, 6, 6], abs=0.01)
    assert [r["output"] for r in rows] == pytest.approx([0, 0, 0, 7, 0, 0, 6], abs=0.01)


def test_handset_lstm_follows_edited_weights():
    # A forget gate that always forgets: the memory holds only the current write.
    cell = with_gate(HandSetLSTM(), "forget_gate", Gate((0, 0, 0), -20))
    assert [r["memory"] for r in cell.run(LECTURE_INPUTS)][:3] == pytest.approx([3, 4, 0], abs=0.01)


def test_handset_gru_adds_keeps_and_replaces():
    rows = HandSetGRU().run(GRU_INPUTS)
    assert [r["memory"] for r in rows] == pytest.approx([3, 7, 7, 5, 5, 7], abs=0.01)
    assert [r["output"] for r in rows] == [r["memory"] for r in rows]  # a GRU shows its memory


@pytest.mark.parametrize("bad", [[(1, 2)], [(1, math.nan, 0)], [(0, 0, 0)] * 101])
def test_handset_refuses_bad_inputs(bad):
    with pytest.raises(SettingsError):
        HandSetLSTM().run(bad)


def test_gate_refuses_an_unknown_activation():
    with pytest.raises(SettingsError, match="activation"):
        Gate((1, 0, 0), 0, "relu6")


def _net(cell, recurrent_scale, forget_bias=None, hidden=16):
    torch.manual_seed(0)
    net = RNNLM(ModelConfig(vocab_size=20, cell=cell, embed_dim=8, hidden_size=hidden, num_layers=1))
    with torch.no_grad():
        net.rnn.weight_hh_l0.normal_(0, recurrent_scale / hidden ** 0.5)
        if forget_bias is not None:  # PyTorch's LSTM gate order is i, f, g, o
            net.rnn.bias_ih_l0[hidden:2 * hidden].fill_(forget_bias)
            net.rnn.bias_hh_l0[hidden:2 * hidden].fill_(0)
    return net


IDS = [int(v) for v in torch.randint(0, 20, (400,), generator=torch.Generator().manual_seed(1))]


def test_plain_rnn_with_small_recurrent_weights_vanishes():
    flow = gradient_flow(_net("rnn", 0.3), IDS, max_lag=30, positions=16, warmup=10)
    relative = flow.relative()
    assert relative[10] < 1e-3 and flow.reach() is not None and flow.reach() <= 10


def test_lstm_with_forget_bias_ten_carries_the_gradient():
    flow = gradient_flow(_net("lstm", 0.3, forget_bias=10.0), IDS, max_lag=30, positions=16, warmup=10)
    relative = flow.relative()
    assert min(relative[1:]) > 0.1 and flow.reach() is None


def test_gradient_flow_leaves_the_shared_network_untouched():
    net = _net("gru", 1.0)
    before = {k: v.clone() for k, v in net.state_dict().items()}
    gradient_flow(net, IDS, max_lag=20, positions=8, warmup=5)
    assert all(p.grad is None for p in net.parameters())
    assert all(torch.equal(before[k], v) for k, v in net.state_dict().items())


def test_gradient_flow_refuses_a_text_too_short():
    with pytest.raises(SettingsError, match="tokens"):
        gradient_flow(_net("rnn", 1.0), IDS[:50], max_lag=60, warmup=10)


def test_memory_cut_to_the_whole_text_equals_full_context(char_tokenizer):
    net = tiny_model(char_tokenizer, cell="gru").net
    ids = char_tokenizer.encode("To be, or not to be, that is the question:")
    k = len(ids) - 1  # one window, starting at the text's first token: the same reading as the full pass
    curve = effective_memory(net, ids, contexts=[1, k], positions=1)
    assert curve.nats_per_token[-1] == pytest.approx(curve.full_nats_per_token, abs=1e-5)
    assert curve.nats_per_token[0] != pytest.approx(curve.full_nats_per_token, abs=1e-3)


def test_memory_of_a_model_without_recurrence_is_one_token():
    net = _net("rnn", 0.0)  # recurrent weights zero: only the last token matters
    curve = effective_memory(net, IDS, contexts=[1, 4, 32], positions=32)
    assert curve.rise() == pytest.approx([0, 0, 0], abs=1e-5)


TEXT = " ".join(["the quick brown fox jumps over the lazy dog", "to be or not to be that is the question",
                 "all the world is a stage and all the men and women merely players"] * 40)


def test_clipping_keeps_training_where_the_unclipped_run_bounces():
    plain, clipped = clipping_experiment(TEXT, ClippingSettings(steps=150))
    assert max(plain.grad_norms) > 10 * ClippingSettings().threshold  # there is something to clip
    assert clipped.final_loss < plain.final_loss - 0.3


def test_clipping_experiment_is_deterministic_and_stops_when_asked():
    settings = ClippingSettings(steps=20, hidden=16)
    first, second = clipping_experiment(TEXT, settings), clipping_experiment(TEXT, settings)
    assert first[0].losses == second[0].losses and first[1].grad_norms == second[1].grad_norms
    seen = []
    plain, clipped = clipping_experiment(TEXT, settings, progress=lambda f: seen.append(f) or len(seen) < 5)
    assert len(plain.losses) == 5 and clipped.losses == []


def test_unclipped_steps_throw_the_loss_far_above_chance():
    plain, clipped = clipping_experiment(TEXT, ClippingSettings(steps=60, lr=10.0, recurrent_scale=5.0, hidden=32))
    chance = math.log(len(set(TEXT)))
    assert plain.final_loss > 2 * chance and clipped.final_loss < 1.5 * chance


def test_a_gradient_that_overflows_ends_the_run_as_diverged():
    # 200 steps of a recurrent matrix with every singular value 4: the gradient overflows float32.
    plain, _ = clipping_experiment(TEXT, ClippingSettings(steps=60, lr=50.0, recurrent_scale=4.0, hidden=32, window=200))
    assert plain.diverged_at == 0 and len(plain.losses) == 1 and math.isnan(plain.final_loss)


@pytest.mark.parametrize("bad", [{"steps": 0}, {"hidden": 10_000}, {"lr": -1.0}, {"threshold": 0.0}])
def test_clipping_settings_are_checked(bad):
    with pytest.raises(SettingsError):
        ClippingSettings(**bad)


def test_clipping_needs_enough_text():
    with pytest.raises(SettingsError, match="at least"):
        clipping_experiment("short", ClippingSettings())


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_gate_equations_rebuild_the_stored_state(char_tokenizer, cell):
    lm = tiny_model(char_tokenizer, cell=cell)
    trace = trace_text(lm, "ROMEO:\nBut soft, what light")
    for position in range(1, len(trace.token_ids)):
        for unit in (0, busiest_unit(trace, 1)):
            values = unit_step(trace, 1, unit, position)
            stored = values["c"] if cell == "lstm" else values["h"]
            assert values["recomputed"] == pytest.approx(stored, abs=1e-5)
            if cell == "lstm":
                assert values["recomputed_h"] == pytest.approx(values["h"], abs=1e-5)


def test_gate_equations_need_the_state_before_the_token(char_tokenizer):
    trace = trace_text(tiny_model(char_tokenizer), "abc")
    with pytest.raises(SettingsError, match="from 1"):
        unit_step(trace, 0, 0, 0)


def test_per_char_nats_spreads_each_token_and_keeps_the_total():
    spread = per_char_nats(["ab", "c", "def"], [-2.0, -1.0, -3.0], 6)
    assert spread.tolist() == [1.0, 1.0, 1.0, 1.0, 1.0, 1.0]
    assert per_char_nats(["ab", "cd"], [-1.0, -4.0], 3).sum() == pytest.approx(3.0)  # cut at the text's end
