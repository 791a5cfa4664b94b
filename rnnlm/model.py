"""The network: embedding -> N stacked LSTM / GRU / tanh-RNN layers -> linear output.

forward() is the fused path (nn.LSTM / nn.GRU / nn.RNN, oneDNN on CPU) used for training
and batch scoring. The per-token traced path that also returns gates lives in stepper.py
and is built from these same weights.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields

import torch
import torch.nn.functional as F
from torch import nn
from torch.func import functional_call

from .cpu_features import native_bfloat16
from .errors import CheckpointError

CELLS = ("lstm", "gru", "rnn")
# Bounds that keep a hostile or mistyped config.json from allocating gigabytes.
LIMITS = {"vocab_size": (2, 200_000), "embed_dim": (1, 4096), "hidden_size": (1, 4096), "num_layers": (1, 8)}
MAX_PARAMETERS = 200_000_000


@dataclass(frozen=True)
class ModelConfig:
    vocab_size: int
    cell: str = "lstm"
    embed_dim: int = 128
    hidden_size: int = 512
    num_layers: int = 2
    dropout: float = 0.0
    tie_weights: bool = False
    # DropConnect on the hidden-to-hidden weights while training (AWD-LSTM, Merity et al. 2018):
    # regularises the recurrence itself, which dropout on inputs and outputs leaves alone.
    weight_drop: float = 0.0

    def __post_init__(self):
        problems = self.problems()
        if problems:
            raise CheckpointError("invalid model config: " + "; ".join(problems))

    def problems(self) -> list[str]:
        found = []
        if self.cell not in CELLS:
            found.append(f"cell must be one of {', '.join(CELLS)}, got {self.cell!r}")
        for name, (low, high) in LIMITS.items():
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
                found.append(f"{name} must be an integer in [{low}, {high}], got {value!r}")
        for name in ("dropout", "weight_drop"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or isinstance(value, bool) or not 0.0 <= value < 1.0:
                found.append(f"{name} must be in [0, 1), got {value!r}")
        if not isinstance(self.tie_weights, bool):
            found.append(f"tie_weights must be true or false, got {self.tie_weights!r}")
        elif self.tie_weights and self.embed_dim != self.hidden_size:
            found.append("tie_weights needs embed_dim == hidden_size")
        if not found and self.parameter_count() > MAX_PARAMETERS:
            found.append(f"{self.parameter_count():,} parameters is over the limit of {MAX_PARAMETERS:,}")
        return found

    @property
    def gate_multiplier(self) -> int:
        return {"lstm": 4, "gru": 3, "rnn": 1}[self.cell]

    def parameter_shapes(self) -> dict[str, tuple[int, ...]]:
        """Each weight's name and shape as RNNLM's state_dict holds it (a tied head is the embedding).
        Computed, not read off a model built on the meta device: that costs a 1 s import of
        torch._dynamo on a process's first model load."""
        g, h, e, v = self.gate_multiplier, self.hidden_size, self.embed_dim, self.vocab_size
        shapes = {"embedding.weight": (v, e)}
        for layer in range(self.num_layers):
            shapes.update({f"rnn.weight_ih_l{layer}": (g * h, e if layer == 0 else h),
                           f"rnn.weight_hh_l{layer}": (g * h, h),
                           f"rnn.bias_ih_l{layer}": (g * h,), f"rnn.bias_hh_l{layer}": (g * h,)})
        if not self.tie_weights:
            shapes["head.weight"] = (v, h)
        shapes["head.bias"] = (v,)
        return shapes

    def parameter_count(self) -> int:
        return sum(math.prod(shape) for shape in self.parameter_shapes().values())

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "ModelConfig":
        if not isinstance(data, dict):
            raise CheckpointError("model config must be a JSON object")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise CheckpointError(f"model config has unknown fields {unknown}; allowed: {sorted(known)}")
        if "vocab_size" not in data:
            raise CheckpointError("model config is missing vocab_size")
        return cls(**data)


State = tuple[torch.Tensor, ...]  # LSTM: (h, c); GRU / RNN: (h,); each (layers, batch, hidden)


