"""Fine-tuning: a private copy of the base model, char vocabularies extended, word ones kept."""

import pytest
import torch
from conftest import tiny_model

from rnnlm.checkpoint import load_model
from rnnlm.training.config import TrainConfig
from rnnlm.training.fit import fit
from rnnlm.training.warm_start import extend_vocabulary, start_from, unknown_rate

NEW_CHARS = "éλж"


def tiny_config(**overrides) -> TrainConfig:
    settings = dict(batch_size=4, window=16, lr=1e-2, warmup_steps=1, max_steps=3, eval_every=1000,
                    checkpoint_every=1000, sample_tokens=0, threads=1)
    return TrainConfig(**{**settings, **overrides})


@pytest.fixture(scope="module")
def new_text(shakespeare_text):
    """Shakespeare with characters the base vocabulary has never seen, held out ones included."""
    text = shakespeare_text[:12000].replace("the", "thé").replace("and", "λnd").replace("you", "жou")
    return text[:10000], text[10000:]


def snapshot(net):
    return {name: tensor.detach().clone() for name, tensor in net.state_dict().items()}


@pytest.mark.parametrize("tie", [False, True])
def test_extension_keeps_every_old_row_exactly(char_tokenizer, tie):
    base = tiny_model(char_tokenizer, layers=1, hidden=16, tie=tie)
    old = base.config.vocab_size
    bigger = extend_vocabulary(base.net, old + 3)
    assert bigger.config.vocab_size == old + 3
    assert torch.equal(bigger.embedding.weight[:old], base.net.embedding.weight)
    assert torch.equal(bigger.head.weight[:old], base.net.head.weight)
    assert torch.equal(bigger.head.bias[:old], base.net.head.bias)
    assert torch.allclose(bigger.embedding.weight[old:], base.net.embedding.weight.mean(0).expand(3, -1))
    assert (bigger.head.bias[old:] == base.net.head.bias.min()).all()  # new characters start unlikely
    if tie:
        assert bigger.head.weight is bigger.embedding.weight
    ids = torch.tensor([char_tokenizer.encode("ROMEO: what light")])
    with torch.no_grad():
        assert torch.equal(bigger.eval()(ids)[0][..., :old], base.net(ids)[0])  # old logits unchanged


def test_new_characters_get_new_ids_instead_of_unknown(char_tokenizer, new_text):
    base = tiny_model(char_tokenizer, layers=1, hidden=16)
    net, tokenizer, facts = start_from(base, new_text[0])
    assert tokenizer.chars[:len(char_tokenizer.chars)] == char_tokenizer.chars
    assert sorted(facts["added_chars"]) == sorted(NEW_CHARS) and net.config.vocab_size == base.config.vocab_size + 3
    assert all(tokenizer.encode(c)[0] >= char_tokenizer.vocab_size for c in NEW_CHARS)
    assert facts["unknown_rate_before"] > 0 and facts["unknown_rate"] == 0
    assert tokenizer.decode(tokenizer.encode(new_text[0])) == new_text[0]


def test_fine_tuning_a_char_model_leaves_the_base_untouched(char_tokenizer, new_text, tmp_path):
    base = tiny_model(char_tokenizer, layers=1, hidden=16)
    before, vocab = snapshot(base.net), list(base.tokenizer.chars)
    result = fit(tiny_config(), *new_text, tmp_path, init_from=base)
    assert result.steps == 3
    after = snapshot(base.net)
    assert all(torch.equal(before[name], after[name]) for name in before)
    assert base.tokenizer.chars == vocab and not base.net.training
    tuned = load_model(result.model_dir)
    old = base.config.vocab_size
    assert tuned.tokenizer.chars[:old - 1] == vocab and set(NEW_CHARS) <= set(tuned.tokenizer.chars)
    assert not torch.equal(tuned.net.embedding.weight[:old], before["embedding.weight"])  # it did train
    assert tuned.metadata["facts"]["added_chars"] and tuned.net.config.hidden_size == 16


def test_word_models_keep_their_tokenizer_and_report_unknown_tokens(word_tokenizer, new_text, tmp_path):
    base = tiny_model(word_tokenizer, layers=1, hidden=16)
    net, tokenizer, facts = start_from(base, new_text[0])
    assert tokenizer is word_tokenizer and net.config.vocab_size == base.config.vocab_size
    ids = word_tokenizer.encode(new_text[0])
    expected = sum(1 for i in ids if word_tokenizer.is_unknown(i)) / len(ids)
    assert facts["unknown_rate"] == pytest.approx(expected) and 0 < expected < 0.2
    assert unknown_rate(word_tokenizer, "ROMEO and JULIET") == 0
    result = fit(tiny_config(window=8, hidden_size=40), *new_text, tmp_path, init_from=base)
    tuned = load_model(result.model_dir)
    assert tuned.tokenizer.model_proto == word_tokenizer.model_proto
    recorded = tuned.metadata["train_config"]  # the base's architecture, not the config's unused one
    assert (recorded["level"], recorded["hidden_size"], recorded["vocab_size"]) == ("word", 16, base.config.vocab_size)
    assert tuned.metadata["facts"]["unknown_rate"] == pytest.approx(expected)
