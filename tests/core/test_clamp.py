"""Clamping a unit: parsed from L:U=VALUE, held at every step, seen by sampling and traces."""

import numpy as np
import pytest
from conftest import tiny_model

from rnnlm.clamp import Clamp, clamps_text, parse_clamps
from rnnlm.errors import SettingsError
from rnnlm.interpret import trace_text
from rnnlm.sampling import SamplingSettings, generate, sample_text


def test_specs_parse_to_clamps_and_back():
    clamps = parse_clamps("1:42=0.9, 2:7:c=-3; 1:0=0")
    assert clamps == (Clamp(0, 42, 0.9), Clamp(1, 7, -3.0, "c"), Clamp(0, 0, 0.0))
    assert parse_clamps(clamps_text(clamps)) == clamps and parse_clamps(" ") == ()


@pytest.mark.parametrize("bad, message", [("1:42", "LAYER:UNIT=VALUE"), ("0:1=1", "counted from 1"),
                                          ("1:1=1e9", "between"), ("1:1=1, 1:1=0", "twice"),
                                          ("1:1:x=1", "LAYER:UNIT=VALUE"), (",".join(f"1:{u}=0" for u in range(9)), "at most"),
                                          # int() refuses 4,300+ digits with a ValueError that escaped
                                          pytest.param("1:" + "9" * 5000 + "=0", "LAYER:UNIT=VALUE", id="5000-digit unit"),
                                          pytest.param("9" * 5000 + ":1=0", "LAYER:UNIT=VALUE", id="5000-digit layer")])
def test_bad_specs_say_how_to_write_one(bad, message):
    with pytest.raises(SettingsError, match=message) as refused:
        parse_clamps(bad)
    assert len(str(refused.value)) < 200  # the spec is quoted cut short: a share link can carry any length


@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn"])
def test_a_clamped_unit_holds_its_value_at_every_step(char_tokenizer, cell):
    lm = tiny_model(char_tokenizer, cell=cell)
    clamps = (Clamp(1, 3, 0.75),)
    trace = trace_text(lm, "ROMEO:\nBut soft", clamps=clamps)
    assert np.all(trace.values(1, "h")[:, 3] == np.float32(0.75))
    assert not np.all(trace_text(lm, "ROMEO:\nBut soft").values(1, "h")[:, 3] == np.float32(0.75))


def test_clamping_an_lstm_cell_state_recomputes_its_output(char_tokenizer):
    lm = tiny_model(char_tokenizer, cell="lstm")
    trace = trace_text(lm, "To be, or not", clamps=(Clamp(0, 5, 2.0, "c"),))
    c, h, output = (trace.values(0, q)[:, 5] for q in ("c", "h", "output"))
    assert np.all(c == 2.0) and np.allclose(h, output * np.tanh(2.0), atol=1e-6)


def test_sampling_with_a_clamp_is_deterministic_and_changes_the_text(char_tokenizer):
    lm = tiny_model(char_tokenizer, cell="gru", hidden=24)
    plain = SamplingSettings(seed=3, max_new_tokens=80)
    clamped = SamplingSettings(seed=3, max_new_tokens=80, clamps=(Clamp(1, 0, 1.0), Clamp(1, 1, -1.0)))
    assert sample_text(lm, "ab", clamped) == sample_text(lm, "ab", clamped) != sample_text(lm, "ab", plain)


@pytest.mark.parametrize("clamp, message", [(Clamp(5, 0, 1.0), "layers 1-2"), (Clamp(0, 99, 1.0), "units 0-23"),
                                            (Clamp(0, 0, 1.0, "c"), "only an LSTM")])
def test_a_clamp_the_model_cannot_take_is_refused(char_tokenizer, clamp, message):
    lm = tiny_model(char_tokenizer, cell="gru")
    with pytest.raises(SettingsError, match=message):
        list(generate(lm, "a", SamplingSettings(max_new_tokens=2, clamps=(clamp,))))
