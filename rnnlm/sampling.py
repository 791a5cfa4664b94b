"""Sampling: a few small logits transforms and one generator that explains every token.

generate() yields one Step per token (prompt tokens first, then sampled ones): the text,
the probability it had under the distribution actually sampled from and under the model
itself (temperature 1), the model's top alternatives, entropy and, when traced, every
layer's state and gates after reading it. Randomness comes only from a NumPy PCG64
generator seeded with settings.seed, so the same model, prompt, settings and seed give
the same text in every process.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Iterator

import numpy as np

from .branching import check_forced
from .clamp import MAX_CLAMPS, Clamp
from .errors import SettingsError
from .settings_checks import CheckedSettings, is_number, is_whole, shown

if TYPE_CHECKING:  # only for annotations: sampling settings must not cost a torch import
    from .language_model import LanguageModel

MAX_TEMPERATURE = 5.0
MAX_TOP_K = 1_000_000
MAX_NEW_TOKENS = 10_000
MAX_SEED = 2**32 - 1
MAX_PROMPT_CHARS = 20_000
MAX_STOP_STRINGS, MAX_STOP_CHARS = 8, 200


@dataclass(frozen=True)
class SamplingSettings(CheckedSettings):
    temperature: float = 0.8  # 0 means greedy (always the most likely token)
    top_k: int = 0  # 0 means no top-k filter
    top_p: float = 1.0  # 1 means no nucleus filter
    max_new_tokens: int = 300
    seed: int = 0
    stop: tuple[str, ...] = field(default_factory=tuple)
    clamps: tuple = field(default_factory=tuple)  # rnnlm.clamp.Clamp: units held at a value at every step
    forced: tuple = field(default_factory=tuple)  # (new-token position from 0, token id): rnnlm.branching

    def problems(self) -> list[str]:
        found = []
        if not is_number(self.temperature) or not 0.0 <= self.temperature <= MAX_TEMPERATURE:
            found.append(f"temperature must be between 0 and {MAX_TEMPERATURE:g} (0 means greedy), got {shown(self.temperature)}")
        if not is_whole(self.top_k) or not 0 <= self.top_k <= MAX_TOP_K:
            found.append(f"top_k must be a whole number from 0 (off) to {MAX_TOP_K}, got {shown(self.top_k)}")
        if not is_number(self.top_p) or not 0.0 < self.top_p <= 1.0:
            found.append(f"top_p must be greater than 0 and at most 1 (1 means off), got {shown(self.top_p)}")
        if not is_whole(self.max_new_tokens) or not 1 <= self.max_new_tokens <= MAX_NEW_TOKENS:
            found.append(f"max_new_tokens must be a whole number from 1 to {MAX_NEW_TOKENS}, got {shown(self.max_new_tokens)}")
        if not is_whole(self.seed) or not 0 <= self.seed <= MAX_SEED:
            found.append(f"seed must be a whole number from 0 to {MAX_SEED}, got {shown(self.seed)}")
        if not isinstance(self.stop, (tuple, list)) or len(self.stop) > MAX_STOP_STRINGS or any(not isinstance(s, str) or not 0 < len(s) <= MAX_STOP_CHARS for s in self.stop):
            found.append(f"stop must be at most {MAX_STOP_STRINGS} non-empty strings of at most {MAX_STOP_CHARS} characters")
        if (not isinstance(self.clamps, (tuple, list)) or not all(isinstance(c, Clamp) for c in self.clamps)
                or len(self.clamps) > MAX_CLAMPS):
            found.append(f"clamps must be at most {MAX_CLAMPS} rnnlm.clamp.Clamp values")
        if not isinstance(self.forced, (tuple, list)) or not all(
                isinstance(f, (tuple, list)) and len(f) == 2 and all(is_whole(v) and v >= 0 for v in f)
                for f in self.forced):
            found.append("forced must be (position, token id) pairs of whole numbers (see rnnlm.branching)")
        return found


# --- logits transforms, applied in this order: temperature, top-k, top-p -------------

def apply_temperature(logits: np.ndarray, temperature: float) -> np.ndarray:
    if temperature <= 0:
        raise SettingsError("temperature scaling needs temperature > 0; use greedy decoding for 0")
    # Shifted first: softmax ignores the shift, and a tiny temperature then sends the other
    # logits to -inf (near-greedy) instead of every logit to +-inf (NaN probabilities).
    with np.errstate(over="ignore"):
        return (logits - logits.max()) / temperature


def apply_top_k(logits: np.ndarray, top_k: int) -> np.ndarray:
    if top_k < 0:
        raise SettingsError(f"top_k must be 0 (off) or positive, got {top_k}")
    if top_k == 0 or top_k >= len(logits):
        return logits
    kth_largest = np.partition(logits, -top_k)[-top_k]
    return np.where(logits < kth_largest, -np.inf, logits)


def apply_top_p(probs: np.ndarray, top_p: float) -> np.ndarray:
    """Keep the smallest set of most likely tokens whose mass reaches top_p."""
    if not 0 < top_p <= 1:
        raise SettingsError(f"top_p must be in (0, 1], got {top_p}")
    if top_p >= 1.0:
        return probs
    order = np.argsort(-probs, kind="stable")
    cumulative = np.cumsum(probs[order])
    keep_count = int(np.searchsorted(cumulative, top_p * cumulative[-1])) + 1
    kept = np.zeros_like(probs)
    kept[order[:keep_count]] = probs[order[:keep_count]]
    return kept / kept.sum()


def softmax(logits: np.ndarray) -> np.ndarray:
    shifted = np.exp(logits - logits.max())
    return shifted / shifted.sum()


def sampling_distribution(logits: np.ndarray, settings: SamplingSettings) -> np.ndarray:
    """The distribution a token is drawn from (float64), after every transform."""
    if settings.temperature == 0:
        greedy = np.zeros_like(logits)
        greedy[int(np.argmax(logits))] = 1.0
        return greedy
    scaled = apply_top_k(apply_temperature(logits, settings.temperature), settings.top_k)
    return apply_top_p(softmax(scaled), settings.top_p)


def draw(probs: np.ndarray, rng: np.random.Generator) -> int:
    """Inverse-CDF draw: one uniform number per token, identical on every platform."""
    cumulative = np.cumsum(probs)
    index = int(np.searchsorted(cumulative, rng.random() * cumulative[-1], side="right"))
    return min(index, len(probs) - 1)


# --- the per-token record -------------------------------------------------------------

@dataclass
class Step:
    index: int  # position in prompt + generated tokens
    token_id: int
    text: str
    from_prompt: bool
    prob: float  # under the distribution sampled from (for prompt tokens: the model's)
    model_prob: float  # under the model at temperature 1, before any filter
    entropy: float  # of the model's distribution, in nats
    top: list[tuple[str, int, float]]  # model's most likely tokens here: (text, id, prob)
    unknown: bool = False
    state: np.ndarray | None = None  # (layers, quantities, hidden) after reading this token

    @property
    def surprisal_bits(self) -> float:
        return -math.log2(max(self.model_prob, 1e-300))

    def to_json(self) -> dict:
        return {
            "token": self.text, "id": self.token_id, "prob": self.prob, "model_prob": self.model_prob,
            "entropy": self.entropy, "from_prompt": self.from_prompt, "unknown": self.unknown,
            "top": [[text, prob] for text, _, prob in self.top],
        }


def _explain(lm: LanguageModel, logits: np.ndarray, top_n: int) -> tuple[np.ndarray, float, list]:
    """The model's own distribution (temperature 1), its entropy in nats, its top_n tokens."""
    shifted = logits - logits.max()
    weights = np.exp(shifted)
    total = weights.sum()
    model_probs = weights / total
    entropy = float(np.log(total) - model_probs @ shifted)  # -sum p log p, without log(0)
    if len(model_probs) > 4 * top_n:
        candidates = np.argpartition(-model_probs, top_n)[:top_n]
        top_ids = candidates[np.argsort(-model_probs[candidates], kind="stable")]
    else:
        top_ids = np.argsort(-model_probs, kind="stable")[:top_n]
    text = lm.tokenizer.token_text
    return model_probs, entropy, [(text(int(i)), int(i), float(model_probs[i])) for i in top_ids]


