"""What a training job of the fine-tune service is asked to do (JobSpec) and the TrainConfig that does it.

A job either fine-tunes a LanguageModel (never changed: the trainer trains a copy) or
trains from scratch at char or word level with the "small" or "medium" preset, within
a time budget (default 2 minutes) or a number of steps. Batch and window shrink to fit
a small upload; evaluations are spaced to give about EVALS_PER_RUN samples per run.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..errors import CorpusError, RnnlmError
from ..language_model import LanguageModel
from ..model import ModelConfig
from ..sampling import MAX_NEW_TOKENS, MAX_SEED, validate_prompt
from ..training.config import TrainConfig

DEFAULT_MINUTES = 2.0
MIN_CHARS = 2000  # below this a held-out slice and a few training windows do not fit
PRESETS = {  # architecture (+ word vocabulary) of from-scratch runs
    "small": dict(embed_dim=64, hidden_size=256, num_layers=1, dropout=0.0, vocab_size=2000),
    "medium": dict(embed_dim=128, hidden_size=512, num_layers=2, dropout=0.1, vocab_size=4000),
}
# Fine-tuning starts from trained weights: a lower peak learning rate keeps what they know.
FINETUNE = dict(lr=1e-3, min_lr=1e-4, warmup_steps=20)
SCRATCH = dict(lr=3e-3, min_lr=1e-4, warmup_steps=50)
BATCH, WINDOWS = 16, {"char": 64, "word": 32}  # ~1k tokens a step: short steps, so Cancel acts fast
MIN_WINDOW = 8
WORD_CHARS_PER_TOKEN = 6  # a low guess of tokens in a text not yet tokenized: batches fit for sure
EVALS_PER_RUN = 8  # each scores the held-out slice (rnnlm.service.job_run keeps it short) and samples
FLOPS_PER_THREAD = 40e9  # rough training rate of one CPU core (bench_train.py), only to space evaluations
STEP_OVERHEAD_SECONDS = 0.01
UNLIMITED_STEPS = 1_000_000


@dataclass(frozen=True)
class JobSpec:
    text: str  # the cleaned upload (UploadReport.text); a held-out slice is split off
    base: LanguageModel | None = None  # fine-tune this model; None: train from scratch
    level: str = "char"  # scratch only: char | word
    preset: str = "small"  # scratch only: small | medium
    cell: str = "lstm"  # scratch only
    minutes: float = DEFAULT_MINUTES  # time budget; 0: none (then give steps)
    steps: int = 0  # step budget; 0: none (then give minutes)
    prompt: str = ""  # for the before/after samples
    seed: int = 0
    sample_tokens: int = 200  # per evaluation and for the before/after samples
    name: str = ""  # shown in the model picker; made up when empty
    overrides: dict = field(default_factory=dict)  # any TrainConfig fields (tests use tiny ones)

    @property
    def kind(self) -> str:
        return "fine-tune" if self.base is not None else "scratch"

    @property
    def name_stem(self) -> str:
        """What an automatic name starts with (numbered_name adds the number)."""
        return f"{self.base.name}-tuned" if self.base is not None else f"{self.level}-{self.preset}"

    def problems(self, max_minutes: float) -> list[str]:
        found = []
        if len(self.text) < MIN_CHARS:
            found.append(f"the text has {len(self.text):,} characters; upload at least {MIN_CHARS:,}")
        if not 0 <= self.minutes <= max_minutes:
            found.append(f"the time budget must be between 0 and {max_minutes:g} minutes, got {self.minutes!r}")
        if not isinstance(self.steps, int) or self.steps < 0:
            found.append(f"steps must be a whole number, 0 for no limit, got {self.steps!r}")
        elif not self.minutes and not self.steps:
            found.append("give a time budget or a number of steps")
        if self.base is None and (self.level not in ("char", "word") or self.preset not in PRESETS):
            found.append(f"from scratch needs level char or word and preset {' or '.join(PRESETS)}, "
                         f"got {self.level!r} and {self.preset!r}")
        if not 1 <= self.sample_tokens <= MAX_NEW_TOKENS or not 0 <= self.seed <= MAX_SEED:
            found.append(f"sample_tokens must be 1..{MAX_NEW_TOKENS} and seed 0..{MAX_SEED}")
        return found


def numbered_name(stem: str, taken: set[str]) -> str:
    """stem-1, or the next number not taken. Numbers count within what the caller passes (one
    session's names): a session's models live in its own folder and its own model picker."""
    number = 1
    while f"{stem}-{number}" in taken:
        number += 1
    return f"{stem}-{number}"


def _model_fields(spec: JobSpec, train_chars: int) -> dict:
    """TrainConfig's architecture fields: the base's own (recorded, not rebuilt) or the preset's;
    a fine-tune keeps its base's regularisation too."""
    if spec.base is not None:
        adopted = TrainConfig().adopting_architecture(spec.base.config, spec.base.level)
        return {**{name: getattr(adopted, name) for name in TrainConfig.ARCHITECTURE},
                "dropout": spec.base.config.dropout, "weight_drop": spec.base.config.weight_drop}
    preset = dict(PRESETS[spec.preset])
    # A small text supports a small vocabulary; the page has no size to adjust, so a text
    # with even fewer distinct pieces gets as many as it has (vocab_fits_text).
    preset["vocab_size"] = min(preset["vocab_size"], max(300, train_chars // 100))
    return dict(level=spec.level, cell=spec.cell, vocab_fits_text=True, **preset)


def _fit_batches(tokens: int, batch: int, window: int) -> tuple[int, int]:
    """Fewer streams, then shorter windows, until every stream holds a window and its target."""
    while tokens // batch < window + 1 and batch > 1:
        batch //= 2
    while tokens // batch < window + 1 and window > MIN_WINDOW:
        window //= 2
    if tokens // batch < window + 1:
        raise CorpusError(f"the text is too short to train on; upload at least {MIN_CHARS:,} characters")
    return batch, window


def _eval_every(spec: JobSpec, fields: dict, tokens_per_step: int, threads: int) -> int:
    """About EVALS_PER_RUN evaluations: exact for a step budget, estimated for a time budget."""
    if spec.steps and not spec.minutes:
        return max(1, spec.steps // EVALS_PER_RUN)
    vocab = spec.base.config.vocab_size if spec.base is not None else fields.get("vocab_size", 100)
    config = ModelConfig(**{k: fields[k] for k in ("cell", "embed_dim", "hidden_size", "num_layers")},
                         vocab_size=max(vocab, 2))
    seconds = STEP_OVERHEAD_SECONDS + 6 * config.parameter_count() * tokens_per_step / (FLOPS_PER_THREAD * threads)
    steps = spec.minutes * 60 / seconds
    return int(min(1000, max(10, steps / EVALS_PER_RUN)))


def train_config(spec: JobSpec, train_text: str, threads: int) -> TrainConfig:
    """The TrainConfig for spec's run on train_text with `threads` torch threads."""
    fields = _model_fields(spec, len(train_text))
    level = fields["level"]
    tokens = len(train_text) if level == "char" else len(train_text) // WORD_CHARS_PER_TOKEN
    batch, window = _fit_batches(tokens, BATCH, WINDOWS[level])
    settings = dict(
        corpus="upload", **fields, **(FINETUNE if spec.base is not None else SCRATCH),
        batch_size=batch, window=window, max_minutes=float(spec.minutes), max_steps=spec.steps or UNLIMITED_STEPS,
        eval_every=_eval_every(spec, fields, batch * window, threads), eval_chars=0,
        checkpoint_every=UNLIMITED_STEPS,  # fit() checkpoints when it stops; a page job never resumes
        sample_tokens=spec.sample_tokens, seed=1337 + spec.seed, threads=threads,
    )
    return TrainConfig.from_dict({**settings, **spec.overrides})


def check_spec(spec: JobSpec, max_minutes: float, threads: int) -> TrainConfig:
    """Refuse a job before it queues: its problems, or a TrainConfig the trainer will accept."""
    problems = spec.problems(max_minutes)
    if problems:
        raise RnnlmError("cannot start training: " + "; ".join(problems))
    validate_prompt(spec.prompt)
    return train_config(spec, spec.text, threads)
