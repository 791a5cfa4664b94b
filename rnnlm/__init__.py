"""rnnlm: char- and word-level recurrent language models you can sample and look inside.

    from rnnlm import load, generate, SamplingSettings, score_text
    lm = load("shakespeare-char-lstm")
    for step in generate(lm, "ROMEO:", SamplingSettings(seed=1)): print(step.text, end="")
"""

from importlib import import_module

from .errors import CheckpointError, CorpusError, RnnlmError, SettingsError

# Public names and the module that defines each. They load on first use (PEP 562), so a
# caller that needs only settings, errors or the manifest does not pay for importing torch
# (~2 s): the playground draws its first page before any model is needed.
_LAZY = {
    "load_model": "checkpoint", "save_model": "checkpoint", "LanguageModel": "language_model",
    "RNNLM": "model", "ModelConfig": "model", "SamplingSettings": "sampling", "Step": "sampling",
    "generate": "sampling", "sample_text": "sampling", "ScoreResult": "scoring", "score_text": "scoring",
    "QUANTITIES": "stepper", "Stepper": "stepper", "CharTokenizer": "tokenizers", "WordTokenizer": "tokenizers",
    "load_tokenizer": "tokenizers", "load": "zoo", "read_manifest": "zoo", "resolve": "zoo",
}


def __getattr__(name: str):
    if name not in _LAZY:
        raise AttributeError(f"module 'rnnlm' has no attribute {name!r}")
    value = getattr(import_module(f".{_LAZY[name]}", __name__), name)
    globals()[name] = value  # once loaded, a plain attribute
    return value


def __dir__():
    return sorted(__all__)


__all__ = [
    "CharTokenizer", "CheckpointError", "CorpusError", "LanguageModel", "ModelConfig", "QUANTITIES", "RNNLM",
    "RnnlmError", "SamplingSettings", "ScoreResult", "SettingsError", "Step", "Stepper", "WordTokenizer",
    "generate", "load", "load_model", "load_tokenizer", "read_manifest", "resolve", "sample_text",
    "save_model", "score_text",
]
