"""Training settings: one dataclass, read from a TOML file plus key=value overrides."""

from __future__ import annotations

import math
import tomllib
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path

from ..errors import CheckpointError, RnnlmError
from ..model import ModelConfig
from ..sampling import MAX_NEW_TOKENS, MAX_SEED
from ..scoring import PRECISIONS


@dataclass
class TrainConfig:
    # what to train
    corpus: str = "tinyshakespeare"  # a prepared corpus name, or a path given with --from
    level: str = "char"  # char | word
    vocab_size: int = 8000  # word level only: SentencePiece pieces
    vocab_fits_text: bool = False  # word level: fewer pieces if the text supports fewer (else it is refused)
    cell: str = "lstm"
    embed_dim: int = 128
    hidden_size: int = 512
    num_layers: int = 2
    dropout: float = 0.2
    # Dropout off until this many passes over the training text: on a first pass every window
    # is fresh, so there is nothing to overfit yet and dropout only slows learning
    # ("late dropout", Liu et al. 2023, "Dropout Reduces Underfitting"). 0: dropout from the start.
    dropout_from_epoch: float = 0.0
    weight_drop: float = 0.0  # DropConnect on the recurrent weights (AWD-LSTM); follows dropout_from_epoch too
    tie_weights: bool = False
    # batches: streams x window tokens per step
    batch_size: int = 32
    window: int = 128
    # optimisation
    lr: float = 3e-3
    min_lr: float = 1e-4
    warmup_steps: int = 100
    weight_decay: float = 0.01
    grad_clip: float = 1.0  # max global gradient norm; 0 disables clipping
    # Also keep a moving average of the weights with this decay (0.999: over ~1000 steps);
    # each evaluation scores both and the better is exported. 0 disables.
    ema_decay: float = 0.0
    # when to stop
    max_steps: int = 5000
    max_minutes: float = 0.0  # 0: no time limit; otherwise the LR schedule also ends on time
    patience: int = 0  # stop after this many evaluations without improvement; 0 disables
    # bookkeeping
    eval_every: int = 250
    eval_chars: int = 0  # evaluate on the first N held-out characters (the chosen model is scored on all); 0: all
    checkpoint_every: int = 100
    sample_tokens: int = 200  # sample this many tokens at each evaluation; 0 disables
    seed: int = 1337
    threads: int = 0  # 0: every available core
    # Matrix products of the training steps: float32, or bfloat16 with float32 weights, optimizer
    # and loss (torch.autocast). "auto": bfloat16 where the CPU multiplies it natively (AVX512-BF16,
    # AMX), where it trains ~1.6-1.9x faster; emulated bfloat16 would be slower than float32.
    # Evaluations and recorded figures are float32 either way.
    precision: str = "float32"
    storage_dtype: str = "float32"  # weights of the exported model: float32 | float16

    def __post_init__(self):
        problems = _type_problems(self) or _range_problems(self)
        if problems:
            raise RnnlmError("invalid training config: " + "; ".join(problems))

    def model_config(self, vocab_size: int) -> ModelConfig:
        return ModelConfig(vocab_size=vocab_size, cell=self.cell, embed_dim=self.embed_dim,
                           hidden_size=self.hidden_size, num_layers=self.num_layers,
                           dropout=self.dropout, tie_weights=self.tie_weights, weight_drop=self.weight_drop)

    # the settings a fine-tune takes from its base model (not a field: no annotation)
    ARCHITECTURE = ("level", "cell", "embed_dim", "hidden_size", "num_layers", "tie_weights", "vocab_size")

    def adopting_architecture(self, config: ModelConfig, level: str) -> "TrainConfig":
        """A fine-tune trains its base's network: the run records that architecture, not the
        config file's (which --init-from does not use), so its card and resume tell the truth."""
        return replace(self, level=level, cell=config.cell, embed_dim=config.embed_dim,
                       hidden_size=config.hidden_size, num_layers=config.num_layers,
                       tie_weights=config.tie_weights,
                       vocab_size=config.vocab_size if level == "word" else self.vocab_size)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "TrainConfig":
        known = {f.name: f.type for f in fields(cls)}
        unknown = sorted(set(data) - set(known))
        if unknown:
            raise RnnlmError(f"unknown training settings {unknown}; known: {sorted(known)}")
        return cls(**data)


_KINDS = {"str": (str, "text"), "int": (int, "a whole number"), "float": ((int, float), "a number"),
          "bool": (bool, "true or false")}


