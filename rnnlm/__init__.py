"""rnnlm: char- and word-level recurrent language models you can sample and look inside.

    from rnnlm import load, generate, SamplingSettings, score_text
    lm = load("shakespeare-char-lstm")
    for step in generate(lm, "ROMEO:", SamplingSettings(seed=1)): print(step.text, end="")
"""

from .checkpoint import load_model, save_model
from .errors import CheckpointError, CorpusError, RnnlmError, SettingsError
from .language_model import LanguageModel
from .model import RNNLM, ModelConfig
from .sampling import SamplingSettings, Step, generate, sample_text
from .scoring import ScoreResult, score_text
from .stepper import QUANTITIES, Stepper
from .tokenizers import CharTokenizer, WordTokenizer, load_tokenizer
from .zoo import load, read_manifest, resolve

__all__ = [
    "CharTokenizer", "CheckpointError", "CorpusError", "LanguageModel", "ModelConfig", "QUANTITIES", "RNNLM",
    "RnnlmError", "SamplingSettings", "ScoreResult", "SettingsError", "Step", "Stepper", "WordTokenizer",
    "generate", "load", "load_model", "load_tokenizer", "read_manifest", "resolve", "sample_text",
    "save_model", "score_text",
]
