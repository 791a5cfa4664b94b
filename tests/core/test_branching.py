"""Branching: forced tokens at chosen positions, the rest sampled as before."""

import pytest
from conftest import tiny_model

from rnnlm.branching import forced_text, parse_forced
from rnnlm.errors import SettingsError
from rnnlm.sampling import SamplingSettings, generate


def new_steps(lm, settings, prompt="ab"):
    return [step for step in generate(lm, prompt, settings) if not step.from_prompt]


def test_specs_parse_to_sorted_positions_from_zero_and_back():
    assert parse_forced("12:45, 3:7") == ((2, 7), (11, 45)) and parse_forced("") == ()
    assert parse_forced(forced_text(((2, 7), (11, 45)))) == ((2, 7), (11, 45))


@pytest.mark.parametrize("bad, message", [("0:5", "from 1"), ("3", "POSITION:TOKEN_ID"), ("3:x", "POSITION:TOKEN_ID"),
                                          ("3:1, 3:2", "twice"), (",".join(f"{i}:1" for i in range(1, 34)), "at most")])
def test_bad_specs_say_how_to_write_one(bad, message):
    with pytest.raises(SettingsError, match=message):
        parse_forced(bad)


def test_a_branch_keeps_the_text_before_it_and_takes_the_forced_token(char_tokenizer):
    lm = tiny_model(char_tokenizer, cell="gru")
    plain = new_steps(lm, SamplingSettings(seed=4, max_new_tokens=40))
    alternative = next(token_id for _, token_id, _ in plain[10].top if token_id != plain[10].token_id)
    branched = new_steps(lm, SamplingSettings(seed=4, max_new_tokens=40, forced=((10, alternative),)))
    assert [s.token_id for s in branched[:10]] == [s.token_id for s in plain[:10]]
    assert branched[10].token_id == alternative and len(branched) == 40
    again = new_steps(lm, SamplingSettings(seed=4, max_new_tokens=40, forced=((10, alternative),)))
    assert [s.token_id for s in again] == [s.token_id for s in branched]  # reproducible


@pytest.mark.parametrize("forced, message", [(((0, 10_000),), "token ids are 0-"), (((50, 1),), "beyond the 40")])
def test_a_forced_token_the_model_cannot_take_is_refused(char_tokenizer, forced, message):
    with pytest.raises(SettingsError, match=message):
        new_steps(tiny_model(char_tokenizer), SamplingSettings(max_new_tokens=40, forced=forced))