class RNNLM(nn.Module):
    def __init__(self, config: ModelConfig):
        super().__init__()
        self.config = config
        recurrent = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn": nn.RNN}[config.cell]
        self.embedding = nn.Embedding(config.vocab_size, config.embed_dim)
        self.rnn = recurrent(config.embed_dim, config.hidden_size, config.num_layers, batch_first=True)
        self.drop = nn.Dropout()
        self.set_dropout(config.dropout, config.weight_drop)
        self.head = nn.Linear(config.hidden_size, config.vocab_size)
        if config.tie_weights:
            self.head.weight = self.embedding.weight
        self._init_weights()

    def _init_weights(self):
        nn.init.normal_(self.embedding.weight, std=0.1)
        if not self.config.tie_weights:
            nn.init.normal_(self.head.weight, std=self.config.hidden_size ** -0.5)
        nn.init.zeros_(self.head.bias)
        if self.config.cell == "lstm":
            # Forget-gate bias 1: start by remembering, the classic fix for early vanishing gradients.
            h = self.config.hidden_size
            for name, param in self.rnn.named_parameters():
                if name.startswith("bias_ih"):
                    with torch.no_grad():
                        param[h:2 * h].fill_(1.0)

    def set_dropout(self, p: float, weight_drop: float = 0.0) -> None:
        """Dropout on the embeddings, the outputs and (with 2+ layers) between layers, and on the
        recurrent weights. The trainer's late dropout changes both in place; the config keeps the
        planned rates."""
        self.drop.p = p
        self.weight_drop = weight_drop
        if self.config.num_layers > 1:  # one layer has nothing between layers to drop
            self.rnn.dropout = p

    def initial_state(self, batch: int = 1) -> State:
        shape = (self.config.num_layers, batch, self.config.hidden_size)
        count = 2 if self.config.cell == "lstm" else 1
        return tuple(torch.zeros(shape) for _ in range(count))

    def forward(self, ids: torch.Tensor, state: State | None = None) -> tuple[torch.Tensor, State]:
        """ids (batch, time) -> logits (batch, time, vocab), state after the last token."""
        out, state = self.recur(ids, state)
        return self.head(self.drop(out)), state

    def recur(self, ids: torch.Tensor, state: State | None = None) -> tuple[torch.Tensor, State]:
        """ids (batch, time) -> the last layer's outputs (batch, time, hidden), before the head
        (scoring applies the head only where a token is scored), and the state after the last token."""
        if state is None:
            state = self.initial_state(ids.shape[0])
        x = self.drop(self.embedding(ids))  # (batch, time, embed)
        hx = state if self.config.cell == "lstm" else state[0]
        with torch.autocast("cpu", enabled=self._autocast_reaches_the_recurrence()):
            if self.training and self.weight_drop > 0:
                out, new = functional_call(self.rnn, self._hidden_weights_dropped(), (x, hx))
            else:
                out, new = self.rnn(x, hx)  # (batch, time, hidden)
        return out, (new if isinstance(new, tuple) else (new,))

    def _autocast_reaches_the_recurrence(self) -> bool:
        """Under bfloat16 autocast, nn.LSTM runs oneDNN's bfloat16 kernel, which exists only on
        CPUs with native bfloat16 (elsewhere it fails: "could not create a primitive descriptor");
        there the recurrence runs in float32 and the other products stay in bfloat16."""
        on = torch.is_autocast_enabled("cpu")
        return on and (self.config.cell != "lstm" or native_bfloat16())

    def _hidden_weights_dropped(self) -> dict[str, torch.Tensor]:
        """Each layer's hidden-to-hidden weights with a fresh DropConnect mask, the same mask at
        every time step of the window (as AWD-LSTM): the gradient still reaches the real weights,
        and the fused nn.LSTM / nn.GRU kernel runs unchanged on the masked copies."""
        return {name: F.dropout(weight, self.weight_drop) for name, weight in self.rnn.named_parameters()
                if name.startswith("weight_hh")}


def detach_state(state: State) -> State:
    """Cut the graph between truncated-BPTT windows while keeping the values, in float32 even
    when the window ran under bfloat16 autocast: checkpoints and resumed runs hold one dtype."""
    return tuple(s.detach().float() for s in state)
