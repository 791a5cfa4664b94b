"""How much of an uploaded text a base model has never seen: characters (char models) or tokens.

    fit = vocabulary_fit(report.text, base_model)
    fit.unknown_share, fit.unseen_chars, fit.note
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # annotations only: checking an upload must not cost a torch import
    from ..language_model import LanguageModel

MAX_MEASURED_CHARS = 2_000_000  # word tokenizers are slow on 20 MB; a spread sample is enough
MEASURE_PIECES = 20


@dataclass(frozen=True)
class VocabularyFit:
    model: str
    level: str  # char | word
    unit: str  # what unknown_share counts: "characters" or "tokens"
    unknown_share: float  # share of those units the model has never seen
    unseen_chars: str  # distinct characters of the text the model cannot represent, sorted
    measured_chars: int  # all of the text, or an evenly spread sample of a long one
    note: str  # what fine-tuning will do about them


def _spread_sample(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    piece, stride = limit // MEASURE_PIECES, len(text) // MEASURE_PIECES
    return "".join(text[i * stride:i * stride + piece] for i in range(MEASURE_PIECES))


def vocabulary_fit(text: str, base: LanguageModel) -> VocabularyFit:
    """How much of text the base model has never seen: characters (char) or tokens (word)."""
    from ..training.warm_start import unknown_rate  # here, not at the top: finetune imports torch

    tokenizer = base.tokenizer
    counts = Counter(text)
    unseen = "".join(sorted(c for c in counts if any(tokenizer.is_unknown(i) for i in tokenizer.encode(c))))
    if base.level == "char":  # exact: counted per distinct character, never a 20M-element id list
        share = sum(counts[c] for c in unseen) / max(len(text), 1)
        note = (f"fine-tuning adds these {len(unseen)} characters to the model's vocabulary" if unseen
                else "the model knows every character")
        return VocabularyFit(base.name, "char", "characters", share, unseen, len(text), note)
    sample = _spread_sample(text, MAX_MEASURED_CHARS)
    note = "word models keep their tokenizer: unknown tokens stay unknown (train from scratch to learn them)"
    return VocabularyFit(base.name, "word", "tokens", unknown_rate(tokenizer, sample), unseen, len(sample), note)
