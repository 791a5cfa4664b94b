"""Dynamic evaluation: adapts a private copy, never peeks, equals static scoring at lr 0."""

import json

import numpy as np
import pytest
import torch
from conftest import score_command, tiny_model

from rnnlm import SettingsError, score_text
from rnnlm.adapt_settings import WINDOW_BY_LEVEL
from rnnlm.dynamic_eval import AdaptSettings, adapt_logprobs, adapt_text
from rnnlm.window_layers import GRUWindow, LSTMWindow, RNNWindow, window_forward

REPETITIVE = "the cat sat on the mat and the dog sat on the log. " * 30
FAST = AdaptSettings(rule="rms", lr=3e-3, window=20)  # large steps, so that tiny models visibly adapt


def snapshot(lm):
    return {name: t.clone() for name, t in lm.net.state_dict().items()}


def test_the_shared_model_is_never_touched(char_tokenizer):
    lm = tiny_model(char_tokenizer)
    before = snapshot(lm)
    adapted = adapt_text(lm, REPETITIVE, AdaptSettings(rule="sgd", lr=0.5, window=16, decay=0.1, clip=1.0))
    assert adapted.nats_per_char != score_text(lm, REPETITIVE, precision="float32").nats_per_char  # it did adapt
    after = lm.net.state_dict()
    assert all(torch.equal(before[name], after[name]) for name in before)
    assert not lm.net.training and all(p.grad is None for p in lm.net.parameters())


def test_a_tied_head_is_adapted_on_the_copy_only(word_tokenizer):
    lm = tiny_model(word_tokenizer, cell="gru", tie=True)
    before = snapshot(lm)
    adapt_text(lm, REPETITIVE, FAST)
    assert all(torch.equal(before[name], t) for name, t in lm.net.state_dict().items())


def test_same_input_same_figures_bit_for_bit(char_tokenizer):
    lm = tiny_model(char_tokenizer, cell="gru")
    settings = AdaptSettings(rule="rms", lr=1e-3, window=13, decay=0.01, clip=2.0)
    first, second = adapt_text(lm, REPETITIVE, settings), adapt_text(lm, REPETITIVE, settings)
    np.testing.assert_array_equal(first.logprobs, second.logprobs)


def test_adapting_to_a_repetitive_text_lowers_its_cost(any_model):
    static = score_text(any_model, REPETITIVE, precision="float32")
    for rule, lr in (("rms", 3e-3), ("sgd", 1.0)):
        adapted = adapt_text(any_model, REPETITIVE, AdaptSettings(rule=rule, lr=lr, window=20))
        assert adapted.nats_per_char < static.nats_per_char - 0.1, rule
        assert (adapted.chars, adapted.tokens, adapted.token_ids) == (static.chars, static.tokens, static.token_ids)


def test_lr_zero_is_static_scoring(any_model, shakespeare_text):
    text = shakespeare_text[:700]
    static = score_text(any_model, text, streams=1, precision="float32")
    adapted = adapt_text(any_model, text, AdaptSettings(lr=0.0, window=7))  # state carried across 7-token windows
    np.testing.assert_allclose(adapted.logprobs, static.logprobs, atol=1e-5)
    assert abs(adapted.nats_per_char - static.nats_per_char) < 1e-5


@pytest.mark.parametrize("layer, gates, cell_state", [(LSTMWindow, 4, True), (GRUWindow, 3, False),
                                                      (RNNWindow, 1, False)])
def test_hand_written_backward_matches_numerical_gradients(layer, gates, cell_state):
    torch.manual_seed(0)
    steps, inputs, hidden = 5, 3, 4
    shapes = [(steps, inputs), (hidden,)] + [(hidden,)] * cell_state + [
        (gates * hidden, inputs), (gates * hidden, hidden), (gates * hidden,), (gates * hidden,)]
    args = [torch.randn(shape, dtype=torch.float64, requires_grad=True) for shape in shapes]
    assert torch.autograd.gradcheck(layer.apply, args)


def test_hand_written_layers_match_the_nn_modules(any_model):
    net = any_model.net
    torch.manual_seed(1)
    ids = torch.randint(0, net.config.vocab_size, (23,))
    state = tuple(torch.randn_like(s) for s in net.initial_state(1))
    expected, expected_state = net(ids.view(1, -1), state)
    logits, new_state = window_forward(net, ids, state)
    torch.testing.assert_close(logits, expected[0], atol=1e-5, rtol=1e-4)
    for ours, theirs in zip(new_state, expected_state):
        torch.testing.assert_close(ours, theirs, atol=1e-5, rtol=1e-4)
    params = list(net.parameters())
    grads = torch.autograd.grad(logits.logsumexp(-1).sum(), params)
    expected_grads = torch.autograd.grad(expected[0].logsumexp(-1).sum(), params)
    for ours, theirs in zip(grads, expected_grads):
        torch.testing.assert_close(ours, theirs, atol=1e-5, rtol=1e-4)


def test_each_window_is_scored_before_the_model_learns_from_it(char_tokenizer):
    """Changing the text from position k on changes no score before k: no window peeks at itself."""
    lm = tiny_model(char_tokenizer)
    change = 137  # inside a window (windows of 20 start at 120 and 140)
    other = REPETITIVE[:change] + REPETITIVE[change:].upper()
    a, b = adapt_text(lm, REPETITIVE, FAST), adapt_text(lm, other, FAST)
    np.testing.assert_array_equal(a.logprobs[:change], b.logprobs[:change])
    assert not np.array_equal(a.logprobs[change:], b.logprobs[change:])
    # and the first window is scored with the trained weights themselves
    np.testing.assert_allclose(a.logprobs[:20], score_text(lm, REPETITIVE, streams=1, precision="float32")
                               .logprobs[:20], atol=1e-5)


