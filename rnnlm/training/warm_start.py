"""Starting a run from an existing model: a private copy, with the char vocabulary extended.

Characters new to a char model get fresh embedding and output rows (the mean of the old
rows, and an output bias at the rarest old token's level so they start unlikely) instead
of being mapped to the unknown token. Word models keep their tokenizer; the share of
unknown tokens in the new text is reported instead.
"""

from __future__ import annotations

import copy

import torch

from ..language_model import LanguageModel
from ..model import RNNLM
from ..tokenizers import CharTokenizer, Tokenizer


def unknown_rate(tokenizer: Tokenizer, text: str) -> float:
    ids = tokenizer.encode(text)
    return sum(1 for i in ids if tokenizer.is_unknown(i)) / max(len(ids), 1)


def _extend_rows(old: torch.Tensor, new_rows: int, fill: torch.Tensor) -> torch.Tensor:
    return torch.cat([old, fill.expand(new_rows, *old.shape[1:]).clone()], dim=0)


@torch.no_grad()
def extend_vocabulary(net: RNNLM, new_size: int) -> RNNLM:
    """A copy of net with vocab_size new_size; old rows keep their exact values."""
    added = new_size - net.config.vocab_size
    config = type(net.config)(**{**net.config.to_dict(), "vocab_size": new_size})
    bigger = RNNLM(config)
    state = net.state_dict()
    state["embedding.weight"] = _extend_rows(state["embedding.weight"], added, state["embedding.weight"].mean(0))
    if not config.tie_weights:
        state["head.weight"] = _extend_rows(state["head.weight"], added, state["head.weight"].mean(0))
    else:
        state["head.weight"] = state["embedding.weight"]
    state["head.bias"] = _extend_rows(state["head.bias"], added, state["head.bias"].min())
    bigger.load_state_dict(state)
    return bigger


def start_from(base: LanguageModel, train_text: str) -> tuple[RNNLM, Tokenizer, dict]:
    """A trainable copy of base for train_text, and facts about the vocabulary fit."""
    net = copy.deepcopy(base.net)  # never train the (possibly cached, shared) original
    tokenizer = base.tokenizer
    facts = {"base_model": base.name, "unknown_rate_before": unknown_rate(tokenizer, train_text)}
    if isinstance(tokenizer, CharTokenizer):
        extended = tokenizer.extended(train_text)
        facts["added_chars"] = extended.chars[len(tokenizer.chars):]
        if extended.vocab_size != tokenizer.vocab_size:
            net = extend_vocabulary(net, extended.vocab_size)
            tokenizer = extended
    facts["unknown_rate"] = unknown_rate(tokenizer, train_text)
    net.train()
    return net, tokenizer, facts