def _draw_distribution(logits: np.ndarray, model_probs: np.ndarray, settings: SamplingSettings) -> np.ndarray:
    """sampling_distribution, reusing the model's probabilities when nothing changes them."""
    if settings.temperature == 1.0 and settings.top_k == 0 and settings.top_p >= 1.0:
        return model_probs
    return sampling_distribution(logits, settings)


def validate_prompt(prompt: str) -> str:
    if not isinstance(prompt, str):
        raise SettingsError("prompt must be text")
    try:
        prompt.encode("utf-8")
    except UnicodeEncodeError as exc:  # lone surrogates: undecodable bytes passed on a command line
        raise SettingsError(f"prompt is not valid Unicode text (position {exc.start}); "
                            "pass UTF-8 text") from None
    if len(prompt) > MAX_PROMPT_CHARS:
        raise SettingsError(f"prompt is {len(prompt):,} characters; the limit is {MAX_PROMPT_CHARS:,}")
    return prompt


def generate(lm: LanguageModel, prompt: str, settings: SamplingSettings, trace: bool = False,
             top_n: int = 5) -> Iterator[Step]:
    """Read the prompt, then sample; one Step per prompt token and per new token."""
    settings.validate()
    validate_prompt(prompt)
    tokenizer, stepper = lm.tokenizer, lm.stepper
    clamps = settings.clamps
    for clamp in clamps:
        clamp.check(lm.cell, lm.config.num_layers, lm.config.hidden_size)
    check_forced(settings.forced, lm.config.vocab_size, settings.max_new_tokens)
    forced = {int(position): int(token_id) for position, token_id in settings.forced}
    rng = np.random.default_rng(settings.seed)
    # Every text is read as if it followed a newline, like the start of a line in training.
    state, logits = stepper.step(tokenizer.context_id(), stepper.initial_state(), clamps)
    index = 0

    def record(token_id, from_prompt, model_probs, sampled_prob, entropy, top, new_state):
        return Step(index=index, token_id=token_id, text=tokenizer.token_text(token_id), from_prompt=from_prompt,
                    prob=sampled_prob, model_prob=float(model_probs[token_id]), entropy=entropy, top=top,
                    unknown=tokenizer.is_unknown(token_id), state=new_state if trace else None)

    for token_id in tokenizer.encode(prompt):
        model_probs, entropy, top = _explain(lm, logits.astype(np.float64), top_n)
        state, logits = stepper.step(token_id, state, clamps)
        yield record(token_id, True, model_probs, float(model_probs[token_id]), entropy, top, state)
        index += 1

    generated = ""
    for position in range(settings.max_new_tokens):
        logits = logits.astype(np.float64)
        model_probs, entropy, top = _explain(lm, logits, top_n)
        probs = _draw_distribution(logits, model_probs, settings)
        if position in forced:  # a branch: the user's choice, no number drawn
            token_id = forced[position]
        else:
            token_id = int(np.argmax(probs)) if settings.temperature == 0 else draw(probs, rng)
        state, logits = stepper.step(token_id, state, clamps)
        step = record(token_id, False, model_probs, float(probs[token_id]), entropy, top, state)
        yield step
        index += 1
        generated += step.text
        if any(stop in generated[-(len(stop) + len(step.text)):] for stop in settings.stop):
            return


def sample_text(lm: LanguageModel, prompt: str, settings: SamplingSettings) -> str:
    """Only the newly generated text."""
    return "".join(step.text for step in generate(lm, prompt, settings) if not step.from_prompt)
