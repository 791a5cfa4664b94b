"""Training settings: one dataclass, read from a TOML file plus key=value overrides."""

from __future__ import annotations

import tomllib
from dataclasses import asdict, dataclass, fields
from pathlib import Path

from .errors import RnnlmError
from .model import ModelConfig


@dataclass
class TrainConfig:
    # what to train
    corpus: str = "tinyshakespeare"  # a prepared corpus name, or a path given with --from
    level: str = "char"  # char | word
    vocab_size: int = 8000  # word level only: SentencePiece pieces
    cell: str = "lstm"
    embed_dim: int = 128
    hidden_size: int = 512
    num_layers: int = 2
    dropout: float = 0.2
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
    # when to stop
    max_steps: int = 5000
    max_minutes: float = 0.0  # 0: no time limit; otherwise the LR schedule also ends on time
    patience: int = 0  # stop after this many evaluations without improvement; 0 disables
    # bookkeeping
    eval_every: int = 250
    eval_chars: int = 0  # score only this many held-out characters at intermediate evals; 0: all
    checkpoint_every: int = 100
    sample_tokens: int = 200  # sample this many tokens at each evaluation; 0 disables
    seed: int = 1337
    threads: int = 0  # 0: every available core
    storage_dtype: str = "float32"  # weights of the exported model: float32 | float16

    def __post_init__(self):
        problems = []
        if self.level not in ("char", "word"):
            problems.append(f"level must be 'char' or 'word', got {self.level!r}")
        for name in ("batch_size", "window", "max_steps", "eval_every", "checkpoint_every"):
            if not isinstance(getattr(self, name), int) or getattr(self, name) < 1:
                problems.append(f"{name} must be a positive whole number, got {getattr(self, name)!r}")
        if not 0 < self.lr <= 1 or not 0 <= self.min_lr <= self.lr:
            problems.append("lr must be in (0, 1] and min_lr in [0, lr]")
        if self.grad_clip < 0 or self.max_minutes < 0:
            problems.append("grad_clip and max_minutes must not be negative")
        if self.storage_dtype not in ("float32", "float16"):
            problems.append("storage_dtype must be float32 or float16")
        if problems:
            raise RnnlmError("invalid training config: " + "; ".join(problems))

    def model_config(self, vocab_size: int) -> ModelConfig:
        return ModelConfig(vocab_size=vocab_size, cell=self.cell, embed_dim=self.embed_dim,
                           hidden_size=self.hidden_size, num_layers=self.num_layers,
                           dropout=self.dropout, tie_weights=self.tie_weights)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "TrainConfig":
        known = {f.name: f.type for f in fields(cls)}
        unknown = sorted(set(data) - set(known))
        if unknown:
            raise RnnlmError(f"unknown training settings {unknown}; known: {sorted(known)}")
        return cls(**data)


def _parse_value(text: str, current):
    """Turn an override string into the type of the setting it replaces."""
    if isinstance(current, bool):
        if text.lower() not in ("true", "false"):
            raise RnnlmError(f"expected true or false, got {text!r}")
        return text.lower() == "true"
    for kind in (int, float):
        if isinstance(current, kind):
            try:
                return kind(text)
            except ValueError:
                raise RnnlmError(f"expected a {kind.__name__}, got {text!r}") from None
    return text


def load_train_config(path: Path | None, overrides: list[str] = ()) -> TrainConfig:
    data = {}
    if path is not None:
        try:
            data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise RnnlmError(f"no such config file: {path}") from None
        except tomllib.TOMLDecodeError as exc:
            raise RnnlmError(f"{path} is not valid TOML: {exc}") from None
    defaults = TrainConfig.from_dict(data).to_dict()
    for item in overrides:
        key, sep, value = item.partition("=")
        key = key.strip().lstrip("-").replace("-", "_")
        if not sep or key not in defaults:
            raise RnnlmError(f"override {item!r} must look like name=value with a known name")
        data[key] = _parse_value(value.strip(), defaults[key])
    return TrainConfig.from_dict(data)