def test_progress_counts_characters_up_to_the_total(word_tokenizer):
    lm = tiny_model(word_tokenizer)
    calls = []
    result = adapt_text(lm, REPETITIVE, AdaptSettings(window=5), on_window=lambda done, total: calls.append((done, total)))
    assert len(calls) == -(-result.tokens // 5)
    assert calls[-1] == (len(REPETITIVE), len(REPETITIVE))
    assert [done for done, _ in calls] == sorted(done for done, _ in calls)


@pytest.mark.parametrize("level", ["char", "word"])
def test_the_window_left_to_the_model_is_its_levels(level, char_tokenizer, word_tokenizer):
    """A word piece is several characters: a word model updates after fewer tokens than a char model."""
    lm = tiny_model(char_tokenizer if level == "char" else word_tokenizer)
    calls = []
    result = adapt_text(lm, REPETITIVE * 2, AdaptSettings(streams=1), on_window=lambda done, total: calls.append(done))
    assert len(calls) == -(-result.tokens // WINDOW_BY_LEVEL[level])
    assert WINDOW_BY_LEVEL["word"] < WINDOW_BY_LEVEL["char"]
    assert AdaptSettings(window=7).for_level(level).window == 7  # a window given is kept


def test_code_that_does_not_know_the_level_refuses_a_window_left_to_the_model(char_tokenizer):
    lm = tiny_model(char_tokenizer)
    with pytest.raises(ValueError, match="for_level"):
        adapt_logprobs(lm.net, lm.tokenizer.encode("hello"), lm.tokenizer.context_id(), AdaptSettings(streams=1))


def test_bfloat16_adapting_stays_close_to_float32(char_tokenizer):
    lm = tiny_model(char_tokenizer, hidden=32)
    exact = adapt_text(lm, REPETITIVE, FAST)
    fast = adapt_text(lm, REPETITIVE, AdaptSettings(**{**FAST.to_dict(), "precision": "bfloat16"}))
    assert not np.array_equal(fast.logprobs, exact.logprobs)  # the products really ran in bfloat16
    assert abs(fast.nats_per_char - exact.nats_per_char) < 0.02


def test_works_inside_a_callers_inference_mode(char_tokenizer):
    lm = tiny_model(char_tokenizer)
    expected = adapt_text(lm, REPETITIVE, FAST)
    with torch.inference_mode():
        inside = adapt_text(lm, REPETITIVE, FAST)
    np.testing.assert_array_equal(inside.logprobs, expected.logprobs)


def test_empty_text(char_tokenizer):
    result = adapt_text(tiny_model(char_tokenizer), "")
    assert result.tokens == 0 and result.nats_per_char == 0.0


@pytest.mark.parametrize("changes, message", [
    ({"rule": "adam"}, "rule must be one of rms, sgd"),
    ({"lr": -0.1}, "lr must be a number from 0 to 1"),
    ({"lr": float("nan")}, "lr must be"),
    ({"window": 0}, "window must be a whole number"),
    ({"window": 2.5}, "window must be a whole number"),
    ({"decay": 1.5}, "decay must be a number from 0"),
    ({"clip": -1}, "clip must be"),
    ({"precision": "float16"}, "precision must be one of auto, float32, bfloat16"),
])
def test_bad_settings_are_named(char_tokenizer, changes, message):
    with pytest.raises(SettingsError, match=message):
        adapt_text(tiny_model(char_tokenizer), "hello", AdaptSettings(**changes))


# --- the command line, in this process (a subprocess would cost seconds of imports) ----------

@pytest.fixture
def cli(monkeypatch, capsys, char_tokenizer, tmp_path):
    return score_command(monkeypatch, capsys, tiny_model(char_tokenizer), REPETITIVE, tmp_path)


def test_cli_json_gives_adapted_and_static_figures(cli):
    status, out, err = cli("--json", "--adapt", "--adapt-lr", "3e-3", "--adapt-window", "20")
    assert status == 0, err
    data = json.loads(out)
    assert {"nats_per_char", "bits_per_char", "chars", "tokens", "static_nats_per_char"} <= data.keys()
    assert data["nats_per_char"] < data["static_nats_per_char"] - 0.1
    assert data["chars"] == len(REPETITIVE) and data["adapt"]["window"] == 20
    assert "adapting [" in err and f"{len(REPETITIVE):,}/{len(REPETITIVE):,} chars" in err  # first and last lines
    status, out, _ = cli("--json")
    assert status == 0 and "static_nats_per_char" not in json.loads(out)
    status, out, _ = cli("--json", "--adapt")  # the window the model chose is reported, not left blank
    assert status == 0 and json.loads(out)["adapt"]["window"] == WINDOW_BY_LEVEL["char"]


def test_cli_plain_text_names_both_figures(cli):
    status, out, _ = cli("--adapt")
    assert status == 0 and "adapted" in out and "static" in out and "nats/char" in out


@pytest.mark.parametrize("args, message", [
    (["--adapt", "--adapt-lr", "-1"], "--adapt settings: lr must be a number from 0 to 1"),
    (["--adapt", "--adapt-window", "0"], "window must be a whole number"),
    (["--adapt", "--adapt-decay", "2"], "decay must be"),
    (["--adapt", "--adapt-lr", "fast"], "invalid float value"),
    (["--adapt", "--adapt-rule", "adam"], "invalid choice"),
    (["--adapt-lr", "0.001"], "--adapt-lr needs --adapt"),
])
def test_cli_bad_adapt_settings_give_one_clear_line(cli, args, message):
    status, out, err = cli(*args)
    assert status == 2 and out == ""
    assert message in err and "Traceback" not in err and err.count("\n") == 1