def _type_problems(cfg: TrainConfig) -> list[str]:
    """TOML can hold any type; catch e.g. lr = "fast" before it is compared with a number."""
    found = []
    for f in fields(cfg):
        value = getattr(cfg, f.name)
        kind, words = _KINDS[f.type]
        if not isinstance(value, kind) or (isinstance(value, bool) and f.type != "bool"):
            found.append(f"{f.name} must be {words}, got {value!r}")
        elif f.type == "float" and not math.isfinite(value):
            found.append(f"{f.name} must be a finite number, got {value!r}")
    return found


def _range_problems(cfg: TrainConfig) -> list[str]:
    found = []
    if cfg.level not in ("char", "word"):
        found.append(f"level must be 'char' or 'word', got {cfg.level!r}")
    for name in ("vocab_size", "batch_size", "window", "max_steps", "eval_every", "checkpoint_every"):
        if getattr(cfg, name) < 1:
            found.append(f"{name} must be at least 1, got {getattr(cfg, name)!r}")
    for name in ("warmup_steps", "patience", "eval_chars", "sample_tokens", "threads",
                 "grad_clip", "max_minutes", "weight_decay", "dropout_from_epoch"):
        if getattr(cfg, name) < 0:
            found.append(f"{name} must not be negative, got {getattr(cfg, name)!r}")
    if not 0 < cfg.lr <= 1 or not 0 <= cfg.min_lr <= cfg.lr:
        found.append(f"lr must be in (0, 1] and min_lr in [0, lr], got lr={cfg.lr!r}, min_lr={cfg.min_lr!r}")
    if not 0 <= cfg.seed <= MAX_SEED:  # torch.manual_seed overflows past 64 bits
        found.append(f"seed must be a whole number from 0 to {MAX_SEED}, got {cfg.seed!r}")
    if not 0 <= cfg.ema_decay < 1:
        found.append(f"ema_decay must be in [0, 1), got {cfg.ema_decay!r}")
    if cfg.sample_tokens > MAX_NEW_TOKENS:
        found.append(f"sample_tokens must be at most {MAX_NEW_TOKENS}, got {cfg.sample_tokens!r}")
    if cfg.precision not in PRECISIONS:
        found.append(f"precision must be one of {', '.join(PRECISIONS)}, got {cfg.precision!r}")
    if cfg.storage_dtype not in ("float32", "float16"):
        found.append(f"storage_dtype must be float32 or float16, got {cfg.storage_dtype!r}")
    try:  # the architecture's own checks (cell name, sizes, dropout, tied weights)
        cfg.model_config(max(cfg.vocab_size, 2))
    except CheckpointError as exc:
        found.append(str(exc).removeprefix("invalid model config: "))
    return found


def _parse_value(key: str, text: str):
    """Turn an override string into the declared type of the setting (not the type of its
    current value: a file's `max_minutes = 42` must still accept `max_minutes=7.5`)."""
    kind = {f.name: f.type for f in fields(TrainConfig)}[key]
    if kind == "bool":
        if text.lower() not in ("true", "false"):
            raise RnnlmError(f"{key} must be true or false, got {text!r}")
        return text.lower() == "true"
    if kind in ("int", "float"):
        try:
            return int(text) if kind == "int" else float(text)
        except ValueError:
            raise RnnlmError(f"{key} must be {_KINDS[kind][1]}, got {text!r}") from None
    return text


def load_train_config(path: Path | None, overrides: list[str] = (), base: dict | None = None) -> TrainConfig:
    """Settings from a TOML file (or `base`, e.g. a resumed run's saved settings), then name=value overrides."""
    data = dict(base or {})
    if path is not None:
        try:
            data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise RnnlmError(f"no such config file: {path}") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise RnnlmError(f"cannot read config file {path}: {exc}") from None
        except tomllib.TOMLDecodeError as exc:
            raise RnnlmError(f"{path} is not valid TOML: {exc}") from None
    TrainConfig.from_dict(data)  # report the file's own mistakes before the overrides'
    known = {f.name for f in fields(TrainConfig)}
    for item in overrides:
        key, sep, value = item.partition("=")
        key = key.strip().lstrip("-").replace("-", "_")
        if not sep or key not in known:
            raise RnnlmError(f"override {item!r} must look like name=value with a known name; "
                             f"known: {', '.join(sorted(known))}")
        data[key] = _parse_value(key, value.strip())
    return TrainConfig.from_dict(data)
